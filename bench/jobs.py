#!/usr/bin/env python3
"""Job queue throughput and pickup delay of the generated queues, on Postgres, SQLite
(`--jobs database`) and Redis (`--jobs redis`) in one run.

Generates three projects (`--db postgres`, the default SQLite, and `--jobs redis` on
SQLite), writes a small example
program into each (`examples/jobs_bench.rs`, below) that uses the generated crate's own
queue and worker, builds it in release mode (one CARGO_TARGET_DIR) and runs it:

  - throughput: enqueue N no-op jobs one by one through `state.jobs.enqueue` (enqueue/s),
    then one worker process (`Worker`, JOBS_CONCURRENCY slots) claims, runs and acks them
    all (jobs/s from the first claim to the last ack), and the end-to-end figure over both;
  - pickup delay: an idle worker is running; one job at a time is enqueued and the time
    from just before `enqueue` to the start of the job's `run` is recorded; p50/p90/p99.

Postgres gets a fresh database on the server of --postgres-url (dropped afterwards);
SQLite a fresh file under BENCH_WORK; Redis (--redis-url) a key prefix of its own (its keys
deleted afterwards). Not a test: it prints figures, and the machine's load average.

Usage: python3 bench/jobs.py [--jobs N] [--pickups N] [--concurrency N]
Environment: OMNISTACK_TEMPLATES, CARGO_TARGET_DIR, BENCH_WORK as in serve.py.
"""
import argparse
import json
import os
import subprocess
import sys
import time
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from serve import ROOT, generate_project, run  # noqa: E402

EXAMPLE = r'''//! Benchmark of the job queue (written by bench/jobs.py; not part of the project).

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{LazyLock, Mutex};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use tokio::sync::oneshot;

use CRATE::AppState;
use CRATE::config::Config;
use CRATE::db;
use CRATE::http::jobs::JobFilter;
use CRATE::jobs::{Job, JobContext, JobError, Registry, Worker};

static DONE: AtomicUsize = AtomicUsize::new(0);
static STARTED: LazyLock<Mutex<HashMap<u64, Instant>>> = LazyLock::new(Mutex::default);

#[derive(Serialize, Deserialize)]
struct Noop {
    seq: u64,
}

impl Job for Noop {
    const NAME: &'static str = "bench_noop";

    async fn run(self, _ctx: JobContext) -> Result<(), JobError> {
        STARTED.lock().unwrap().insert(self.seq, Instant::now());
        DONE.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }
}

fn registry() -> Registry {
    let mut registry = Registry::default();
    registry.handle::<Noop>();
    registry
}

async fn wait_for(count: usize) {
    while DONE.load(Ordering::SeqCst) < count {
        tokio::time::sleep(Duration::from_micros(200)).await;
    }
}

#[tokio::main]
async fn main() {
    let args: Vec<usize> = std::env::args().skip(1).map(|a| a.parse().unwrap()).collect();
    let (jobs, pickups) = (args[0], args[1]);
    let config = Config::from_env().expect("configuration");
    let pool = db::connect(&config.database).await.expect("connect");
    db::migrate(&pool).await.expect("migrate");
    let state = AppState::new(config, pool);

    // Throughput: enqueue everything, then drain with one worker process.
    let start = Instant::now();
    for seq in 0..jobs as u64 {
        state.jobs.enqueue(&Noop { seq }).await.expect("enqueue");
    }
    let enqueue_secs = start.elapsed().as_secs_f64();
    let (stop, stopped) = oneshot::channel::<()>();
    let worker = Worker::new(state.clone(), registry());
    let drain_start = Instant::now();
    let running = tokio::spawn(worker.run(async {
        stopped.await.ok();
    }));
    wait_for(jobs).await;
    let drain_secs = drain_start.elapsed().as_secs_f64();
    let all = JobFilter {
        state: None,
        queue: None,
        limit: 1,
        offset: 0,
    };
    let remaining = state.jobs.count_jobs(&all).await.unwrap();

    // Pickup delay: the worker is idle; one job at a time.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut delays = Vec::new();
    for i in 0..pickups {
        let seq = (jobs + i) as u64;
        let before = Instant::now();
        state.jobs.enqueue(&Noop { seq }).await.expect("enqueue");
        wait_for(jobs + i + 1).await;
        let started = STARTED.lock().unwrap()[&seq];
        delays.push(started.duration_since(before).as_secs_f64() * 1000.0);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    stop.send(()).unwrap();
    running.await.unwrap().expect("worker");
    delays.sort_by(f64::total_cmp);
    let pct = |p: f64| delays[((delays.len() as f64 - 1.0) * p).round() as usize];
    println!(
        "{}",
        serde_json::json!({
            "jobs": jobs,
            "enqueue_per_sec": jobs as f64 / enqueue_secs,
            "processed_per_sec": jobs as f64 / drain_secs,
            "end_to_end_per_sec": jobs as f64 / (enqueue_secs + drain_secs),
            "left_in_table": remaining,
            "pickup_ms_p50": pct(0.5),
            "pickup_ms_p90": pct(0.9),
            "pickup_ms_p99": pct(0.99),
        })
    );
}
'''


def log(message):
    print(message, file=sys.stderr, flush=True)


def psql(url, statement):
    run(["psql", url, "-q", "-c", statement], stdout=subprocess.DEVNULL)


def with_database(url, name):
    base, _, query = url.partition("?")
    scheme, _, rest = base.partition("://")
    host = rest.split("/", 1)[0]
    return f"{scheme}://{host}/{name}" + (f"?{query}" if query else "")


def drop_redis_keys(url, prefix):
    """Deletes the keys of one run (redis-cli, when installed)."""
    try:
        keys = subprocess.run(["redis-cli", "-u", url, "--scan", "--pattern", f"{prefix}:*"],
                              check=True, capture_output=True, text=True).stdout.split()
    except (OSError, subprocess.CalledProcessError) as error:
        log(f"redis: keys under {prefix}: left in place ({error})")
        return
    for start in range(0, len(keys), 500):
        subprocess.run(["redis-cli", "-u", url, "del", *keys[start:start + 500]],
                       check=True, stdout=subprocess.DEVNULL)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=20000, help="jobs of the throughput run")
    parser.add_argument("--pickups", type=int, default=200, help="jobs of the pickup-delay run")
    parser.add_argument("--concurrency", type=int, default=16, help="JOBS_CONCURRENCY")
    parser.add_argument("--postgres-url", default=os.environ.get(
        "DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres"))
    parser.add_argument("--redis-url", default=os.environ.get(
        "REDIS_URL", "redis://127.0.0.1:6379"))
    args = parser.parse_args()

    work = os.path.abspath(os.environ.get("BENCH_WORK", "/tmp/omnistack-bench"))
    os.makedirs(work, exist_ok=True)
    target = os.path.abspath(os.environ.get("CARGO_TARGET_DIR", os.path.join(work, "target")))
    run(["cargo", "build", "--quiet"], cwd=ROOT)
    cli = os.path.join(os.environ.get("OMNISTACK_CLI_TARGET", os.path.join(ROOT, "target")),
                       "debug", "omnistack")

    results = {}
    stores = {
        "postgres": ["--db", "postgres"],
        "sqlite": ["--db", "sqlite"],
        "redis": ["--db", "sqlite", "--jobs", "redis"],
    }
    loads = [os.getloadavg()[0]]
    for dialect, options in stores.items():
        name = f"jobsbench_{dialect}"
        project = generate_project(cli, work, name, options)
        os.makedirs(os.path.join(project, "examples"), exist_ok=True)
        with open(os.path.join(project, "examples", "jobs_bench.rs"), "w") as f:
            f.write(EXAMPLE.replace("CRATE", name))
        env = dict(os.environ, CARGO_TARGET_DIR=target)
        start = time.monotonic()
        run(["cargo", "build", "--release", "--quiet", "--example", "jobs_bench"],
            cwd=project, env=env)
        log(f"{dialect}: release build {time.monotonic() - start:.0f} s")
        database = None
        prefix = f"jobsbench-{uuid.uuid4().hex[:12]}"
        if dialect == "postgres":
            database = f"jobsbench_{uuid.uuid4().hex[:12]}"
            psql(args.postgres_url, f"create database {database}")
            url = with_database(args.postgres_url, database)
        else:
            path = os.path.join(work, f"jobsbench_{dialect}.db")
            for suffix in ("", "-wal", "-shm"):
                if os.path.exists(path + suffix):
                    os.remove(path + suffix)
            url = f"sqlite://{path}"
        app_env = dict(os.environ, APP_ENV="development", DATABASE_URL=url, RUST_LOG="warn",
                       JOBS_CONCURRENCY=str(args.concurrency), REDIS_URL=args.redis_url,
                       REDIS_KEY_PREFIX=prefix)
        binary = os.path.join(target, "release", "examples", "jobs_bench")
        try:
            out = subprocess.run([binary, str(args.jobs), str(args.pickups)], env=app_env,
                                 check=True, capture_output=True, text=True).stdout
            loads.append(os.getloadavg()[0])
        finally:
            if database:
                psql(args.postgres_url, f"drop database if exists {database} with (force)")
            if dialect == "redis":
                drop_redis_keys(args.redis_url, prefix)
        results[dialect] = json.loads(out.strip().splitlines()[-1])

    print(f"\njob queue, one worker process, JOBS_CONCURRENCY={args.concurrency}, "
          f"{args.jobs} no-op jobs, {args.pickups} pickups; {os.cpu_count()} cores, "
          f"1-min load average {' -> '.join(f'{load:.1f}' for load in loads)}\n")
    print(f"{'':10} {'enqueue/s':>10} {'jobs/s':>10} {'e2e/s':>10} "
          f"{'pickup p50':>11} {'p90':>8} {'p99':>8}")
    for dialect, r in results.items():
        print(f"{dialect:10} {r['enqueue_per_sec']:10.0f} {r['processed_per_sec']:10.0f} "
              f"{r['end_to_end_per_sec']:10.0f} {r['pickup_ms_p50']:9.2f}ms "
              f"{r['pickup_ms_p90']:6.2f}ms {r['pickup_ms_p99']:6.2f}ms")
        if r["left_in_table"]:
            # Counted as soon as the last job started: the acks of the last few runs may
            # still be in flight.
            print(f"  ({r['left_in_table']} rows not yet acknowledged when the last job started)")


if __name__ == "__main__":
    main()

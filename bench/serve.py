#!/usr/bin/env python3
"""Throughput, p99 latency and idle memory of the generated minimal project (release build).

Generates the minimal project (`omnistack new benchapp --yes`), builds it in release mode,
starts it with production settings on a fresh SQLite file, registers a user, logs in,
creates 20 projects, and load-tests it with wrk on 127.0.0.1:

  - GET /health/live                 (the full middleware stack around a constant answer)
  - GET /api/v1/app/projects         (bearer token check + the list and count queries, 20 rows)

next to bench/baseline, a bare axum handler doing the same work (same JWT check, same two
queries on the same database file, same pool settings, same crate versions, no middleware),
measured in the same run. Prints req/s, p99 and the generated/baseline ratio per endpoint,
plus the generated app's resident memory when idle.

Usage: python3 bench/serve.py [options]          (see --help; about 3 minutes once built)

Environment: OMNISTACK_TEMPLATES is passed through to `omnistack new` (templates on disk);
CARGO_TARGET_DIR (default $BENCH_WORK/target) is shared by the app and the baseline builds;
BENCH_WORK (default /tmp/omnistack-bench) holds the project, database and logs.
Needs wrk (installed with apt-get when missing and running as root).
"""
import argparse
import json
import os
import re
import resource
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
import tomllib
import urllib.error
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BENCH = os.path.join(ROOT, "bench")
HOST = "127.0.0.1"
PROJECTS = 20
ISSUER, AUDIENCE = "benchapp", "benchapp-api"
LIVE, LIST = "/health/live", "/api/v1/app/projects"
# The generated app limits requests (src/rate_limit/): 600/1m per user by default would answer
# most of the load with 429. Quotas far above any load keep the limiter in the measured stack
# (every request is counted) without refusing anything; bench/limiter.py measures its cost.
UNLIMITED = "1000000/1s"
UNLIMITED_QUOTAS = {"RATE_LIMIT_USER": UNLIMITED, "RATE_LIMIT_AUTH": UNLIMITED,
                    "RATE_LIMIT_PUBLIC": UNLIMITED}


def log(message):
    print(f"[serve.py] {message}", file=sys.stderr, flush=True)


def run(cmd, **kwargs):
    log("$ " + " ".join(cmd))
    subprocess.run(cmd, check=True, **kwargs)


def ensure_wrk():
    if shutil.which("wrk"):
        return
    if os.geteuid() == 0 and shutil.which("apt-get"):
        log("wrk is missing: installing it with apt-get")
        subprocess.run(["apt-get", "update", "-qq"], check=False)
        subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=False)
    if not shutil.which("wrk"):
        sys.exit("wrk is required: apt-get install wrk (Debian/Ubuntu) or brew install wrk")


def free_port():
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def http(method, url, body=None, token=None):
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method)
    if body is not None:
        request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def wait_ready(url, process, name, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            sys.exit(f"{name} exited with {process.returncode} before answering (see its log)")
        try:
            if http("GET", url)[0] == 200:
                return
        except OSError:
            pass
        time.sleep(0.1)
    sys.exit(f"{name} did not answer {url} within {timeout} s")


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as status:
        fields = dict(line.split(":", 1) for line in status if ":" in line)
    return int(fields["VmRSS"].split()[0]), int(fields["VmHWM"].split()[0])


def mib(kib):
    return kib / 1024


UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3}


def to_ms(text):
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text).groups()
    return float(number) * UNITS[unit]


def nice_prefix(args):
    return ["nice", "-n", str(args.nice)] if args.nice else []


def set_autogroup_nice(value):
    """With autogroup scheduling (Linux's default for desktop kernels and many containers),
    niceness only counts inside a session's group: the group's own niceness is what competes
    with other sessions, e.g. a build started from another terminal. Returns the old value."""
    try:
        with open("/proc/self/autogroup") as group:
            old = int(group.read().split("nice")[1])
        with open("/proc/self/autogroup", "w") as group:
            group.write(str(value))
        return old
    except (OSError, IndexError, ValueError):
        return None


def cpu_jiffies(pids=()):
    """Busy jiffies of the whole machine, and of the given processes (user + system)."""
    with open("/proc/stat") as stat:
        fields = [int(x) for x in stat.readline().split()[1:]]
    # user + nice + system: interrupt and softirq time (where loopback TCP is handled for
    # both ends) is not charged to any process, so it is left out on both sides.
    busy = fields[0] + fields[1] + fields[2]
    own = 0
    for pid in pids:
        with open(f"/proc/{pid}/stat") as stat:
            parts = stat.read().rsplit(")", 1)[1].split()
        own += int(parts[11]) + int(parts[12])
    return busy, own


def wrk(url, token, args, duration, pids=(), script=None):
    """One wrk run; `others_cpu` is the CPU (in cores) used meanwhile by processes other than
    the servers in `pids` and wrk itself: anything above a few percent makes figures noisy.
    `script`: a wrk Lua script (e.g. one that sets a POST body)."""
    cmd = nice_prefix(args) + ["wrk", f"-t{args.threads}", f"-c{args.connections}", f"-d{duration}s", "--latency"]
    if script:
        cmd += ["-s", script]
    if token:
        cmd += ["-H", f"Authorization: Bearer {token}"]
    cmd.append(url)
    hz = os.sysconf("SC_CLK_TCK")
    busy0, own0 = cpu_jiffies(pids)
    child0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.monotonic()
    output = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    elapsed = time.monotonic() - start
    busy1, own1 = cpu_jiffies(pids)
    child1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    wrk_s = (child1.ru_utime - child0.ru_utime) + (child1.ru_stime - child0.ru_stime)
    others = max(0.0, ((busy1 - busy0) - (own1 - own0)) / hz - wrk_s) / elapsed
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))
    p99 = to_ms(re.search(r"^\s+99%\s+(\S+)", output, re.M).group(1))
    p50 = to_ms(re.search(r"^\s+50%\s+(\S+)", output, re.M).group(1))
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    errors = re.search(r"Socket errors:.*", output)
    if bad or errors:
        log(f"WARNING {url}: {bad.group(0) if bad else ''} {errors.group(0) if errors else ''}")
    return {"rps": rps, "p50_ms": p50, "p99_ms": p99, "non_2xx": int(bad.group(1)) if bad else 0,
            "server_cpu": (own1 - own0) / hz / elapsed, "wrk_cpu": wrk_s / elapsed,
            "others_cpu": others, "cpu_us": (own1 - own0) / hz / elapsed / rps * 1e6}


def cargo_build(project_dir, target_dir):
    env = dict(os.environ, CARGO_TARGET_DIR=target_dir)
    start = time.monotonic()
    run(["cargo", "build", "--release", "--quiet"], cwd=project_dir, env=env)
    return time.monotonic() - start


def build_cli():
    """Builds the CLI (release) and returns the path of its binary."""
    run(["cargo", "build", "--release", "--quiet"], cwd=ROOT)
    if os.environ.get("OMNISTACK_TEMPLATES"):
        log(f"templates from OMNISTACK_TEMPLATES={os.environ['OMNISTACK_TEMPLATES']}")
    cli_target = os.path.abspath(os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target")))
    return os.path.join(cli_target, "release", "omnistack")


def generate_project(cli, work, name, options=()):
    """`omnistack new NAME --yes [options]` into `work/NAME`; returns the directory."""
    project = os.path.join(work, name)
    run([cli, "new", name, "--yes", *options, "--no-git", "--no-fmt", "--force",
         "--output", project], stdout=sys.stderr)
    return project


def generate(work, args):
    """The project directory: generated with the CLI, or --project as given."""
    if args.project:
        return os.path.abspath(args.project)
    return generate_project(build_cli(), work, "benchapp")


def fresh_database(db_path):
    """Removes the SQLite file and its WAL/SHM companions."""
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(db_path + suffix):
            os.remove(db_path + suffix)


def server_env(db_path, jwt_secret, drop=()):
    """This process's environment without app settings, plus the database and JWT settings
    shared by the app and the baseline; variables starting with a prefix in `drop` go too."""
    prefixes = ("APP_", "JWT_", "DATABASE_", "RUST_LOG", *drop)
    env = {k: v for k, v in os.environ.items() if not k.startswith(prefixes)}
    env.update(DATABASE_URL=f"sqlite://{db_path}", JWT_SECRET=jwt_secret,
               JWT_ISSUER=ISSUER, JWT_AUDIENCE=AUDIENCE)
    return env


def register_and_login(app_url, email="bench@example.com"):
    """Registers a user with a random password and logs in; returns the access token."""
    password = secrets.token_urlsafe(18)
    status, body = http("POST", app_url + "/api/v1/public/auth/register",
                        {"email": email, "password": password})
    assert status == 201, f"register: {status} {body[:300]!r}"
    status, body = http("POST", app_url + "/api/v1/public/auth/login",
                        {"email": email, "password": password})
    assert status == 200, f"login: {status} {body[:300]!r}"
    return json.loads(body)["access_token"]


def create_projects(app_url, token, count=PROJECTS):
    for i in range(count):
        status, body = http("POST", app_url + LIST, {"name": f"Project {i:02}",
                            "description": f"Benchmark project number {i}"}, token)
        assert status == 201, f"create project: {status} {body[:300]!r}"


def prepare_baseline(work, project, crate="baseline"):
    """Copies bench/baseline (or another crate of bench/) to `work` with the generated
    project's Cargo.lock, so cargo picks the very same versions of axum, sqlx, tokio,
    jsonwebtoken, serde_json, ..."""
    dst = os.path.join(work, crate)
    shutil.rmtree(dst, ignore_errors=True)
    shutil.copytree(os.path.join(BENCH, crate), dst,
                    ignore=shutil.ignore_patterns("target", "Cargo.lock"))
    lock = os.path.join(project, "Cargo.lock")
    if os.path.exists(lock):
        shutil.copy(lock, os.path.join(dst, "Cargo.lock"))
    return dst


def locked_versions(lock_path, names):
    with open(lock_path, "rb") as lock:
        packages = tomllib.load(lock).get("package", [])
    return {p["name"]: p["version"] for p in packages if p["name"] in names}


class Server:
    def __init__(self, name, cmd, env, log_path):
        self.name = name
        self.log_file = open(log_path, "wb")
        self.process = subprocess.Popen(cmd, env=env, stdout=self.log_file,
                                        stderr=subprocess.STDOUT)

    def stop(self):
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=25)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log_file.close()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--project", help="use this already generated project instead of `omnistack new`")
    parser.add_argument("--duration", type=int, default=10, help="seconds per measurement (10)")
    parser.add_argument("--warmup", type=int, default=2, help="seconds of warmup per endpoint (2)")
    parser.add_argument("--rounds", type=int, default=2,
                        help="alternating app/baseline rounds; medians are reported (2)")
    parser.add_argument("--connections", type=int, default=32, help="wrk connections (32)")
    parser.add_argument("--threads", type=int, default=1, help="wrk threads (1)")
    parser.add_argument("--rust-log", default="info", help="RUST_LOG of the generated app (info)")
    parser.add_argument("--app-log", help="where the app's logs go (default $BENCH_WORK/app.log; /dev/null to drop)")
    parser.add_argument("--app-env", action="append", default=[], metavar="NAME=VALUE",
                        help="extra environment of the generated app, e.g. for experiments")
    parser.add_argument("--nice", type=int, default=-10 if os.geteuid() == 0 else 0,
                        help="niceness of the servers and wrk: -10 (the default as root) keeps "
                        "a build running beside the benchmark from skewing it much; 0 to disable")
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args()

    ensure_wrk()
    work = os.path.abspath(os.environ.get("BENCH_WORK", "/tmp/omnistack-bench"))
    os.makedirs(work, exist_ok=True)
    target = os.path.abspath(os.environ.get("CARGO_TARGET_DIR", os.path.join(work, "target")))

    project = generate(work, args)
    with open(os.path.join(project, "Cargo.toml"), "rb") as manifest:
        package = tomllib.load(manifest)["package"]["name"]
    app_build_s = cargo_build(project, target)
    app_bin = os.path.join(target, "release", package)
    baseline_dir = prepare_baseline(work, project)
    cargo_build(baseline_dir, target)
    base_bin = os.path.join(target, "release", "omnistack-bench-baseline")
    shared = ["axum", "hyper", "tokio", "sqlx", "sqlx-sqlite", "libsqlite3-sys",
              "jsonwebtoken", "serde_json", "time", "uuid"]
    app_versions = locked_versions(os.path.join(project, "Cargo.lock"), shared)
    base_versions = locked_versions(os.path.join(baseline_dir, "Cargo.lock"), shared)
    if app_versions != base_versions:
        log(f"WARNING: versions differ: app {app_versions} baseline {base_versions}")

    db_path = os.path.join(work, "bench.db")
    fresh_database(db_path)
    app_port, base_port = free_port(), free_port()
    common = server_env(db_path, secrets.token_hex(32), drop=("RATE_LIMIT_",))
    app_env = dict(common, APP_ENV="production", HOST=HOST, PORT=str(app_port),
                   RUST_LOG=args.rust_log, ACCESS_TOKEN_TTL_SECS="3600", **UNLIMITED_QUOTAS)
    app_env.update(item.split("=", 1) for item in args.app_env)
    base_env = dict(common, PORT=str(base_port))

    # Production does not migrate on start: run the subcommand, as a deployment would.
    run([app_bin, "migrate"], env=app_env, stdout=subprocess.DEVNULL)

    app_log = args.app_log or os.path.join(work, "app.log")
    servers = []
    old_group_nice = set_autogroup_nice(args.nice) if args.nice else None
    try:
        app = Server("generated app", nice_prefix(args) + [app_bin, "serve"], app_env, app_log)
        servers.append(app)
        app_url = f"http://{HOST}:{app_port}"
        started = time.monotonic()
        wait_ready(app_url + LIVE, app.process, app.name)
        ready_ms = (time.monotonic() - started) * 1000
        time.sleep(1)
        rss_start, _ = rss_kib(app.process.pid)

        token = register_and_login(app_url)
        time.sleep(1)
        rss_login, _ = rss_kib(app.process.pid)
        create_projects(app_url, token)

        base = Server("baseline", nice_prefix(args) + [base_bin], base_env,
                      os.path.join(work, "baseline.log"))
        servers.append(base)
        base_url = f"http://{HOST}:{base_port}"
        wait_ready(base_url + LIVE, base.process, base.name)

        app_page = json.loads(http("GET", app_url + LIST, token=token)[1])
        base_status, base_body = http("GET", base_url + LIST, token=token)
        assert base_status == 200, f"baseline list: {base_status} {base_body[:300]!r}"
        base_page = json.loads(base_body)
        assert len(app_page["data"]) == PROJECTS and app_page["count"] == PROJECTS, app_page
        assert app_page == base_page, "the baseline answers differently from the generated app"
        sizes = {"app": len(json.dumps(app_page)), "baseline": len(json.dumps(base_page))}

        pids = {"app": [app.process.pid], "baseline": [base.process.pid]}
        both = pids["app"] + pids["baseline"]
        targets = [("app", LIVE, app_url, None), ("baseline", LIVE, base_url, None),
                   ("app", LIST, app_url, token), ("baseline", LIST, base_url, token)]
        for _, path, url, tok in targets:
            wrk(url + path, tok, args, args.warmup, both)
        time.sleep(2)
        rss_idle, _ = rss_kib(app.process.pid)
        base_rss_idle, _ = rss_kib(base.process.pid)

        results = {(who, path): [] for who, path, _, _ in targets}
        for round_no in range(args.rounds):
            for who, path, url, tok in targets:
                figures = wrk(url + path, tok, args, args.duration, both)
                log(f"round {round_no + 1} {who:8} {path:22} {figures['rps']:9.0f} req/s  "
                    f"p50 {figures['p50_ms']:.2f} ms  p99 {figures['p99_ms']:.2f} ms  "
                    f"cpu: server {figures['server_cpu']:.2f} wrk {figures['wrk_cpu']:.2f} "
                    f"others {figures['others_cpu']:.2f} cores")
                results[(who, path)].append(figures)
        time.sleep(2)
        rss_after, hwm = rss_kib(app.process.pid)
    finally:
        for server in reversed(servers):
            server.stop()
        if old_group_nice is not None:
            set_autogroup_nice(old_group_nice)

    refused = [(who, path, r["non_2xx"]) for (who, path), rs in results.items() for r in rs
               if r["non_2xx"]]
    if refused:
        sys.exit(f"FAILED: non-2xx answers under load {refused}: the req/s would be those of "
                 "error responses (a 429 means the rate limit quotas did not apply)")

    def median(who, path, key):
        return statistics.median(r[key] for r in results[(who, path)])

    summary = {"endpoints": {}, "memory_mib": {}, "setup": {}}
    print()
    print(f"Generated app vs bare axum baseline: wrk -t{args.threads} -c{args.connections} "
          f"-d{args.duration}s on {HOST}, {os.cpu_count()} cores shared, "
          f"median of {args.rounds} round(s), RUST_LOG={args.rust_log}, nice {args.nice}")
    print(f"{'endpoint':34} {'app req/s':>10} {'base req/s':>11} {'ratio':>6}   "
          f"{'app p99':>8} {'base p99':>9} {'ratio':>6}   {'server CPU us/req app/base':>26}")
    for path, label in ((LIVE, f"GET {LIVE}"), (LIST, f"GET {LIST} ({PROJECTS} rows)")):
        a_rps, b_rps = median("app", path, "rps"), median("baseline", path, "rps")
        a_p99, b_p99 = median("app", path, "p99_ms"), median("baseline", path, "p99_ms")
        a_cpu, b_cpu = median("app", path, "cpu_us"), median("baseline", path, "cpu_us")
        print(f"{label:34} {a_rps:10.0f} {b_rps:11.0f} {a_rps / b_rps:6.2f}   "
              f"{a_p99:6.2f}ms {b_p99:7.2f}ms {a_p99 / b_p99:6.2f}   "
              f"{a_cpu:12.1f} / {b_cpu:.1f}")
        summary["endpoints"][path] = {
            "app": results[("app", path)], "baseline": results[("baseline", path)],
            "rps_ratio": a_rps / b_rps, "p99_ratio": a_p99 / b_p99,
            "cpu_us_per_request": {"app": a_cpu, "baseline": b_cpu}}
    others = max(r["others_cpu"] for rs in results.values() for r in rs)
    if others > 0.1:
        print(f"WARNING: other processes used up to {others:.2f} cores during a measurement: "
              "the figures are noisy (see the per-run lines above)")
    print(f"generated app RSS: {mib(rss_start):.1f} MiB idle after start "
          f"(target 10-20 MiB: {'met' if rss_start <= 20 * 1024 else 'NOT met'}), "
          f"{mib(rss_login):.1f} MiB idle after one register + one login, "
          f"{mib(rss_idle):.1f} MiB idle after {PROJECTS} inserts and warmup, "
          f"{mib(rss_after):.1f} MiB after the load (peak {mib(hwm):.1f} MiB); "
          f"baseline idle {mib(base_rss_idle):.1f} MiB")
    print(f"list response {sizes['app']} bytes (identical in both); app answered "
          f"{ready_ms:.0f} ms after start; app release build {app_build_s:.0f} s")
    summary["memory_mib"] = {"idle_after_start": mib(rss_start), "idle_after_login": mib(rss_login),
                             "idle_after_warmup": mib(rss_idle),
                             "after_load": mib(rss_after), "peak": mib(hwm),
                             "baseline_idle": mib(base_rss_idle)}
    summary["setup"] = {"threads": args.threads, "connections": args.connections,
                        "duration_s": args.duration, "rounds": args.rounds,
                        "rust_log": args.rust_log, "app_env": args.app_env, "nice": args.nice,
                        "versions": app_versions}
    if args.json:
        with open(args.json, "w") as out:
            json.dump(summary, out, indent=2)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""What the AI gateway adds: latency over calling the upstream directly, memory per open stream.

Generates a project with `--ai openai-compatible` (SQLite), builds it and the mock upstream
`bench/ai-mock` in release mode (the mock with the project's Cargo.lock), starts both, and
points the project's openai-compatible provider at the mock (model `bench-model`). Then:

1. Latency: `wrk -t1 -c1 --latency` with the same chat request, alternating in each round
   between the mock directly (`POST /v1/chat/completions`) and the gateway in front of it
   (`POST /api/v1/app/ai/chat/completions` with a bearer token: authentication, validation,
   routing, the upstream call, the usage row, the answer in OpenAI's shape). The added
   latency is the gateway's p50 (p99) minus the mock's in the same round; medians over rounds.
   Target: p50 overhead <= 1 ms.
2. Memory: opens `--streams` (1,000) streamed chat completions at once, each held open by the
   mock (a delta every second), waits until every client has its first delta, and reads the
   app's resident memory (VmRSS) before, while they are open (highest of a few samples) and
   after they are closed. RSS per stream = (open - before) / streams. Target: <= 50 KiB.

Figures, not a test: nothing fails on a slow figure. Other processes on the machine skew
the latency (the per-round lines show the CPU they used and the load average); the
same-round difference is the figure to trust.

Usage: python3 bench/ai.py [--project DIR] [--rounds N] [--duration S] [--streams N]
Environment: as serve.py (OMNISTACK_TEMPLATES, CARGO_TARGET_DIR, BENCH_WORK).
"""
import argparse
import asyncio
import json
import os
import resource
import secrets
import statistics
import subprocess
import sys
import time
import tomllib

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from serve import (HOST, UNLIMITED_QUOTAS, Server, build_cli, cargo_build,  # noqa: E402
                   ensure_wrk, free_port, fresh_database, generate_project, http, mib, nice_prefix,
                   prepare_baseline, register_and_login, rss_kib, run, server_env,
                   set_autogroup_nice, wait_ready, wrk)

COMPLETIONS = "/api/v1/app/ai/chat/completions"
UPSTREAM = "/v1/chat/completions"
MODEL = "bench-model"
MESSAGES = [{"role": "system", "content": "Be brief."},
            {"role": "user", "content": "Say hello to the benchmark."}]


def log(message):
    print(f"[ai.py] {message}", file=sys.stderr, flush=True)


def post_script(work, name, body):
    """A wrk Lua script that POSTs `body` as JSON."""
    path = os.path.join(work, f"{name}.lua")
    with open(path, "w") as script:
        script.write('wrk.method = "POST"\n')
        script.write('wrk.headers["Content-Type"] = "application/json"\n')
        script.write(f"wrk.body = {json.dumps(json.dumps(body))}\n")
    return path


def raise_fd_limit(wanted=65536):
    """1,000 streams take ~3,000 sockets across client, app and mock; children inherit this."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < wanted and os.geteuid() == 0:
        hard = wanted
    limit = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    resource.setrlimit(resource.RLIMIT_NOFILE, (limit, hard))
    return limit


async def hold_streams(port, token, count, pid, samples=5):
    """Opens `count` streamed completions, waits for each one's first delta, samples the
    app's RSS while all are open, then closes them. Returns (peak RSS KiB while open,
    seconds to open all)."""
    payload = json.dumps({"model": MODEL, "messages": MESSAGES, "stream": True}).encode()
    head = (f"POST {COMPLETIONS} HTTP/1.1\r\nHost: {HOST}\r\nAuthorization: Bearer {token}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(payload)}\r\n\r\n").encode()
    opening = asyncio.Semaphore(64)
    ended = []

    async def open_one(number):
        async with opening:
            reader, writer = await asyncio.open_connection(HOST, port)
            writer.write(head + payload)
            await writer.drain()
            seen = b""
            while b'"Hel"' not in seen:
                chunk = await reader.read(65536)
                if not chunk:
                    raise RuntimeError(f"stream {number} ended before its first delta: {seen[:300]!r}")
                seen += chunk
            if not seen.startswith(b"HTTP/1.1 200"):
                raise RuntimeError(f"stream {number}: {seen[:300]!r}")
            return reader, writer

    async def drain(reader):
        # Reads what the app sends, as a client would; an end before the close is counted.
        while await reader.read(65536):
            pass
        ended.append(1)

    started = time.monotonic()
    streams = await asyncio.gather(*(open_one(n) for n in range(count)))
    opened_s = time.monotonic() - started
    drains = [asyncio.create_task(drain(reader)) for reader, _ in streams]
    peak = 0
    for _ in range(samples):
        await asyncio.sleep(0.5)
        peak = max(peak, rss_kib(pid)[0])
    if ended:
        raise RuntimeError(f"{len(ended)} streams ended while they were measured "
                           "(raise MOCK_CHUNKS or lower --streams)")
    for _, writer in streams:
        writer.close()
    for task in drains:
        task.cancel()
    await asyncio.gather(*drains, return_exceptions=True)
    return peak, opened_s


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--project", help="an already generated project with --ai openai-compatible")
    parser.add_argument("--duration", type=int, default=5, help="seconds per wrk run (5)")
    parser.add_argument("--warmup", type=int, default=2, help="seconds of warmup per target (2)")
    parser.add_argument("--rounds", type=int, default=5, help="alternating rounds (5)")
    parser.add_argument("--streams", type=int, default=1000, help="concurrent streams (1000)")
    parser.add_argument("--rust-log", default="info", help="RUST_LOG of the app (info)")
    parser.add_argument("--nice", type=int, default=-10 if os.geteuid() == 0 else 0,
                        help="niceness of the servers and wrk (-10 as root; 0 to disable)")
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args()
    args.threads, args.connections = 1, 1

    ensure_wrk()
    fd_limit = raise_fd_limit()
    work = os.path.abspath(os.environ.get("BENCH_WORK", "/tmp/omnistack-bench"))
    os.makedirs(work, exist_ok=True)
    target = os.path.abspath(os.environ.get("CARGO_TARGET_DIR", os.path.join(work, "target")))

    if args.project:
        project = os.path.abspath(args.project)
    else:
        project = generate_project(build_cli(), work, "benchai", ["--ai", "openai-compatible"])
    with open(os.path.join(project, "Cargo.toml"), "rb") as manifest:
        package = tomllib.load(manifest)["package"]["name"]
    cargo_build(project, target)
    app_bin = os.path.join(target, "release", package)
    cargo_build(prepare_baseline(work, project, "ai-mock"), target)
    mock_bin = os.path.join(target, "release", "omnistack-bench-ai-mock")

    mock_port, app_port = free_port(), free_port()
    db_path = os.path.join(work, "ai.db")
    fresh_database(db_path)
    app_env = dict(server_env(db_path, secrets.token_hex(32),
                              drop=("RATE_LIMIT_", "AI_", "OPENAI_")),
                   APP_ENV="production", HOST=HOST, PORT=str(app_port), RUST_LOG=args.rust_log,
                   ACCESS_TOKEN_TTL_SECS="3600", **UNLIMITED_QUOTAS,
                   OPENAI_COMPATIBLE_BASE_URL=f"http://{HOST}:{mock_port}/v1",
                   OPENAI_COMPATIBLE_MODELS=f"{MODEL}=balanced@0.1/0.3")
    run([app_bin, "migrate"], env=app_env, stdout=subprocess.DEVNULL)

    servers = []
    old_group_nice = set_autogroup_nice(args.nice) if args.nice else None
    results = {"direct": [], "gateway": []}
    try:
        mock_env = dict(os.environ, PORT=str(mock_port), MOCK_CHUNKS="120", MOCK_INTERVAL_MS="1000")
        mock = Server("mock", nice_prefix(args) + [mock_bin], mock_env, os.path.join(work, "ai-mock.log"))
        servers.append(mock)
        app = Server("app", nice_prefix(args) + [app_bin, "serve"], app_env, os.path.join(work, "ai-app.log"))
        servers.append(app)
        app_url, mock_url = f"http://{HOST}:{app_port}", f"http://{HOST}:{mock_port}"
        wait_ready(app_url + "/health/live", app.process, app.name)
        rss_start, _ = rss_kib(app.process.pid)
        token = register_and_login(app_url)

        direct_body = {"model": MODEL, "messages": MESSAGES, "max_tokens": 1024}
        status, body = http("POST", mock_url + UPSTREAM, direct_body)
        assert status == 200, f"mock: {status} {body[:300]!r}"
        gateway_body = {"model": MODEL, "messages": MESSAGES}
        status, body = http("POST", app_url + COMPLETIONS, gateway_body, token)
        assert status == 200 and json.loads(body)["choices"][0]["message"]["content"], \
            f"gateway: {status} {body[:300]!r}"
        targets = {
            "direct": (mock_url + UPSTREAM, None, post_script(work, "ai-direct", direct_body)),
            "gateway": (app_url + COMPLETIONS, token, post_script(work, "ai-gateway", gateway_body)),
        }
        pids = [app.process.pid, mock.process.pid]
        for url, tok, script in targets.values():
            wrk(url, tok, args, args.warmup, pids, script)
        for round_no in range(args.rounds):
            order = ["direct", "gateway"] if round_no % 2 == 0 else ["gateway", "direct"]
            for who in order:
                url, tok, script = targets[who]
                figures = wrk(url, tok, args, args.duration, pids, script)
                figures["load"] = os.getloadavg()[0]
                results[who].append(figures)
                log(f"round {round_no + 1} {who:8} {figures['rps']:7.0f} req/s  "
                    f"p50 {figures['p50_ms'] * 1000:7.0f} us  p99 {figures['p99_ms'] * 1000:7.0f} us  "
                    f"others {figures['others_cpu']:.2f} cores  load {figures['load']:.1f}")

        time.sleep(1)
        rss_before, _ = rss_kib(app.process.pid)
        peak, opened_s = asyncio.run(hold_streams(app_port, token, args.streams, app.process.pid))
        time.sleep(3)
        rss_after, hwm = rss_kib(app.process.pid)
    finally:
        for server in reversed(servers):
            server.stop()
        if old_group_nice is not None:
            set_autogroup_nice(old_group_nice)

    bad = [(who, r["non_2xx"]) for who, rs in results.items() for r in rs if r["non_2xx"]]
    if bad:
        sys.exit(f"FAILED: non-2xx answers under load {bad}")

    def median(who, key):
        return statistics.median(r[key] for r in results[who])

    def paired(key):
        return statistics.median(g[key] - d[key] for d, g in zip(results["direct"], results["gateway"]))

    per_stream = (peak - rss_before) / args.streams
    summary = {
        "latency_us": {who: {"p50": median(who, "p50_ms") * 1000, "p99": median(who, "p99_ms") * 1000,
                             "rps": median(who, "rps")} for who in results},
        "overhead_us": {"p50": paired("p50_ms") * 1000, "p99": paired("p99_ms") * 1000},
        "app_cpu_us_per_request": median("gateway", "cpu_us"),
        "rss_kib": {"start": rss_start, "before_streams": rss_before, "streams_open": peak,
                    "after_close": rss_after, "peak_hwm": hwm},
        "streams": args.streams, "open_s": opened_s, "rss_per_stream_kib": per_stream,
        "rounds": {who: rs for who, rs in results.items()},
        "load_average": os.getloadavg(), "fd_limit": fd_limit,
    }
    overhead = summary["overhead_us"]
    print()
    print(f"AI gateway vs its upstream called directly: wrk -t1 -c1 -d{args.duration}s, POST "
          f"{COMPLETIONS} vs the mock's {UPSTREAM}, {os.cpu_count()} cores shared, median of "
          f"{args.rounds} alternating round(s), RUST_LOG={args.rust_log}, nice {args.nice}, "
          f"load average {os.getloadavg()[0]:.1f}")
    print(f"{'':26} {'p50':>9} {'p99':>9} {'req/s':>8}")
    for who, label in (("direct", "mock directly"), ("gateway", "through the gateway")):
        figures = summary["latency_us"][who]
        print(f"{label:26} {figures['p50']:7.0f}us {figures['p99']:7.0f}us {figures['rps']:8.0f}")
    print(f"{'added by the gateway':26} {overhead['p50']:7.0f}us {overhead['p99']:7.0f}us"
          f"   (same-round differences; target p50 <= 1000us: "
          f"{'met' if overhead['p50'] <= 1000 else 'NOT met'}); app CPU "
          f"{summary['app_cpu_us_per_request']:.0f} us/request")
    print(f"{args.streams} concurrent streams (opened in {opened_s:.1f} s): app RSS {mib(rss_before):.1f} MiB "
          f"before, {mib(peak):.1f} MiB while open, {mib(rss_after):.1f} MiB after closing "
          f"(peak {mib(hwm):.1f} MiB); {per_stream:.1f} KiB per open stream (target <= 50 KiB: "
          f"{'met' if per_stream <= 50 else 'NOT met'}); idle after start {mib(rss_start):.1f} MiB")
    if args.json:
        with open(args.json, "w") as out:
            json.dump(summary, out, indent=2)


if __name__ == "__main__":
    main()

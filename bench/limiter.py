#!/usr/bin/env python3
"""What the rate limiter costs the generated app: req/s, p99 and CPU per request.

Generates two minimal projects, `--cache memory` (the default) and `--cache redis`, builds
both in release mode (one CARGO_TARGET_DIR, so dependencies are built once), and starts
three instances side by side, each on its own fresh SQLite file:

  - off:    the memory project with RATE_LIMIT_ENABLED=false
  - memory: the memory project, limiter on, counters in the process
  - redis:  the redis project, limiter on, counters in Redis (one Lua script per request)

Both limited instances get quotas far above what the load can reach (1000000/1s for the
user, auth and public policies), so every request is counted and none is refused. Each
instance registers a user, logs in and creates 20 projects; then the authenticated
`GET /api/v1/app/projects` is load-tested with wrk, interleaved (off, memory, redis, off,
...) so background load hits all three alike. Prints medians of req/s, p99 and CPU per
request, with ratios against the limiter off. Any non-2xx answer (a 429 means a quota
setting was not applied) stops the run.

Before measuring, the Redis instance must report its cache as `ok` in /health/ready; the
script also counts the EVALSHA calls Redis received during the Redis runs, and fails if the
app logged a Redis outage (it would then have counted in its per-instance fallback).

Usage: python3 bench/limiter.py [options]      (about 2 minutes once both projects are built)

Reuses bench/serve.py (wrk runs, CPU accounting, server start/stop, register/login/seed).
Environment: as serve.py (OMNISTACK_TEMPLATES, CARGO_TARGET_DIR, BENCH_WORK).
Needs wrk and a Redis server (--redis-url, default redis://127.0.0.1:6379).
"""
import argparse
import json
import os
import re
import secrets
import socket
import statistics
import subprocess
import sys
import time
import tomllib
import urllib.error
import urllib.parse
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from serve import (HOST, LIST, PROJECTS, UNLIMITED, UNLIMITED_QUOTAS, Server,  # noqa: E402
                   build_cli, cargo_build, create_projects, ensure_wrk, free_port,
                   fresh_database, generate_project, http, nice_prefix, register_and_login,
                   run, server_env, set_autogroup_nice, wait_ready, wrk)

QUOTAS = UNLIMITED_QUOTAS
# (name, label, which project, environment)
CONFIGS = [
    ("off", "limiter off", "memory", {"RATE_LIMIT_ENABLED": "false"}),
    ("memory", "limiter on, in-memory store", "memory", {"RATE_LIMIT_ENABLED": "true", **QUOTAS}),
    ("redis", "limiter on, Redis store", "redis", {"RATE_LIMIT_ENABLED": "true", **QUOTAS}),
]


def log(message):
    print(f"[limiter.py] {message}", file=sys.stderr, flush=True)


class Redis:
    """Just enough of the Redis protocol (RESP) for PING, AUTH and INFO."""

    def __init__(self, url):
        parts = urllib.parse.urlsplit(url)
        if parts.scheme != "redis":
            sys.exit(f"--redis-url: only redis://host:port is supported here, got {url}")
        self.sock = socket.create_connection((parts.hostname or HOST, parts.port or 6379), timeout=5)
        self.reader = self.sock.makefile("rb")
        if parts.password:
            auth = [parts.username, parts.password] if parts.username else [parts.password]
            self.command("AUTH", *auth)

    def command(self, *words):
        payload = f"*{len(words)}\r\n".encode()
        for word in words:
            data = str(word).encode()
            payload += f"${len(data)}\r\n".encode() + data + b"\r\n"
        self.sock.sendall(payload)
        return self._reply()

    def _reply(self):
        line = self.reader.readline().rstrip(b"\r\n")
        kind, rest = line[:1], line[1:].decode()
        if kind == b"+":
            return rest
        if kind == b"-":
            raise RuntimeError(f"Redis: {rest}")
        if kind == b":":
            return int(rest)
        if kind == b"$":
            return None if rest == "-1" else self.reader.read(int(rest) + 2)[:-2].decode()
        if kind == b"*":
            return [self._reply() for _ in range(int(rest))]
        raise RuntimeError(f"Redis: unexpected reply {line!r}")

    def info(self, section):
        fields = {}
        for line in self.command("INFO", section).splitlines():
            if ":" in line and not line.startswith("#"):
                key, value = line.split(":", 1)
                fields[key] = value
        return fields

    def cpu_seconds(self):
        info = self.info("cpu")
        return float(info["used_cpu_user"]) + float(info["used_cpu_sys"])

    def script_calls(self):
        """EVALSHA + EVAL calls since Redis started (all clients, not only this app)."""
        stats = self.info("commandstats")
        return sum(int(re.search(r"calls=(\d+)", stats.get(f"cmdstat_{name}", "calls=0")).group(1))
                   for name in ("evalsha", "eval"))


def steal_jiffies():
    """Time the hypervisor gave this machine's CPUs to someone else (all CPUs, in jiffies)."""
    with open("/proc/stat") as stat:
        fields = stat.readline().split()
    return int(fields[8]) if len(fields) > 8 else 0


def get_with_headers(url, token=None):
    request = urllib.request.Request(url)
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, dict(response.headers.items()), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers.items()), error.read()


def package_name(project):
    with open(os.path.join(project, "Cargo.toml"), "rb") as manifest:
        return tomllib.load(manifest)["package"]["name"]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--memory-project", help="use this generated `--cache memory` project")
    parser.add_argument("--redis-project", help="use this generated `--cache redis` project")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379",
                        help="Redis of the redis instance (redis://127.0.0.1:6379)")
    parser.add_argument("--duration", type=int, default=8, help="seconds per measurement (8)")
    parser.add_argument("--warmup", type=int, default=2, help="seconds of warmup per instance (2)")
    parser.add_argument("--rounds", type=int, default=5,
                        help="interleaved off/memory/redis rounds; medians are reported (5)")
    parser.add_argument("--rotate", action="store_true",
                        help="start each round with the next configuration (off, memory, redis; "
                        "memory, redis, off; ...) to expose an effect of the position in a round")
    parser.add_argument("--connections", type=int, default=32, help="wrk connections (32)")
    parser.add_argument("--threads", type=int, default=1, help="wrk threads (1)")
    parser.add_argument("--rust-log", default="info", help="RUST_LOG of the instances (info)")
    parser.add_argument("--app-env", action="append", default=[], metavar="NAME=VALUE",
                        help="extra environment of all three instances")
    parser.add_argument("--nice", type=int, default=-10 if os.geteuid() == 0 else 0,
                        help="niceness of the servers and wrk (as serve.py; 0 to disable)")
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args()

    ensure_wrk()
    redis = Redis(args.redis_url)
    assert redis.command("PING") == "PONG"
    redis_version = redis.info("server").get("redis_version", "?")
    work = os.path.abspath(os.environ.get("BENCH_WORK", "/tmp/omnistack-bench"))
    os.makedirs(work, exist_ok=True)
    target = os.path.abspath(os.environ.get("CARGO_TARGET_DIR", os.path.join(work, "target")))

    projects = {"memory": args.memory_project and os.path.abspath(args.memory_project),
                "redis": args.redis_project and os.path.abspath(args.redis_project)}
    if not all(projects.values()):
        cli = build_cli()
        for cache, name in (("memory", "benchmem"), ("redis", "benchredis")):
            if not projects[cache]:
                projects[cache] = generate_project(cli, work, name, ["--cache", cache])
    binaries, build_s = {}, {}
    for cache, project in projects.items():
        build_s[cache] = cargo_build(project, target)
        binaries[cache] = os.path.join(target, "release", package_name(project))
    if binaries["memory"] == binaries["redis"]:
        sys.exit("the two projects have the same package name: their binaries would collide")

    jwt_secret = secrets.token_hex(32)
    key_prefix = f"bench-{secrets.token_hex(4)}"
    instances = {}
    for name, label, cache, extra in CONFIGS:
        db_path = os.path.join(work, f"limiter-{name}.db")
        fresh_database(db_path)
        env = server_env(db_path, jwt_secret, drop=("RATE_LIMIT_", "REDIS_", "TRUSTED_PROXIES"))
        port = free_port()
        env.update(APP_ENV="production", HOST=HOST, PORT=str(port), RUST_LOG=args.rust_log,
                   ACCESS_TOKEN_TTL_SECS="3600", **extra)
        if cache == "redis":
            env.update(REDIS_URL=args.redis_url, REDIS_KEY_PREFIX=key_prefix)
        env.update(item.split("=", 1) for item in args.app_env)
        run([binaries[cache], "migrate"], env=env, stdout=subprocess.DEVNULL)
        instances[name] = {"label": label, "cache": cache, "env": env,
                           "url": f"http://{HOST}:{port}",
                           "log": os.path.join(work, f"limiter-{name}.log")}

    servers, results, checks = [], {name: [] for name, *_ in CONFIGS}, {}
    redis_cpu_s = {name: [] for name, *_ in CONFIGS}
    failure = None
    old_group_nice = set_autogroup_nice(args.nice) if args.nice else None
    try:
        for name, inst in instances.items():
            server = Server(name, nice_prefix(args) + [binaries[inst["cache"]], "serve"],
                            inst["env"], inst["log"])
            servers.append(server)
            inst["pid"] = server.process.pid
            wait_ready(inst["url"] + "/health/live", server.process, f"instance {name}")
            inst["token"] = register_and_login(inst["url"])
            create_projects(inst["url"], inst["token"])
            status, headers, body = get_with_headers(inst["url"] + LIST, inst["token"])
            page = json.loads(body)
            assert status == 200 and page["count"] == PROJECTS, f"{name}: {status} {body[:300]!r}"
            limit = headers.get("ratelimit-limit") or headers.get("RateLimit-Limit")
            expected = None if name == "off" else UNLIMITED.split("/")[0]
            assert limit == expected, f"{name}: RateLimit-Limit {limit!r}, expected {expected!r}"
            status, body = http("GET", inst["url"] + "/health/ready")
            ready = json.loads(body)
            checks[name] = {"ready_status": status, "ready": ready, "ratelimit_limit": limit}
            log(f"{name:6} /health/ready {status} {json.dumps(ready)}; RateLimit-Limit: {limit}")
        ready = checks["redis"]["ready"]
        if (ready.get("cache") or {}).get("status") != "ok":
            raise SystemExit(f"the Redis instance does not report its cache as ok: {ready}")

        def measure(name, duration):
            inst = instances[name]
            calls0, cpu0, steal0 = redis.script_calls(), redis.cpu_seconds(), steal_jiffies()
            figures = wrk(inst["url"] + LIST, inst["token"], args, duration, [inst["pid"]])
            calls1, cpu1, steal1 = redis.script_calls(), redis.cpu_seconds(), steal_jiffies()
            requests = figures["rps"] * duration
            redis_cores = (cpu1 - cpu0) / duration
            figures.update(redis_script_calls=calls1 - calls0, redis_cpu=redis_cores,
                           steal_cpu=(steal1 - steal0) / os.sysconf("SC_CLK_TCK") / duration,
                           redis_cpu_us=redis_cores / figures["rps"] * 1e6,
                           # Redis's CPU is not "other load" when it serves the instance.
                           others_cpu=max(0.0, figures["others_cpu"] - redis_cores))
            if figures["non_2xx"]:
                raise SystemExit(f"{name}: {figures['non_2xx']} non-2xx answers (429 = a quota "
                                 f"setting was not applied; see {inst['log']})")
            if name == "redis" and figures["redis_script_calls"] < 0.95 * requests:
                raise SystemExit(f"redis: only {figures['redis_script_calls']} script calls in "
                                 f"Redis for ~{requests:.0f} requests: the fallback was used?")
            return figures

        for name in instances:
            measure(name, args.warmup)
        time.sleep(1)
        names = list(instances)
        for round_no in range(args.rounds):
            shift = round_no % len(names) if args.rotate else 0
            for name in names[shift:] + names[:shift]:
                figures = measure(name, args.duration)
                results[name].append(figures)
                log(f"round {round_no + 1} {name:6} {figures['rps']:8.0f} req/s  "
                    f"p50 {figures['p50_ms']:.2f} ms  p99 {figures['p99_ms']:.2f} ms  "
                    f"cpu us/req: app {figures['cpu_us']:.1f} redis {figures['redis_cpu_us']:.1f}  "
                    f"cores: app {figures['server_cpu']:.2f} wrk {figures['wrk_cpu']:.2f} "
                    f"redis {figures['redis_cpu']:.2f} others {figures['others_cpu']:.2f} "
                    f"steal {figures['steal_cpu']:.2f}  "
                    f"script calls {figures['redis_script_calls']}")
        status, body = http("GET", instances["redis"]["url"] + "/health/ready")
        checks["redis"]["ready_after"] = json.loads(body)
        log(f"redis  /health/ready after the load {status} {body.decode()}")
    except (AssertionError, SystemExit) as error:
        failure = error
    finally:
        for server in reversed(servers):
            server.stop()
        if old_group_nice is not None:
            set_autogroup_nice(old_group_nice)
    if failure is not None:
        sys.exit(f"FAILED: {failure}")
    with open(instances["redis"]["log"], errors="replace") as app_log:
        outages = [line.strip() for line in app_log if "Redis unreachable" in line]
    if outages:
        sys.exit(f"FAILED: the Redis instance logged an outage, it counted in its fallback: "
                 f"{outages[0][:300]}")

    def median(name, key):
        return statistics.median(r[key] for r in results[name])

    def paired(name, key):
        """Median over rounds of (this config / off in the same round): drift between rounds
        (host load, frequency) cancels out, unlike in a ratio of medians."""
        return statistics.median(r[key] / o[key] for r, o in zip(results[name], results["off"]))

    def cpu_total(run_figures, name):
        return run_figures["cpu_us"] + (run_figures["redis_cpu_us"] if name == "redis" else 0.0)

    print()
    print(f"Rate limiter cost on GET {LIST} ({PROJECTS} rows, bearer token): wrk "
          f"-t{args.threads} -c{args.connections} -d{args.duration}s on {HOST}, "
          f"{os.cpu_count()} cores shared, interleaved{' (rotated)' if args.rotate else ''}, "
          f"median of {args.rounds} round(s), "
          f"RUST_LOG={args.rust_log}, nice {args.nice}, quotas {UNLIMITED}, Redis {redis_version}")
    print("ratio = median / median of 'limiter off'; paired = median over rounds of the "
          "ratio to 'limiter off' in the same round")
    print(f"{'limiter':28} {'req/s':>6} {'ratio':>6} {'paired':>6}   {'p99':>7} {'ratio':>6} "
          f"{'paired':>6}   {'p50':>6}   {'CPU us/req app + redis':>22} {'ratio':>6} {'paired':>6}")
    summary = {"configs": {}, "checks": checks, "setup": {
        "threads": args.threads, "connections": args.connections, "duration_s": args.duration,
        "rounds": args.rounds, "rotate": args.rotate, "rust_log": args.rust_log,
        "nice": args.nice, "quota": UNLIMITED,
        "redis_version": redis_version, "redis_key_prefix": key_prefix, "app_env": args.app_env,
        "build_s": build_s}}
    off_rps, off_p99 = median("off", "rps"), median("off", "p99_ms")
    off_cpu = median("off", "cpu_us")
    for name, label, _, _ in CONFIGS:
        rps, p99, p50 = median(name, "rps"), median(name, "p99_ms"), median(name, "p50_ms")
        cpu, redis_us = median(name, "cpu_us"), median(name, "redis_cpu_us")
        total = statistics.median(cpu_total(r, name) for r in results[name])
        cpu_paired = statistics.median(cpu_total(r, name) / o["cpu_us"]
                                       for r, o in zip(results[name], results["off"]))
        cpu_text = f"{cpu:.1f} + {redis_us:.1f}" if name == "redis" else f"{cpu:.1f}"
        print(f"{label:28} {rps:6.0f} {rps / off_rps:6.2f} {paired(name, 'rps'):6.2f}   "
              f"{p99:5.2f}ms {p99 / off_p99:6.2f} {paired(name, 'p99_ms'):6.2f}   {p50:4.2f}ms   "
              f"{cpu_text:>22} {total / off_cpu:6.2f} {cpu_paired:6.2f}")
        summary["configs"][name] = {"label": label, "runs": results[name], "rps": rps,
                                    "p99_ms": p99, "p50_ms": p50, "rps_ratio": rps / off_rps,
                                    "rps_ratio_paired": paired(name, "rps"),
                                    "p99_ratio": p99 / off_p99,
                                    "p99_ratio_paired": paired(name, "p99_ms"),
                                    "cpu_us_app": cpu,
                                    "cpu_us_redis": redis_us if name == "redis" else None,
                                    "cpu_ratio": total / off_cpu, "cpu_ratio_paired": cpu_paired}
    redis_runs = results["redis"]
    calls = sum(r["redis_script_calls"] for r in redis_runs)
    served = sum(r["rps"] * args.duration for r in redis_runs)
    print(f"Redis check: /health/ready before the load: {json.dumps(checks['redis']['ready'])}; "
          f"after: {json.dumps(checks['redis']['ready_after'])}; {calls} EVALSHA/EVAL calls in "
          f"Redis during the Redis runs for ~{served:.0f} requests served; no outage logged "
          f"(key prefix {key_prefix})")
    print("CPU of the memory/off rows is the app's; of the Redis row app + redis-server "
          "(INFO cpu, all its clients). The off instance sends no RateLimit-* headers, the "
          "others do; no request was refused.")
    others = max(r["others_cpu"] for rs in results.values() for r in rs)
    if others > 0.1:
        print(f"WARNING: other processes used up to {others:.2f} cores during a measurement: "
              "the figures are noisy (see the per-run lines above)")
    steal = max(r["steal_cpu"] for rs in results.values() for r in rs)
    if steal > 0.05:
        print(f"WARNING: the hypervisor took up to {steal:.2f} cores (steal time) during a "
              "measurement: the figures are noisy (see the per-run lines above)")
    spread = {name: max(r["rps"] for r in rs) / min(r["rps"] for r in rs)
              for name, rs in results.items()}
    if max(spread.values()) > 1.15:
        print(f"WARNING: req/s of one configuration varied by up to "
              f"{(max(spread.values()) - 1) * 100:.0f}% between rounds: trust the paired "
              "ratios more than the medians, or run more rounds")
    if args.json:
        with open(args.json, "w") as out:
            json.dump(summary, out, indent=2)


if __name__ == "__main__":
    main()

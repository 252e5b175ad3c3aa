#!/usr/bin/env python3
"""Streamed upload of a large file through the files API: throughput, and peak RSS of the
app while it streams (target: under 64 MiB whatever the file size).

Generates two projects (`--storage local` and `--storage s3`, SQLite), builds them in
release mode (one CARGO_TARGET_DIR), starts each as deployed (APP_ENV=production, migrated
with the `migrate` subcommand), registers a user and sends one `POST /api/v1/app/files/upload`
of --size bytes (a PNG signature, then pseudo-random bytes) as a streamed multipart body
with a Content-Length. While it uploads, the app's VmRSS is sampled every 20 ms; printed:
seconds, MiB/s, idle RSS before the upload, peak sampled RSS during it, and VmHWM.

`s3` needs an S3-compatible server: the S3_TEST_* variables of .ci/services/storage.sh
(s3s-fs); without S3_TEST_ENDPOINT only `local` is measured. Not a test: it prints figures.

Usage: python3 bench/storage.py [--size BYTES] [--only local|s3]
Environment: OMNISTACK_TEMPLATES, CARGO_TARGET_DIR, BENCH_WORK as in serve.py.
"""
import argparse
import http.client
import json
import os
import secrets
import shutil
import subprocess
import sys
import threading
import time
import tomllib

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from serve import (HOST, UNLIMITED_QUOTAS, Server, build_cli, cargo_build,  # noqa: E402
                   fresh_database, free_port, generate_project, log, mib,
                   register_and_login, rss_kib, run, server_env, wait_ready)

GIB = 1024 ** 3
BOUNDARY = "omnistack-bench-boundary"
CHUNK = 1024 * 1024
RSS_TARGET_MIB = 64


def multipart_upload(port, token, size):
    """Streams one `file` part of `size` bytes; returns (status, body, seconds)."""
    head = (f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; "
            f"filename=\"big.png\"\r\nContent-Type: image/png\r\n\r\n").encode()
    tail = f"\r\n--{BOUNDARY}--\r\n".encode()
    # One random MiB repeated: the app hashes and stores every byte, nothing compresses it.
    block = os.urandom(CHUNK)
    conn = http.client.HTTPConnection(HOST, port, timeout=900)
    start = time.monotonic()
    conn.putrequest("POST", "/api/v1/app/files/upload")
    conn.putheader("Authorization", f"Bearer {token}")
    conn.putheader("Content-Type", f"multipart/form-data; boundary={BOUNDARY}")
    conn.putheader("Content-Length", str(len(head) + size + len(tail)))
    conn.endheaders()
    conn.send(head)
    signature = b"\x89PNG\r\n\x1a\n"
    conn.send(signature)
    left = size - len(signature)
    while left > 0:
        piece = block if left >= CHUNK else block[:left]
        conn.send(piece)
        left -= len(piece)
    conn.send(tail)
    response = conn.getresponse()
    body = response.read()
    elapsed = time.monotonic() - start
    conn.close()
    return response.status, body, elapsed


class RssSampler(threading.Thread):
    """Samples VmRSS of `pid` until stopped; keeps the highest value."""

    def __init__(self, pid):
        super().__init__(daemon=True)
        self.pid, self.peak_kib, self.running = pid, 0, True

    def run(self):
        while self.running:
            try:
                self.peak_kib = max(self.peak_kib, rss_kib(self.pid)[0])
            except OSError:
                return
            time.sleep(0.02)


def store_env(store, work):
    """The app settings of `store`, or None when it cannot run here."""
    if store == "local":
        directory = os.path.join(work, "uploads")
        shutil.rmtree(directory, ignore_errors=True)
        return {"LOCAL_STORAGE_DIR": directory, "STORAGE_SIGNING_KEY": secrets.token_hex(32)}
    if not os.environ.get("S3_TEST_ENDPOINT"):
        log("S3_TEST_ENDPOINT is not set (source .ci/services/storage.sh): skipping s3")
        return None
    return {"S3_BUCKET": os.environ["S3_TEST_BUCKET"],
            "AWS_ACCESS_KEY_ID": os.environ["S3_TEST_ACCESS_KEY_ID"],
            "AWS_SECRET_ACCESS_KEY": os.environ["S3_TEST_SECRET_ACCESS_KEY"],
            "AWS_ENDPOINT_URL": os.environ["S3_TEST_ENDPOINT"],
            "S3_FORCE_PATH_STYLE": "true"}


def measure(cli, work, target, store, size):
    settings = store_env(store, work)
    if settings is None:
        return None
    project = generate_project(cli, work, f"storagebench-{store}", ["--storage", store])
    with open(os.path.join(project, "Cargo.toml"), "rb") as manifest:
        package = tomllib.load(manifest)["package"]["name"]
    cargo_build(project, target)
    app_bin = os.path.join(target, "release", package)

    db_path = os.path.join(work, f"storage-{store}.db")
    fresh_database(db_path)
    port = free_port()
    env = dict(server_env(db_path, secrets.token_hex(32), drop=("RATE_LIMIT_", "STORAGE_",
                                                                  "LOCAL_STORAGE_", "AWS_",
                                                                  "S3_")),
               APP_ENV="production", HOST=HOST, PORT=str(port), RUST_LOG="warn",
               ACCESS_TOKEN_TTL_SECS="3600", STORAGE_MAX_FILE_BYTES=str(size + CHUNK),
               STORAGE_USER_QUOTA_BYTES=str(4 * size), **UNLIMITED_QUOTAS, **settings)
    run([app_bin, "migrate"], env=env, stdout=subprocess.DEVNULL)
    server = Server(store, [app_bin, "serve"], env, os.path.join(work, f"storage-{store}.log"))
    try:
        url = f"http://{HOST}:{port}"
        wait_ready(url + "/health/live", server.process, store)
        token = register_and_login(url)
        idle_kib = rss_kib(server.process.pid)[0]
        sampler = RssSampler(server.process.pid)
        sampler.start()
        status, body, seconds = multipart_upload(port, token, size)
        sampler.running = False
        sampler.join()
        hwm_kib = rss_kib(server.process.pid)[1]
        if status != 201:
            sys.exit(f"FAILED: {store} upload answered {status}: {body[:300]!r}")
        stored = json.loads(body)
        assert stored["size_bytes"] == size, stored
        return {"store": store, "seconds": seconds, "mib_s": size / CHUNK / seconds,
                "idle": mib(idle_kib), "peak": mib(sampler.peak_kib), "hwm": mib(hwm_kib)}
    finally:
        server.stop()
        if store == "local":
            shutil.rmtree(settings["LOCAL_STORAGE_DIR"], ignore_errors=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=GIB, help="bytes uploaded (1 GiB)")
    parser.add_argument("--only", choices=["local", "s3"], help="measure one store only")
    args = parser.parse_args()

    work = os.path.abspath(os.environ.get("BENCH_WORK", "/tmp/omnistack-bench"))
    os.makedirs(work, exist_ok=True)
    target = os.path.abspath(os.environ.get("CARGO_TARGET_DIR", os.path.join(work, "target")))
    cli = build_cli()
    stores = [args.only] if args.only else ["local", "s3"]
    results = [r for r in (measure(cli, work, target, s, args.size) for s in stores) if r]

    print(f"\nstreamed upload of {args.size / GIB:.2f} GiB through POST /api/v1/app/files/upload")
    print(f"{'store':<8}{'seconds':>9}{'MiB/s':>9}{'idle RSS':>11}{'peak RSS':>11}{'VmHWM':>9}")
    for r in results:
        print(f"{r['store']:<8}{r['seconds']:>9.1f}{r['mib_s']:>9.1f}{r['idle']:>9.1f}Mi"
              f"{r['peak']:>9.1f}Mi{r['hwm']:>7.1f}Mi")
    over = [r["store"] for r in results if r["peak"] >= RSS_TARGET_MIB]
    print(f"target: peak RSS under {RSS_TARGET_MIB} MiB: "
          + (f"MISSED by {', '.join(over)}" if over else "met"))


if __name__ == "__main__":
    main()

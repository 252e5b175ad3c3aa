#!/usr/bin/env python3
"""Times `omnistack new` (render + staged write of the minimal project, no git/fmt).

Prints the median of several runs next to two baselines measured in the same run: starting
the binary (`omnistack --version`) and copying the finished project with `cp -r`, so the
figure reads as "how much more than a process start / a plain copy".

Usage: python3 bench/new.py [runs]   (builds the release binary first)
"""
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RUNS = int(sys.argv[1]) if len(sys.argv) > 1 else 30


def timed(cmd, cwd):
    start = time.perf_counter()
    subprocess.run(cmd, cwd=cwd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def median_ms(samples):
    return statistics.median(samples) * 1000


def main():
    subprocess.run(["cargo", "build", "--release", "--quiet"], cwd=ROOT, check=True)
    binary = os.path.join(ROOT, "target", "release", "omnistack")
    env_clean = {k: v for k, v in os.environ.items() if k != "OMNISTACK_TEMPLATES"}
    os.environ.clear()
    os.environ.update(env_clean)
    with tempfile.TemporaryDirectory() as work:
        new_cmd = [binary, "new", "app", "--yes", "--no-git", "--no-fmt", "--force", "--output", "app"]
        subprocess.run(new_cmd, cwd=work, check=True, stdout=subprocess.DEVNULL)
        files = sum(len(f) for _, _, f in os.walk(os.path.join(work, "app")))
        start_s, new_s, copy_s = [], [], []
        for i in range(RUNS):
            start_s.append(timed([binary, "--version"], work))
            new_s.append(timed(new_cmd, work))
            shutil.rmtree(os.path.join(work, "copy"), ignore_errors=True)
            copy_s.append(timed(["cp", "-r", "app", "copy"], work))
        new_ms, start_ms, copy_ms = median_ms(new_s), median_ms(start_s), median_ms(copy_s)
        print(f"omnistack new (minimal, {files} files, render + staged write), median of {RUNS}: {new_ms:.1f} ms")
        print(f"baseline: process start (omnistack --version): {start_ms:.1f} ms  -> new is {new_ms / start_ms:.1f}x")
        print(f"baseline: cp -r of the same project:           {copy_ms:.1f} ms  -> new is {new_ms / copy_ms:.1f}x")
        print(f"target: well under 100 ms -> {'met' if new_ms < 100 else 'NOT met'}")


if __name__ == "__main__":
    main()

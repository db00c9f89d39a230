#!/usr/bin/env python3
"""Cold start of a one-shot `llm cost --jsonl` process: wall time and peak RSS of the release binary answering
one line, run N times (30 by default), printed as median / min / max.

    cargo build --release -p llm-cli --bin llm
    python3 scripts/bench/cold_start.py [--runs 30] [BINARY ...]

With several binaries (for example a copy built from the commit before a change, and the current one) the runs
are interleaved, so both are measured in one run under the same machine load. Wall time is measured around
`subprocess.run` (fork, exec, load, parse the embedded catalog, price one line, exit); peak RSS is the child's
`ru_maxrss` from `os.wait4`. `llm --version` is timed too, as the floor of starting the process at all.
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

LINE = (
    '{"model": "gpt-4o", "usage": {"prompt_tokens": 2000, "completion_tokens": 300, "cached_tokens": 1200}, '
    '"billing_time": "2025-06-04T08:00:00Z"}\n'
)


def run_rusage(argv):
    """One run with its own rusage (a fork/exec/wait4, so the peak RSS is this child's alone)."""
    start = time.perf_counter()
    pid = os.fork()
    if pid == 0:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 1)
        os.dup2(devnull, 2)
        try:
            os.execv(argv[0], argv)
        finally:
            os._exit(127)
    _, status, usage = os.wait4(pid, 0)
    wall = (time.perf_counter() - start) * 1000
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        sys.exit(f"{' '.join(argv)} exited {code}")
    return wall, usage.ru_maxrss / 1024


def summary(values):
    return f"median {statistics.median(values):6.2f}  min {min(values):6.2f}  max {max(values):6.2f}"


def main():
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    target = os.environ.get("CARGO_TARGET_DIR", os.path.join(root, "target"))
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("binaries", nargs="*", default=[os.path.join(target, "release", "llm")])
    args = parser.parse_args()

    with tempfile.NamedTemporaryFile("w", suffix=".jsonl", delete=False) as f:
        f.write(LINE)
        jsonl = f.name
    try:
        for binary in args.binaries:
            # the answer is checked once, so a broken binary cannot produce a fast figure
            out = subprocess.run([binary, "cost", "--jsonl", jsonl], capture_output=True, check=True).stdout
            if b'"status":"priced"' not in out:
                sys.exit(f"{binary}: unexpected answer {out!r}")
            run_rusage([binary, "cost", "--jsonl", jsonl])  # warm the page cache
        results = {b: {"cost": [], "rss": [], "version": []} for b in args.binaries}
        for _ in range(args.runs):
            for binary in args.binaries:
                wall, rss = run_rusage([binary, "cost", "--jsonl", jsonl])
                results[binary]["cost"].append(wall)
                results[binary]["rss"].append(rss)
                results[binary]["version"].append(run_rusage([binary, "--version"])[0])
        for binary, r in results.items():
            print(binary)
            print(f"  llm cost --jsonl one.jsonl  wall ms  {summary(r['cost'])}  ({args.runs} runs)")
            print(f"  llm --version               wall ms  {summary(r['version'])}")
            print(f"  max RSS MB                  {max(r['rss']):.1f}")
    finally:
        os.unlink(jsonl)


if __name__ == "__main__":
    main()

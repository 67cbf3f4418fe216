"""Benchmark: `driftmgr state list --format json` on a 100k-instance state vs a bare orjson load.

Usage: python benchmarks/state_list.py [--instances 100000] [--rounds 3] [--keep FILE]

Builds a realistic ~125-150 MB state (benchmarks/make_big_state.py), then runs, alternating in the same
run, `python -c "orjson.loads(...)"` (the baseline: what any tool that loads the whole file pays) and
`driftmgr state list --state F --format json`. Prints wall time and peak RSS (from wait4, so each
process's own peak, including any helper process it forks) for every round, the medians, and the
ratios against the baseline. Targets (issue 2): time ≤ 0.6×, peak memory ≤ 0.1×.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def run(argv: list[str]) -> tuple[float, int]:
    """Wall seconds and peak RSS in bytes of one command (stdout discarded)."""
    start = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        err = proc.stderr.read().decode() if proc.stderr else ""
        raise SystemExit(f"command failed ({code}): {' '.join(argv)}\n{err}")
    return elapsed, usage.ru_maxrss * 1024


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--instances", type=int, default=100_000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--keep", help="write the generated state here and keep it")
    args = ap.parse_args()

    driftmgr = Path(sys.executable).with_name("driftmgr")
    if not driftmgr.exists():
        raise SystemExit(f"{driftmgr} not found: run scripts/setup first and use .venv/bin/python")
    with tempfile.TemporaryDirectory() as tmp:
        state = Path(args.keep) if args.keep else Path(tmp) / "big.tfstate"
        t0 = time.perf_counter()
        # Built in another process: Linux carries a process's peak RSS across fork and exec, so this
        # process must stay small for the children's wait4 figures to be their own.
        subprocess.run(
            [sys.executable, str(HERE / "make_big_state.py"), str(state), "--instances", str(args.instances)],
            check=True,
        )
        size = state.stat().st_size
        print(
            f"state: {args.instances} instances, {size / 1e6:.1f} MB, "
            f"built in {time.perf_counter() - t0:.1f}s"
        )
        bare = [sys.executable, "-c", f"import orjson; orjson.loads(open({str(state)!r}, 'rb').read())"]
        ours = [str(driftmgr), "state", "list", "--state", str(state), "--format", "json"]
        rows: dict[str, list[tuple[float, int]]] = {"bare orjson.loads": [], "driftmgr state list": []}
        run(ours)  # warm the page cache and imports once
        for i in range(args.rounds):
            for name, argv in (("bare orjson.loads", bare), ("driftmgr state list", ours)):
                t, rss = run(argv)
                rows[name].append((t, rss))
                print(f"round {i + 1}: {name:22s} {t:6.2f} s  peak {rss / 2**20:7.1f} MiB")
        med = {
            k: (statistics.median(t for t, _ in v), statistics.median(r for _, r in v))
            for k, v in rows.items()
        }
        (bt, br), (ot, orss) = med["bare orjson.loads"], med["driftmgr state list"]
        print()
        print(f"median bare orjson.loads:   {bt:6.2f} s  peak {br / 2**20:7.1f} MiB")
        print(f"median driftmgr state list: {ot:6.2f} s  peak {orss / 2**20:7.1f} MiB")
        print(f"ratio time:   {ot / bt:.2f}x  (target <= 0.60x)")
        print(f"ratio memory: {orss / br:.3f}x (target <= 0.10x)")
        print(f"cpus: {os.cpu_count()}  load average: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()

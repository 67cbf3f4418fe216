"""Benchmark (issue 4): the scheduler's overhead per tick and per due schedule.

Usage: python benchmarks/scheduler.py [--schedules 1000] [--rounds 7] [--pg postgresql://postgres@127.0.0.1/postgres]

A migrated database (a temporary SQLite file; with --pg also a temporary schema on that PostgreSQL
server, dropped at the end) holds N schedules (`*/15 * * * *`), all due at the same slot. Timed,
alternating, in each round (the due slots are reset, untimed, before every due measurement):

- due, baseline "select": a bare `SELECT id, next_run_at FROM schedules WHERE enabled AND
  next_run_at <= now` — the least any scheduler must do to find its work;
- due, baseline "select+set-update": that SELECT, then ONE set-based `UPDATE schedules SET
  next_run_at = :next WHERE next_run_at <= :now` (valid only because every schedule here has the
  same cron): the floor for "find the due rows and move them on", with no claim, no submission,
  no job id;
- due, baseline "select+row-update": that SELECT, then one transaction with one unconditional
  `UPDATE … SET next_run_at` per row (the naive way, each row having its own cron);
- due, `Scheduler.tick(now)`: find, claim each row with a conditional UPDATE, submit to a no-op
  callable (so only the scheduler is measured, not a job queue), record the job id;
- idle: the same SELECT and `tick` when nothing is due (what every tick costs most of the time).

Prints every round, the medians, time per due schedule and the ratios against the baselines, with
`os.cpu_count()` and the load average.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from sqlalchemy import create_engine, select, text, update  # noqa: E402

from driftmgr.platform.db.engine import Database  # noqa: E402
from driftmgr.platform.db.models import Schedule  # noqa: E402
from driftmgr.platform.scheduler import Scheduler, add_schedule  # noqa: E402

T0 = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
SLOT = T0 + timedelta(minutes=15)
NOW = SLOT + timedelta(minutes=1)


def seed(db: Database, n: int) -> None:
    for i in range(n):
        add_schedule(
            db, f"s{i:05d}", "*/15 * * * *", [f"s3://bench/{i}.tfstate"], {"provider": "aws"}, now=T0
        )


def reset(db: Database) -> None:
    with db.session() as s:
        s.execute(update(Schedule).values(next_run_at=SLOT, last_run_at=None, last_job_id=None))


def bare_select(db: Database, now: datetime) -> int:
    with db.session() as s:
        rows = s.execute(
            select(Schedule.id, Schedule.next_run_at).where(
                Schedule.enabled.is_(True), Schedule.next_run_at <= now
            )
        ).all()
    return len(rows)


def select_set_update(db: Database, now: datetime) -> int:
    n = bare_select(db, now)
    with db.session() as s:
        s.execute(
            update(Schedule)
            .where(Schedule.enabled.is_(True), Schedule.next_run_at <= now)
            .values(next_run_at=now + timedelta(minutes=14), last_run_at=now)
        )
    return n


def select_update(db: Database, now: datetime) -> int:
    with db.session() as s:
        rows = s.execute(
            select(Schedule.id, Schedule.next_run_at).where(
                Schedule.enabled.is_(True), Schedule.next_run_at <= now
            )
        ).all()
    later = now + timedelta(minutes=14)
    with db.session() as s:
        for row in rows:
            s.execute(update(Schedule).where(Schedule.id == row[0]).values(next_run_at=later))
    return len(rows)


def timed(fn: Callable[[], int]) -> tuple[float, int]:
    start = time.perf_counter()
    n = fn()
    return time.perf_counter() - start, n


def bench(label: str, db: Database, n: int, rounds: int) -> dict[str, float]:
    print(f"\n== {label}: {n} schedules, {rounds} rounds")
    seed(db, n)
    calls = [0]

    def submit(kind: str, payload: dict[str, Any]) -> str:
        calls[0] += 1
        return "0" * 32

    sched = Scheduler(db, submit)
    results: dict[str, list[float]] = {
        k: []
        for k in ("select", "select+set-update", "select+row-update", "tick", "idle select", "idle tick")
    }
    for r in range(rounds):
        reset(db)
        t_sel, due = timed(lambda: bare_select(db, NOW))
        assert due == n, due
        t_set, moved = timed(lambda: select_set_update(db, NOW))
        assert moved == n
        reset(db)
        t_row, moved = timed(lambda: select_update(db, NOW))
        assert moved == n
        reset(db)
        calls[0] = 0
        t_tick, fired = timed(lambda: len(sched.tick(NOW)))
        assert fired == n and calls[0] == n, (fired, calls[0])
        t_isel, none = timed(lambda: bare_select(db, NOW))
        assert none == 0
        t_itick, none = timed(lambda: len(sched.tick(NOW)))
        assert none == 0
        for k, v in zip(results, (t_sel, t_set, t_row, t_tick, t_isel, t_itick), strict=True):
            results[k].append(v * 1000)
        print(
            f"round {r + 1}: select {t_sel * 1e3:7.1f} ms  select+set-update {t_set * 1e3:7.1f} ms  "
            f"select+row-update {t_row * 1e3:8.1f} ms  tick {t_tick * 1e3:7.1f} ms  | "
            f"idle: select {t_isel * 1e3:6.2f} ms  tick {t_itick * 1e3:6.2f} ms"
        )
    med = {k: statistics.median(v) for k, v in results.items()}
    print("medians (ms): " + ", ".join(f"{k} {v:.2f}" for k, v in med.items()))
    print(
        "per due schedule (µs): "
        + ", ".join(
            f"{k} {med[k] / n * 1000:.1f}"
            for k in ("select", "select+set-update", "select+row-update", "tick")
        )
    )
    print(
        f"ratios: tick / select = {med['tick'] / med['select']:.1f}x, "
        f"tick / select+set-update = {med['tick'] / med['select+set-update']:.1f}x, "
        f"tick / select+row-update = {med['tick'] / med['select+row-update']:.2f}x, "
        f"idle tick / idle select = {med['idle tick'] / med['idle select']:.2f}x"
    )
    return med


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--schedules", type=int, default=1000)
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--pg", help="also run on this PostgreSQL server (a temporary schema is created)")
    args = ap.parse_args()
    print(f"cpu_count={os.cpu_count()} loadavg={os.getloadavg()}")
    with tempfile.TemporaryDirectory() as tmp:
        db = Database(f"sqlite:///{Path(tmp) / 'bench.db'}")
        db.migrate()
        try:
            bench("SQLite (WAL)", db, args.schedules, args.rounds)
        finally:
            db.dispose()
    if args.pg:
        from urllib.parse import quote

        base = args.pg.replace("postgresql://", "postgresql+psycopg://", 1)
        schema = f"bench_{uuid.uuid4().hex[:10]}"
        admin = create_engine(base)
        with admin.begin() as c:
            c.execute(text(f'CREATE SCHEMA "{schema}"'))
        sep = "&" if "?" in base else "?"
        db = Database(f"{base}{sep}options={quote(f'-csearch_path={schema}')}")
        try:
            db.migrate()
            bench("PostgreSQL", db, args.schedules, args.rounds)
        finally:
            db.dispose()
            with admin.begin() as c:
                c.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
            admin.dispose()
    print(f"\nloadavg at the end={os.getloadavg()}")


if __name__ == "__main__":
    main()

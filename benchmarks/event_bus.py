"""Event-bus overhead per event: publishing to 100 subscribers (issue 4 target: ≤ 1 ms in memory).

    .venv/bin/python benchmarks/event_bus.py [--subscribers 100] [--events 500] [--rounds 5]
        [--redis-url redis://127.0.0.1:6379/15] [--database-url URL]

Each round runs, alternating:
- baseline: the same 100 handlers called in a plain Python loop (what a synchronous bus would cost);
- memory bus, paced: publish one event, wait until all subscribers have it, repeat. Measures the
  publisher's wall time per publish and the time until the last subscriber got the event;
- memory bus, burst: publish all events back to back (throughput; latency under a backlog);
- Redis bus (with --redis-url, default the local server, db 15; `--redis-url ''` to skip): the
  subscribers live on a second bus instance, i.e. they receive through Redis after the publisher
  stored the event, as another process would.

The database is a fresh SQLite file (or --database-url); every event is persisted, off the
publisher's thread. Handlers append (sequence, time) to a list of their own: no locks in the path.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

from driftmgr.platform.db.engine import Database
from driftmgr.platform.events import Event, MemoryEventBus

Clock = Callable[[], float]
now = time.perf_counter


def make_handlers(n: int) -> tuple[list[list[tuple[int, float]]], list[Callable[[Event], None]]]:
    logs: list[list[tuple[int, float]]] = [[] for _ in range(n)]

    def handler_for(log: list[tuple[int, float]]) -> Callable[[Event], None]:
        def handler(event: Event) -> None:
            log.append((event.payload["seq"], now()))

        return handler

    return logs, [handler_for(log) for log in logs]


def baseline(n_subs: int, n_events: int) -> dict[str, float]:
    _logs, handlers = make_handlers(n_subs)
    per_publish = []
    for seq in range(n_events):
        event = Event(type="drift.drift_found", payload={"seq": seq})
        t0 = now()
        for h in handlers:
            h(event)
        per_publish.append(now() - t0)
    return {
        "publish_ms": statistics.median(per_publish) * 1e3,
        "all_ms": statistics.median(per_publish) * 1e3,
    }


def _wait_all(logs: list[list[tuple[int, float]]], count: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while any(len(log) < count for log in logs):
        if time.monotonic() > deadline:
            raise SystemExit(f"timeout: subscribers got {[len(x) for x in logs][:5]}… of {count}")
        time.sleep(0.0002)  # a short nap, so this waiting loop does not compete for the GIL


def run_bus(
    publisher: MemoryEventBus, receiver: MemoryEventBus, n_subs: int, n_events: int, *, paced: bool
) -> dict[str, float]:
    logs, handlers = make_handlers(n_subs)
    subs = [receiver.subscribe("drift.*", h) for h in handlers]
    starts: list[float] = []
    ends: list[float] = []
    try:
        # warm-up (type cache, threads started)
        publisher.publish("drift.drift_found", {"seq": -1})
        _wait_all(logs, 1)
        for log in logs:
            log.clear()
        for seq in range(n_events):
            t0 = now()
            publisher.publish("drift.drift_found", {"seq": seq})
            t1 = now()
            starts.append(t0)
            ends.append(t1)
            if paced:
                _wait_all(logs, seq + 1)
        _wait_all(logs, n_events)
    finally:
        for s in subs:
            s.cancel()
    last = [max(log[seq][1] for log in logs) for seq in range(n_events)]
    assert all(log[i][0] == i for log in logs for i in range(n_events)), "out of order delivery"
    publish = [e - s for s, e in zip(starts, ends, strict=True)]
    latency = [la - s for s, la in zip(starts, last, strict=True)]
    total = max(last) - starts[0]
    return {
        "publish_ms": statistics.median(publish) * 1e3,
        "publish_p99_ms": sorted(publish)[int(len(publish) * 0.99) - 1] * 1e3,
        "all_ms": statistics.median(latency) * 1e3,
        "all_p99_ms": sorted(latency)[int(len(latency) * 0.99) - 1] * 1e3,
        "events_per_s": n_events / total,
    }


def fmt(name: str, r: dict[str, float]) -> str:
    parts = [f"publish {r['publish_ms']:.4f} ms"]
    if "publish_p99_ms" in r:
        parts.append(f"(p99 {r['publish_p99_ms']:.3f})")
    parts.append(f"| all {r['all_ms']:.3f} ms")
    if "all_p99_ms" in r:
        parts.append(f"(p99 {r['all_p99_ms']:.3f})")
    if "events_per_s" in r:
        parts.append(f"| {r['events_per_s']:.0f} events/s")
    return f"  {name:<22} " + " ".join(parts)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--subscribers", type=int, default=100)
    ap.add_argument("--events", type=int, default=500)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--redis-url", default="redis://127.0.0.1:6379/15")
    ap.add_argument("--database-url", default="")
    args = ap.parse_args()

    print(f"cpu_count={os.cpu_count()} loadavg={os.getloadavg()} python={sys.version.split()[0]}")
    print(f"subscribers={args.subscribers} events/round={args.events} rounds={args.rounds}")
    tmp = tempfile.mkdtemp(prefix="driftmgr-bench-")
    db = Database(args.database_url or f"sqlite:///{tmp}/bench.db")
    db.migrate()
    print(f"database={db.redacted_url.split('?')[0]} ({db.dialect})")

    memory = MemoryEventBus(db)
    redis_pair: tuple[MemoryEventBus, MemoryEventBus] | None = None
    if args.redis_url:
        from driftmgr.platform.events.redis_bus import RedisEventBus

        redis_pair = (RedisEventBus(db, args.redis_url), RedisEventBus(db, args.redis_url))

    results: dict[str, list[dict[str, float]]] = {}
    for rnd in range(1, args.rounds + 1):
        print(f"round {rnd}")
        n, e = args.subscribers, args.events
        runs: list[tuple[str, Callable[[], dict[str, float]]]] = [
            ("baseline (loop)", partial(baseline, n, e)),
            ("memory, paced", partial(run_bus, memory, memory, n, e, paced=True)),
            ("memory, burst", partial(run_bus, memory, memory, n, e, paced=False)),
        ]
        if redis_pair is not None:
            pub, sub = redis_pair
            runs += [
                ("redis remote, paced", partial(run_bus, pub, sub, n, e, paced=True)),
                ("redis remote, burst", partial(run_bus, pub, sub, n, e, paced=False)),
            ]
        for name, fn in runs:
            r = fn()
            results.setdefault(name, []).append(r)
            print(fmt(name, r))

    print("medians over rounds")
    med: dict[str, dict[str, float]] = {}
    for name, rs in results.items():
        med[name] = {k: statistics.median(r[k] for r in rs) for k in rs[0]}
        print(fmt(name, med[name]))
    base = med["baseline (loop)"]["publish_ms"]
    paced = med["memory, paced"]
    print(
        f"memory bus vs plain loop: publisher {paced['publish_ms'] / base:.2f}x, "
        f"until all {args.subscribers} have it {paced['all_ms'] / base:.2f}x "
        f"(target: publish to 100 subscribers <= 1 ms: "
        f"{'met' if paced['publish_ms'] <= 1.0 else 'NOT met'})"
    )
    memory.close()
    if redis_pair is not None:
        for b in redis_pair:
            b.close()
    print(f"events stored: {len(memory.query(limit=10**7))}")
    db.dispose()


if __name__ == "__main__":
    main()

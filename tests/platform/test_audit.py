"""The hash-chained audit log on SQLite and PostgreSQL: appends, tampering, concurrency, purge, export."""

from __future__ import annotations

import io
import itertools
import json
import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from driftmgr.errors import UsageError
from driftmgr.platform import audit
from driftmgr.platform.db.engine import Database


def _fill(
    db: Database, n: int, *, start: datetime | None = None, step: timedelta = timedelta(days=1)
) -> None:
    for i in range(n):
        with db.session() as s:
            audit.append(
                s,
                user="alice",
                action="source.add",
                resource=f"source:s{i}",
                changes={"n": i, "at": datetime(2026, 1, 1, tzinfo=UTC)},
                now=(start + step * i) if start else None,
            )


def _messages(db: Database) -> list[str]:
    return [p.message for p in audit.verify(db).problems]


def _sql(db: Database, stmt: str) -> None:
    with db.engine.begin() as c:
        c.execute(text(stmt))


def test_records_link_into_a_chain(database: Database) -> None:
    _fill(database, 4)
    with database.session() as s:
        recs = audit.query_records(s)
        assert [r.id for r in recs] == [1, 2, 3, 4]
        assert recs[0].prev_hash == audit.GENESIS
        assert all(b.prev_hash == a.hash for a, b in itertools.pairwise(recs))
        assert recs[0].changes == {"n": 0, "at": "2026-01-01 00:00:00+00:00"}  # stored as JSON, as hashed
        last = recs[-1].hash
    result = audit.verify(database)
    assert result.ok and result.checked == 4 and result.head_hash == last


def test_empty_log_verifies(database: Database) -> None:
    result = audit.verify(database)
    assert result.ok and result.checked == 0 and result.head_hash == audit.GENESIS


def test_an_edited_record_is_named(database: Database) -> None:
    _fill(database, 5)
    _sql(database, "UPDATE audit_records SET result = 'failure' WHERE id = 3")
    assert _messages(database) == ["record 3 was edited"]


def test_each_field_is_covered_by_the_hash(database: Database) -> None:
    _fill(database, 2)
    edits = {
        "timestamp": "timestamp = timestamp + INTERVAL '1 second'"
        if database.dialect == "postgresql"
        else "timestamp = '2020-01-01 00:00:00.000000'",
        "user": "\"user\" = 'mallory'",
        "action": "action = 'x'",
        "resource": "resource = NULL",
        "ip": "ip = '6.6.6.6'",
        "session": "session = 's'",
        "changes": "changes = NULL",
        "extra": "extra = '{\"a\": 1}'",
    }
    for field, assignment in edits.items():
        _sql(database, f"UPDATE audit_records SET {assignment} WHERE id = 1")
        assert _messages(database) == ["record 1 was edited"], field
        # the original cannot be restored without its values: start a fresh chain for the next field
        _sql(database, "DELETE FROM audit_records")
        _sql(database, f"UPDATE audit_chain SET last_id = 0, last_hash = '{audit.GENESIS}'")
        _fill(database, 2)
        assert audit.verify(database).ok


def test_an_edited_and_rehashed_record_breaks_the_next_link(database: Database) -> None:
    _fill(database, 4)
    with database.session() as s:
        rec = audit.query_records(s)[1]
        rec.result = "denied"
        rec.hash = audit.chain_hash(rec.prev_hash, audit.record_fields(rec))
    assert _messages(database) == [
        "record 2 was edited and rehashed, or record 3's link was rewritten (chain breaks between 2 and 3)"
    ]


def test_deleted_records_are_named(database: Database) -> None:
    _fill(database, 8)
    _sql(database, "DELETE FROM audit_records WHERE id = 4")
    _sql(database, "DELETE FROM audit_records WHERE id IN (6, 7)")
    assert _messages(database) == [
        "record 4 was deleted (chain breaks between 3 and 5)",
        "records 6-7 were deleted (chain breaks between 5 and 8)",
    ]


def test_deleting_the_first_or_the_newest_records_is_seen(database: Database) -> None:
    _fill(database, 6)
    _sql(database, "DELETE FROM audit_records WHERE id = 1")
    _sql(database, "DELETE FROM audit_records WHERE id >= 5")
    assert _messages(database) == [
        "record 1 was deleted (the chain starts at 2)",
        "records 5-6 were deleted (the chain ends at 4, its head at 6)",
    ]


def test_a_forged_record_appended_outside_the_log_is_seen(database: Database) -> None:
    _fill(database, 2)
    with database.session() as s:
        last = audit.query_records(s)[-1]
        ts = datetime.now(UTC)
        forged = {**audit.record_fields(last), "id": 3, "timestamp": ts.isoformat(timespec="microseconds")}
        h = audit.chain_hash(last.hash, forged)
    _sql(
        database,
        'INSERT INTO audit_records (id, timestamp, "user", action, result, extra, prev_hash, hash) '
        f"VALUES (3, CURRENT_TIMESTAMP, 'alice', 'x', 'success', '{{}}', '{last.hash}', '{h}')",
    )
    msgs = _messages(database)
    assert "record 3 was inserted (the chain head is at 2)" in msgs


@pytest.mark.parametrize("threads", [8])
def test_concurrent_appends_never_fork_the_chain(database: Database, threads: int) -> None:
    """Writers on separate engines (as separate processes would be) and threads, all at once."""
    per_thread = 15
    engines = [Database(database.url) for _ in range(2)]
    errors: list[BaseException] = []
    barrier = threading.Barrier(threads)

    def work(i: int) -> None:
        db = engines[i % 2]
        try:
            barrier.wait()
            for j in range(per_thread):
                audit.record(db, f"user{i}", "scan.run", f"scan:{i}-{j}")
        except BaseException as exc:  # reported below
            errors.append(exc)

    ts = [threading.Thread(target=work, args=(i,)) for i in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(120)
    for e in engines:
        e.dispose()
    assert errors == []
    result = audit.verify(database)
    assert result.ok, result.problems
    assert (result.checked, result.first_id, result.last_id) == (
        threads * per_thread,
        1,
        threads * per_thread,
    )


def test_a_rolled_back_append_leaves_no_gap(database: Database) -> None:
    _fill(database, 1)
    with pytest.raises(RuntimeError), database.session() as s:
        audit.append(s, user="a", action="x")
        raise RuntimeError("the action failed")
    _fill(database, 1)
    result = audit.verify(database)
    assert result.ok and result.last_id == 2


def test_bad_input_is_refused_before_anything_is_written(database: Database) -> None:
    with pytest.raises(UsageError, match="result"), database.session() as s:
        audit.append(s, user="a", action="x", result="maybe")
    with pytest.raises(UsageError, match="JSON"), database.session() as s:
        audit.append(s, user="a", action="x", changes={"v": float("nan")})
    with pytest.raises(UsageError, match="unknown audit mode"), database.session() as s:
        audit.append(s, user="a", action="x", mode="iso27001")
    assert audit.verify(database).checked == 0


@pytest.mark.parametrize(
    ("mode", "action", "extra", "missing"),
    [
        ("soc2", "user.create", {}, "origin"),
        ("pci-dss", "user.create", {}, "origin"),
        ("hipaa", "audit.export", {"origin": "cli"}, "reason"),
        ("hipaa", "audit.purge", {"origin": "cli"}, "reason"),
    ],
)
def test_compliance_modes_require_their_fields(
    sqlite_db: Database, mode: str, action: str, extra: dict[str, str], missing: str
) -> None:
    with pytest.raises(UsageError, match=f"audit mode {mode} requires {missing}"), sqlite_db.session() as s:
        audit.append(s, user="a", action=action, extra=extra, mode=mode)
    with sqlite_db.session() as s:
        rec = audit.append(s, user="a", action=action, extra={**extra, missing: "ticket 42"}, mode=mode)
        assert rec.extra["mode"] == mode and rec.extra["host"]
    assert audit.verify(sqlite_db).ok


def test_retention_per_mode() -> None:
    assert audit.MODES["standard"].retention is None
    assert audit.MODES["soc2"].retention == timedelta(days=365)
    assert audit.MODES["hipaa"].retention is not None and audit.MODES["hipaa"].retention.days >= 6 * 365
    assert audit.MODES["pci-dss"].retention is not None and audit.MODES["pci-dss"].retention.days >= 365


def test_purge_keeps_the_rest_verifiable_and_is_recorded(database: Database) -> None:
    now = datetime.now(UTC)
    _fill(database, 10, start=now - timedelta(days=400), step=timedelta(days=10))  # days 400…310 ago
    _fill(database, 3)  # now
    done = audit.purge(database, user="alice", mode="soc2", extra={"origin": "cli"}, now=now)
    # records older than 365 days: 400, 390, 380, 370 days ago → ids 1-4
    assert (done.purged, done.through_id) == (4, 4)
    result = audit.verify(database)
    assert result.ok, result.problems
    assert (result.first_id, result.last_id, result.purged_through) == (5, 14, 4)
    with database.session() as s:
        last = audit.query_records(s)[-1]
    assert (last.action, last.changes) == (
        "audit.purge",
        {
            "purged_through": 4,
            "count": 4,
            "checkpoint_hash": last.changes["checkpoint_hash"] if last.changes else None,
        },
    )
    assert audit.purge(database, user="alice", mode="soc2", extra={"origin": "cli"}, now=now).purged == 0
    _sql(database, "DELETE FROM audit_records WHERE id = 5")  # the new first record
    assert _messages(database) == ["record 5 was deleted (the chain starts at 6)"]


def test_purge_refuses_a_broken_chain_and_short_ages(database: Database) -> None:
    _fill(database, 3, start=datetime.now(UTC) - timedelta(days=900))
    with pytest.raises(UsageError, match="keeps records until told"):
        audit.purge(database, user="a")
    with pytest.raises(UsageError, match="keeps records for 365 days"):
        audit.purge(database, user="a", mode="soc2", older_than=timedelta(days=30), extra={"origin": "cli"})
    _sql(database, "UPDATE audit_records SET action = 'y' WHERE id = 2")
    with pytest.raises(UsageError, match="record 2 was edited"):
        audit.purge(database, user="a", older_than=timedelta(days=1))
    assert audit.verify(database).checked == 3


def test_export_is_json_lines_that_rebuild_the_chain(database: Database) -> None:
    start = datetime.now(UTC) - timedelta(days=5)
    _fill(database, 5, start=start)
    buf = io.BytesIO()
    assert audit.export_jsonl(database, buf) == 5
    lines = [json.loads(x) for x in buf.getvalue().splitlines()]
    prev = audit.GENESIS
    for line in lines:
        fields = {k: v for k, v in line.items() if k not in ("prev_hash", "hash")}
        assert line["prev_hash"] == prev and audit.chain_hash(prev, fields) == line["hash"]
        prev = line["hash"]
    buf = io.BytesIO()
    assert audit.export_jsonl(database, buf, since=start + timedelta(days=3)) == 2

"""The audit log: append-only and hash-chained (docs/security.md).

Every record's `hash` is sha256(prev_hash + canonical JSON of its fields, id included); the first
record links to the genesis hash (64 zeros) or, after a retention purge, to the hash of the last
purged record kept in the `audit_chain` head row. Appends lock that head row (PostgreSQL:
SELECT … FOR UPDATE; SQLite: the database write lock), take the next id and the last hash from it
and update it, so concurrent writers never fork the chain and ids have no gaps. `verify` walks the
records and the head and names every edited, deleted or inserted record.

The chain proves integrity against edits through SQL, not against someone who rewrites every hash
after the edited one: keep `driftmgr audit verify` heads (or exports) outside the database to pin it.
"""

from __future__ import annotations

import hashlib
import json
import socket
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import IO, Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from driftmgr.errors import UsageError
from driftmgr.platform.db.engine import Database
from driftmgr.platform.db.models import utcnow
from driftmgr.platform.db.models_access import AuditChain, AuditRecord

GENESIS = "0" * 64
HEAD_ID = 1
RESULTS = ("success", "failure", "denied")


@dataclass(frozen=True)
class ComplianceMode:
    """What a compliance regime asks of the log: how long records stay, which extra fields each carries."""

    name: str
    retention: timedelta | None  # records younger than this are never purged; None: kept forever
    required: tuple[str, ...] = ()  # keys of `extra` every record must carry
    required_for: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # action → more keys
    note: str = ""


MODES: Mapping[str, ComplianceMode] = {
    "standard": ComplianceMode("standard", None, note="kept until purged explicitly (--older-than)"),
    "soc2": ComplianceMode(
        "soc2", timedelta(days=365), ("origin",), note="one year (AICPA TSC CC7.2 evidence period)"
    ),
    "hipaa": ComplianceMode(
        "hipaa",
        timedelta(days=6 * 365 + 2),
        ("origin", "host"),
        {"audit.export": ("reason",), "audit.purge": ("reason",)},
        note="six years (45 CFR 164.316(b)(2)); reading the log out needs a stated reason",
    ),
    "pci-dss": ComplianceMode(
        "pci-dss",
        timedelta(days=366),
        ("origin", "host"),
        note="one year, the last three months online (PCI DSS 10.5.1): records stay in the database "
        "for the whole year, so all of them are immediately available",
    ),
}


def mode_of(name: str) -> ComplianceMode:
    try:
        return MODES[name]
    except KeyError:
        raise UsageError(f"unknown audit mode (expected one of: {', '.join(MODES)})", source=name) from None


# --- hashing -------------------------------------------------------------------------------------


def _jsonable(value: Any, what: str) -> Any:
    if value is None:
        return None
    try:
        return json.loads(json.dumps(value, default=str, allow_nan=False))
    except (TypeError, ValueError) as exc:
        raise UsageError(f"the audit {what} cannot be stored as JSON: {exc}") from None


def _stamp(ts: datetime) -> str:
    return ts.isoformat(timespec="microseconds")


def record_fields(rec: AuditRecord) -> dict[str, Any]:
    """The hashed fields of a record (everything but prev_hash and hash)."""
    return {
        "id": rec.id,
        "timestamp": _stamp(rec.timestamp),
        "user": rec.user,
        "action": rec.action,
        "resource": rec.resource,
        "result": rec.result,
        "ip": rec.ip,
        "session": rec.session,
        "changes": rec.changes,
        "extra": rec.extra,
    }


def chain_hash(prev_hash: str, fields: Mapping[str, Any]) -> str:
    canonical = json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256((prev_hash + canonical).encode("utf-8")).hexdigest()


def to_dict(rec: AuditRecord) -> dict[str, Any]:
    return {**record_fields(rec), "prev_hash": rec.prev_hash, "hash": rec.hash}


# --- appending -----------------------------------------------------------------------------------


def _lock_head(s: Session) -> AuditChain:
    """The head row, locked until the transaction ends (created from the records when missing)."""
    if s.get_bind().dialect.name == "sqlite":
        # a write takes SQLite's single write lock now, before the head is read
        s.execute(update(AuditChain).where(AuditChain.id == HEAD_ID).values(last_id=AuditChain.last_id))
        stmt = select(AuditChain).where(AuditChain.id == HEAD_ID)
    else:
        stmt = select(AuditChain).where(AuditChain.id == HEAD_ID).with_for_update()
    head = s.scalars(stmt.execution_options(populate_existing=True)).first()
    if head is not None:
        return head
    last = s.scalars(select(AuditRecord).order_by(AuditRecord.id.desc()).limit(1)).first()
    try:
        with s.begin_nested():
            s.add(
                AuditChain(
                    id=HEAD_ID,
                    last_id=last.id if last else 0,
                    last_hash=last.hash if last else GENESIS,
                    purged_through_id=0,
                    purged_through_hash=GENESIS,
                )
            )
    except IntegrityError:
        pass  # another writer created it first
    return _lock_head(s)


def append(
    s: Session,
    *,
    user: str | None,
    action: str,
    resource: str | None = None,
    result: str = "success",
    ip: str | None = None,
    session: str | None = None,
    changes: Mapping[str, Any] | None = None,
    extra: Mapping[str, Any] | None = None,
    mode: str = "standard",
    now: datetime | None = None,
) -> AuditRecord:
    """Append one record inside the caller's transaction (it commits or rolls back with it)."""
    if result not in RESULTS:
        raise UsageError(f"an audit result is one of {', '.join(RESULTS)}", source=result)
    if not action:
        raise UsageError("an audit record needs an action")
    m = mode_of(mode)
    extra_d: dict[str, Any] = dict(extra or {})
    if m.name != "standard":
        extra_d.setdefault("host", socket.gethostname())
        extra_d["mode"] = m.name
    missing = [k for k in (*m.required, *m.required_for.get(action, ())) if extra_d.get(k) in (None, "")]
    if missing:
        raise UsageError(f"audit mode {m.name} requires {', '.join(missing)} for {action}")
    head = _lock_head(s)
    rec = AuditRecord(
        id=head.last_id + 1,
        timestamp=now or utcnow(),
        user=user[:120] if user else user,
        action=action[:120],
        resource=resource,
        result=result,
        ip=ip[:64] if ip else ip,
        session=session[:64] if session else session,
        changes=_jsonable(dict(changes), "changes") if changes is not None else None,
        extra=_jsonable(extra_d, "extra"),
        prev_hash=head.last_hash,
        hash="",
    )
    rec.hash = chain_hash(head.last_hash, record_fields(rec))
    s.add(rec)
    head.last_id = rec.id
    head.last_hash = rec.hash
    s.flush()
    return rec


def record(
    db: Database,
    user: str | None,
    action: str,
    resource: str | None = None,
    result: str = "success",
    ip: str | None = None,
    session: str | None = None,
    changes: Mapping[str, Any] | None = None,
    *,
    extra: Mapping[str, Any] | None = None,
    mode: str = "standard",
) -> AuditRecord:
    """Append one record in a transaction of its own."""
    with db.session() as s:
        return append(
            s,
            user=user,
            action=action,
            resource=resource,
            result=result,
            ip=ip,
            session=session,
            changes=changes,
            extra=extra,
            mode=mode,
        )


# --- verifying -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Problem:
    kind: str  # edited | deleted | inserted | head
    record_id: int | None
    message: str


@dataclass
class Verification:
    checked: int = 0
    first_id: int | None = None
    last_id: int | None = None
    head_hash: str = GENESIS
    purged_through: int = 0
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def _span(a: int, b: int) -> str:
    return f"record {a} was" if a == b else f"records {a}-{b} were"


def iter_records(s: Session, *, after: int = 0, batch: int = 1000) -> Iterator[AuditRecord]:
    while True:
        rows = list(
            s.scalars(select(AuditRecord).where(AuditRecord.id > after).order_by(AuditRecord.id).limit(batch))
        )
        yield from rows
        if len(rows) < batch:
            return
        after = rows[-1].id
        for rec in rows:  # keep memory flat on long chains
            s.expunge(rec)


def verify_in(s: Session) -> Verification:
    """Walk the chain inside an open transaction; see `verify`."""
    out = Verification()
    head = s.get(AuditChain, HEAD_ID)
    if head is None:
        out.problems.append(Problem("head", None, "the chain head row is missing (audit_chain was edited)"))
        anchor_id, anchor_hash = 0, GENESIS
    else:
        anchor_id, anchor_hash = head.purged_through_id, head.purged_through_hash
        out.purged_through = anchor_id
    prev_id, prev_hash, prev_edited = anchor_id, anchor_hash, False
    for rec in iter_records(s, after=-(2**62)):
        out.checked += 1
        out.first_id = rec.id if out.first_id is None else out.first_id
        edited = chain_hash(rec.prev_hash, record_fields(rec)) != rec.hash
        if rec.id <= anchor_id:
            out.problems.append(
                Problem(
                    "inserted",
                    rec.id,
                    f"record {rec.id} was inserted (records up to {anchor_id} were purged)",
                )
            )
            continue
        if rec.id > prev_id + 1:
            where = (
                f"chain breaks between {prev_id} and {rec.id}"
                if prev_id > anchor_id
                else f"the chain starts at {rec.id}"
            )
            out.problems.append(
                Problem("deleted", prev_id + 1, f"{_span(prev_id + 1, rec.id - 1)} deleted ({where})")
            )
        elif rec.prev_hash != prev_hash and not edited and not prev_edited:
            if prev_id == anchor_id:
                msg = f"the purge checkpoint was edited (record {rec.id} links to another hash)"
                out.problems.append(Problem("head", None, msg))
            else:
                msg = (
                    f"record {prev_id} was edited and rehashed, or record {rec.id}'s link was rewritten "
                    f"(chain breaks between {prev_id} and {rec.id})"
                )
                out.problems.append(Problem("edited", prev_id, msg))
        if edited:
            out.problems.append(Problem("edited", rec.id, f"record {rec.id} was edited"))
        prev_id, prev_hash, prev_edited = rec.id, rec.hash, edited
    out.last_id = prev_id if out.checked else None
    out.head_hash = prev_hash
    if head is not None:
        if head.last_id > prev_id:
            span = _span(prev_id + 1, head.last_id)
            msg = f"{span} deleted (the chain ends at {prev_id}, its head at {head.last_id})"
            out.problems.append(Problem("deleted", prev_id + 1, msg))
        elif head.last_id < prev_id:
            msg = f"{_span(head.last_id + 1, prev_id)} inserted (the chain head is at {head.last_id})"
            out.problems.append(Problem("inserted", head.last_id + 1, msg))
        elif head.last_hash != prev_hash and not prev_edited:
            msg = f"record {prev_id} was edited and rehashed (the chain head holds another hash)"
            out.problems.append(Problem("edited", prev_id, msg))
    return out


def verify(db: Database) -> Verification:
    """Every edited record (its hash no longer matches), deleted record (a gap in ids, or a head
    further than the last record) and inserted record, each named in one `Problem`."""
    with db.session() as s:
        return verify_in(s)


# --- reading, exporting, purging -----------------------------------------------------------------


def query_records(
    s: Session,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    user: str | None = None,
    action: str | None = None,
    result: str | None = None,
    limit: int | None = None,
    offset: int = 0,
    newest_first: bool = False,
) -> list[AuditRecord]:
    stmt = select(AuditRecord)
    if since is not None:
        stmt = stmt.where(AuditRecord.timestamp >= since)
    if until is not None:
        stmt = stmt.where(AuditRecord.timestamp < until)
    if user is not None:
        stmt = stmt.where(AuditRecord.user == user)
    if action is not None:
        if action.endswith("*"):
            stmt = stmt.where(AuditRecord.action.startswith(action[:-1], autoescape=True))
        else:
            stmt = stmt.where(AuditRecord.action == action)
    if result is not None:
        stmt = stmt.where(AuditRecord.result == result)
    stmt = stmt.order_by(AuditRecord.id.desc() if newest_first else AuditRecord.id).offset(offset)
    if limit is not None:
        stmt = stmt.limit(limit)
    return list(s.scalars(stmt))


def export_jsonl(
    db: Database, out: IO[bytes], *, since: datetime | None = None, until: datetime | None = None
) -> int:
    """Write the records (oldest first) as JSON lines, with prev_hash and hash; return the count."""
    n = 0
    with db.session() as s:
        stmt = select(AuditRecord).order_by(AuditRecord.id)
        if since is not None:
            stmt = stmt.where(AuditRecord.timestamp >= since)
        if until is not None:
            stmt = stmt.where(AuditRecord.timestamp < until)
        for rec in s.scalars(stmt.execution_options(yield_per=1000)):
            out.write(json.dumps(to_dict(rec), sort_keys=True, ensure_ascii=False).encode("utf-8") + b"\n")
            n += 1
    return n


@dataclass(frozen=True)
class Purge:
    purged: int
    through_id: int
    cutoff: datetime


def purge(
    db: Database,
    *,
    user: str | None,
    mode: str = "standard",
    older_than: timedelta | None = None,
    extra: Mapping[str, Any] | None = None,
    now: datetime | None = None,
) -> Purge:
    """Delete the oldest records beyond the retention of `mode` (or `older_than`, never less than it).

    Only a prefix of the chain goes; the head row keeps the last purged id and hash as the new
    anchor, and the purge itself is recorded, so the rest still verifies. Refused while the chain
    does not verify: a purge must not destroy the evidence of tampering.
    """
    m = mode_of(mode)
    if older_than is None and m.retention is None:
        raise UsageError("audit mode standard keeps records until told: give how old (--older-than)")
    if older_than is not None and m.retention is not None and older_than < m.retention:
        raise UsageError(
            f"audit mode {m.name} keeps records for {m.retention.days} days: cannot purge younger ones"
        )
    now = now or utcnow()
    keep = older_than if older_than is not None else m.retention
    assert keep is not None
    cutoff = now - keep
    with db.session() as s:
        head = _lock_head(s)
        check = verify_in(s)
        if not check.ok:
            raise UsageError(f"the audit chain does not verify ({check.problems[0].message}): nothing purged")
        first_young = s.scalar(select(func.min(AuditRecord.id)).where(AuditRecord.timestamp >= cutoff))
        through = (first_young - 1) if first_young is not None else head.last_id
        if through <= head.purged_through_id:
            return Purge(0, head.purged_through_id, cutoff)
        last = s.get(AuditRecord, through)
        assert last is not None  # the chain verified: every id up to the head exists
        count = s.execute(delete(AuditRecord).where(AuditRecord.id <= through)).rowcount  # type: ignore[attr-defined]
        head.purged_through_id, head.purged_through_hash, head.purged_at = through, last.hash, now
        append(
            s,
            user=user,
            action="audit.purge",
            resource=f"audit:{check.purged_through + 1}-{through}",
            changes={"purged_through": through, "count": count, "checkpoint_hash": last.hash},
            extra={**(extra or {}), "cutoff": _stamp(cutoff)},
            mode=mode,
            now=now,
        )
        return Purge(int(count), through, cutoff)

"""SQLAlchemy 2 models: every table of the platform (issues 4–6).

Times are stored as UTC and read back timezone-aware on SQLite and PostgreSQL alike.
Ids are UUID4 hex strings (portable, unguessable in URLs) except for append-only logs
(events, audit records), which use an integer sequence for cheap ordering.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


def new_id() -> str:
    return uuid.uuid4().hex


class UTCDateTime(TypeDecorator[datetime]):
    """Aware datetimes in, aware UTC datetimes out (SQLite keeps no zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {datetime: UTCDateTime, dict[str, Any]: JSON, list[Any]: JSON}  # noqa: RUF012


# --- state sources, scans, inventory ------------------------------------------------------------


class StateSource(Base):
    """A registered state location (`s3://…`, a path, `tfc://org/ws`, …)."""

    __tablename__ = "state_sources"
    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    url: Mapped[str] = mapped_column(Text)
    provider: Mapped[str] = mapped_column(String(40), default="aws")
    labels: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_serial: Mapped[int | None] = mapped_column(Integer, default=None)
    last_lineage: Mapped[str | None] = mapped_column(String(64), default=None)


class Scan(Base):
    """One drift detection run: its summary, its report, its items. One per job at most."""

    __tablename__ = "scans"
    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    job_id: Mapped[str | None] = mapped_column(String(32), unique=True, default=None)
    source_key: Mapped[str] = mapped_column(String(400), index=True)  # sorted sources joined: trend key
    sources: Mapped[list[Any]] = mapped_column(default=list)
    provider: Mapped[str] = mapped_column(String(40), default="aws")
    regions: Mapped[list[Any]] = mapped_column(default=list)
    status: Mapped[str] = mapped_column(String(20))  # completed | partial | failed
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    duration_s: Mapped[float] = mapped_column(Float, default=0.0)
    total: Mapped[int] = mapped_column(Integer, default=0)
    in_sync: Mapped[int] = mapped_column(Integer, default=0)
    drifted: Mapped[int] = mapped_column(Integer, default=0)
    missing: Mapped[int] = mapped_column(Integer, default=0)
    unmanaged: Mapped[int] = mapped_column(Integer, default=0)
    ignored: Mapped[int] = mapped_column(Integer, default=0)
    unsupported: Mapped[int] = mapped_column(Integer, default=0)
    defaults: Mapped[int] = mapped_column(Integer, default=0)
    coverage: Mapped[float] = mapped_column(Float, default=1.0)
    score: Mapped[int] = mapped_column(Integer, default=100)
    errors: Mapped[list[Any]] = mapped_column(default=list)
    report: Mapped[dict[str, Any]] = mapped_column(default=dict)  # the JSON report of DESIGN §3
    items: Mapped[list[ScanItem]] = relationship(
        back_populates="scan", cascade="all, delete-orphan", passive_deletes=True
    )


class ScanItem(Base):
    """One resource of a scan that was not in sync (drifted, missing, unmanaged, unsupported)."""

    __tablename__ = "scan_items"
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    scan_id: Mapped[str] = mapped_column(ForeignKey("scans.id", ondelete="CASCADE"), index=True)
    key: Mapped[str] = mapped_column(String(600))  # provider/account/region/type/id: identity over time
    address: Mapped[str | None] = mapped_column(Text, default=None)
    type: Mapped[str] = mapped_column(String(120))
    resource_id: Mapped[str] = mapped_column(Text)
    provider: Mapped[str] = mapped_column(String(40))
    account: Mapped[str | None] = mapped_column(String(64), default=None)
    region: Mapped[str | None] = mapped_column(String(64), default=None)
    status: Mapped[str] = mapped_column(String(20))
    severity: Mapped[str | None] = mapped_column(String(20), default=None)
    source: Mapped[str | None] = mapped_column(Text, default=None)
    changes: Mapped[list[Any]] = mapped_column(default=list)
    scan: Mapped[Scan] = relationship(back_populates="items")

    __table_args__ = (Index("ix_scan_items_key_status", "key", "status"),)


class InventorySnapshot(Base):
    """What `discover` found at one moment."""

    __tablename__ = "inventory_snapshots"
    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    job_id: Mapped[str | None] = mapped_column(String(32), unique=True, default=None)
    provider: Mapped[str] = mapped_column(String(40))
    regions: Mapped[list[Any]] = mapped_column(default=list)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    count: Mapped[int] = mapped_column(Integer, default=0)
    partial: Mapped[bool] = mapped_column(Boolean, default=False)
    errors: Mapped[list[Any]] = mapped_column(default=list)
    resources: Mapped[list[Any]] = mapped_column(default=list)


# --- jobs, events, cache --------------------------------------------------------------------------


class Job(Base):
    """A unit of background work. The database row is the truth in both modes; Celery only carries ids.

    status: queued → running → succeeded | failed | cancelled; `lease_until` is the heartbeat lease a
    running job holds — a lease that lapsed means its worker died and the job may be claimed again.
    """

    __tablename__ = "jobs"
    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    kind: Mapped[str] = mapped_column(String(40))
    priority: Mapped[int] = mapped_column(Integer)  # lower runs first: 0 high, 5 medium, 9 low
    status: Mapped[str] = mapped_column(String(20), default="queued")
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    error: Mapped[str | None] = mapped_column(Text, default=None)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    max_attempts: Mapped[int] = mapped_column(Integer, default=3)
    timeout_s: Mapped[float] = mapped_column(Float, default=3600.0)
    progress: Mapped[float] = mapped_column(Float, default=0.0)
    message: Mapped[str] = mapped_column(Text, default="")
    cancel_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    created_by: Mapped[str | None] = mapped_column(String(200), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    run_after: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(default=None)
    finished_at: Mapped[datetime | None] = mapped_column(default=None)
    worker: Mapped[str | None] = mapped_column(String(200), default=None)
    lease_until: Mapped[datetime | None] = mapped_column(default=None)

    __table_args__ = (Index("ix_jobs_claim", "status", "priority", "run_after"),)


class EventRecord(Base):
    """A published event (DESIGN §3 types), kept for queries and replay."""

    __tablename__ = "events"
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    event_id: Mapped[str] = mapped_column(String(32), unique=True, default=new_id)
    type: Mapped[str] = mapped_column(String(80), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    source: Mapped[str | None] = mapped_column(String(400), default=None)
    job_id: Mapped[str | None] = mapped_column(String(32), default=None, index=True)
    severity: Mapped[str | None] = mapped_column(String(20), default=None)
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)


class CacheEntry(Base):
    """L3 of the embedded cache."""

    __tablename__ = "cache_entries"
    key: Mapped[str] = mapped_column(String(400), primary_key=True)
    value: Mapped[bytes] = mapped_column(LargeBinary)
    expires_at: Mapped[datetime] = mapped_column(index=True)
    tags: Mapped[list[Any]] = mapped_column(default=list)


# --- schedules and notifications -----------------------------------------------------------------


class Schedule(Base):
    """Run drift detection on some sources by a cron expression (UTC)."""

    __tablename__ = "schedules"
    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    cron: Mapped[str] = mapped_column(String(120))
    sources: Mapped[list[Any]] = mapped_column(default=list)
    options: Mapped[dict[str, Any]] = mapped_column(default=dict)  # provider, regions, policy, …
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_run_at: Mapped[datetime | None] = mapped_column(default=None)
    next_run_at: Mapped[datetime | None] = mapped_column(default=None, index=True)
    last_job_id: Mapped[str | None] = mapped_column(String(32), default=None)


class NotificationChannel(Base):
    """An apprise URL. `url` holds secrets: it is never logged or returned unredacted."""

    __tablename__ = "notification_channels"
    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    url: Mapped[str] = mapped_column(Text)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class NotificationRule(Base):
    """Which events (wildcard patterns), minimum severity and sources go to which channel."""

    __tablename__ = "notification_rules"
    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    channel_id: Mapped[str] = mapped_column(ForeignKey("notification_channels.id", ondelete="CASCADE"))
    events: Mapped[list[Any]] = mapped_column(default=list)
    min_severity: Mapped[str | None] = mapped_column(String(20), default=None)
    sources: Mapped[list[Any]] = mapped_column(default=list)  # empty: every source
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class NotificationDelivery(Base):
    """One event to one channel: pending → delivered | dead (the dead-letter record)."""

    __tablename__ = "notification_deliveries"
    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    channel_id: Mapped[str] = mapped_column(ForeignKey("notification_channels.id", ondelete="CASCADE"))
    event_id: Mapped[str] = mapped_column(String(32))
    event_type: Mapped[str] = mapped_column(String(80))
    title: Mapped[str] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20), default="pending", index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text, default=None)  # redacted
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    delivered_at: Mapped[datetime | None] = mapped_column(default=None)

    __table_args__ = (UniqueConstraint("channel_id", "event_id", name="uq_delivery_channel_event"),)

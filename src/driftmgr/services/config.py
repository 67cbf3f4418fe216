"""ConfigService: the effective settings (secrets redacted), a check of the services they name,
and the registry of state sources (names for state URLs, used by schedules, the API and the GUI)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from driftmgr.config import Settings, redacted_service_url
from driftmgr.errors import ConflictError, DriftMgrError, UsageError
from driftmgr.platform.db.engine import Database, database_url, open_database
from driftmgr.platform.db.models import StateSource
from driftmgr.services.base import run_command
from driftmgr.state.backends.base import _secret_param, get_backend, redact_url

NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,199}$")


@dataclass
class SourceView:
    id: str
    name: str
    url: str
    provider: str
    labels: dict[str, Any]
    created_at: str

    @classmethod
    def of(cls, row: StateSource) -> SourceView:
        return cls(
            row.id, row.name, redact_url(row.url), row.provider, dict(row.labels), row.created_at.isoformat()
        )

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class AddSource:
    """Register a state source. Credentials never go into the stored URL: the backend's own chain
    (environment, profiles, PGPASSWORD, …) provides them when the source is read."""

    db: Database
    name: str
    url: str
    provider: str = "aws"
    labels: dict[str, Any] | None = None
    _id: str | None = None

    def validate(self) -> None:
        if not NAME_RE.match(self.name):
            raise UsageError(
                "a source name is letters, digits, '.', '_' or '-' (at most 200)", source=self.name
            )
        get_backend(self.url)  # unknown scheme → UsageError naming it
        if "://" in self.url:
            parts = urlsplit(self.url)
            secret_query = any(_secret_param(k.partition("=")[0]) for k in parts.query.split("&") if k)
            if parts.password is not None or secret_query:
                raise UsageError(
                    "the URL carries credentials; give them through the backend's environment instead",
                    source=redact_url(self.url),
                )

    def execute(self) -> SourceView:
        row = StateSource(name=self.name, url=self.url, provider=self.provider, labels=self.labels or {})
        try:
            with self.db.session() as s:
                s.add(row)
        except IntegrityError:
            raise ConflictError("a state source of this name exists", source=self.name) from None
        self._id = row.id
        return SourceView.of(row)

    def rollback(self) -> None:
        if self._id is None:
            return
        with self.db.session() as s:
            row = s.get(StateSource, self._id)
            if row is not None:
                s.delete(row)


class ConfigService:
    def __init__(self, settings: Settings, db: Database | None = None) -> None:
        self.settings = settings
        self._db = db

    @property
    def db(self) -> Database:
        if self._db is None:
            self._db = open_database(self.settings)
        return self._db

    # --- queries ---------------------------------------------------------------------------------

    def show(self) -> dict[str, Any]:
        """The effective settings, every secret redacted."""
        data = self.settings.model_dump(mode="json")
        data["database_url"] = redacted_service_url(database_url(self.settings))
        data["redis_url"] = redacted_service_url(self.settings.redis_url)
        data["mode"] = "scaled" if self.settings.scaled else "embedded"
        return data

    def check(self) -> dict[str, dict[str, str]]:
        """Reach each service the settings name: {"database": {"status", "detail"}, "redis": …}."""
        out: dict[str, dict[str, str]] = {}
        try:
            db = self.db
            from driftmgr.platform.db.migrate import current

            out["database"] = {"status": "ok", "detail": f"{db.dialect}, schema {current(db)}"}
        except DriftMgrError as exc:
            out["database"] = {"status": "down", "detail": str(exc)}
        if self.settings.redis_url:
            import redis

            try:
                client = redis.Redis.from_url(self.settings.redis_url, socket_connect_timeout=3)
                client.ping()
                client.close()
                out["redis"] = {"status": "ok", "detail": "ping answered"}
            except (redis.RedisError, ValueError) as exc:
                out["redis"] = {
                    "status": "down",
                    "detail": f"{redacted_service_url(self.settings.redis_url)}: {exc}",
                }
        else:
            out["redis"] = {"status": "off", "detail": "embedded mode (DRIFTMGR_REDIS_URL unset)"}
        return out

    def list_sources(self) -> list[SourceView]:
        with self.db.session() as s:
            return [SourceView.of(r) for r in s.scalars(select(StateSource).order_by(StateSource.name))]

    def source_url(self, name: str) -> str:
        """The stored URL of a named source (for reading it; never for display)."""
        with self.db.session() as s:
            url = s.scalar(select(StateSource.url).where(StateSource.name == name))
        if url is None:
            raise UsageError("no state source of this name", source=name)
        return url

    # --- commands --------------------------------------------------------------------------------

    def add_source(
        self, name: str, url: str, *, provider: str = "aws", labels: dict[str, Any] | None = None
    ) -> SourceView:
        return run_command(AddSource(self.db, name, url, provider, labels))

    def remove_source(self, name: str) -> None:
        with self.db.session() as s:
            row = s.scalar(select(StateSource).where(StateSource.name == name))
            if row is None:
                raise UsageError("no state source of this name", source=name)
            s.delete(row)

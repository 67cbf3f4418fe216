"""AuditService: read, verify, export and purge the audit log, behind the audit:read permission.

Reading the log out (export, purge) is itself recorded; HIPAA mode requires a stated reason for it.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import IO, Any

from driftmgr.config import Settings
from driftmgr.platform import audit
from driftmgr.platform.db.engine import Database, open_database
from driftmgr.services.access import AccessService, Actor


class AuditService:
    def __init__(self, settings: Settings, db: Database | None = None) -> None:
        self.settings = settings
        self._db = db

    @property
    def db(self) -> Database:
        if self._db is None:
            self._db = open_database(self.settings)
        return self._db

    def _access(self) -> AccessService:
        return AccessService(self.settings, self.db)

    def verify(self, actor: Actor) -> audit.Verification:
        self._access().authorize(actor, "audit:read", "audit")
        return audit.verify(self.db)

    def list(
        self,
        actor: Actor,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        user: str | None = None,
        action: str | None = None,
        result: str | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[dict[str, Any]]:
        """Newest first."""
        self._access().authorize(actor, "audit:read", "audit")
        with self.db.session() as s:
            rows = audit.query_records(
                s,
                since=since,
                until=until,
                user=user,
                action=action,
                result=result,
                limit=limit,
                offset=offset,
                newest_first=True,
            )
            return [audit.to_dict(r) for r in rows]

    def export(
        self,
        actor: Actor,
        out: IO[bytes],
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        reason: str | None = None,
    ) -> int:
        access = self._access()
        access.authorize(actor, "audit:read", "audit")
        extra = {"since": since.isoformat() if since else None, "until": until.isoformat() if until else None}
        if reason:
            extra["reason"] = reason
        with self.db.session() as s:  # recorded first: a mode that needs a reason refuses before any output
            access.audit_in(s, actor, "audit.export", "audit", extra=extra)
        return audit.export_jsonl(self.db, out, since=since, until=until)

    def purge(
        self, actor: Actor, *, older_than: timedelta | None = None, reason: str | None = None
    ) -> audit.Purge:
        self._access().authorize(actor, "audit:purge", "audit")
        extra: dict[str, Any] = {"origin": actor.origin}
        if reason:
            extra["reason"] = reason
        return audit.purge(
            self.db, user=actor.username, mode=self.settings.audit_mode, older_than=older_than, extra=extra
        )

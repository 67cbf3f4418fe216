"""ScheduleService: cron schedules of drift detection (issue 4 §7), used by the CLI and the API.

Sources are stored as `HistoryService` stores them (local paths absolute), so the scans a schedule
produces join the trend of the same sources scanned by hand, whatever directory a worker runs in.
"""

from __future__ import annotations

from typing import Any

from driftmgr.errors import UsageError
from driftmgr.platform.db.engine import Database
from driftmgr.platform.scheduler import (
    ScheduleView,
    add_schedule,
    get_schedule,
    list_schedules,
    remove_schedule,
    validate_cron,
)
from driftmgr.services.history import canonical_source, canonical_sources


class ScheduleService:
    def __init__(self, db: Database) -> None:
        self.db = db

    def add(
        self,
        name: str,
        cron: str,
        sources: list[str],
        *,
        provider: str = "aws",
        regions: list[str] | None = None,
        options: dict[str, Any] | None = None,
    ) -> ScheduleView:
        validate_cron(cron)  # before anything else: the most likely typo
        if not sources:
            raise UsageError("a schedule needs at least one state source (--state)")
        opts: dict[str, Any] = {k: v for k, v in (options or {}).items() if v not in (None, [], "")}
        opts["provider"] = provider
        if regions:
            opts["regions"] = list(regions)
        for key in ("policy", "driftignore"):  # files, read by a worker in another directory
            if isinstance(opts.get(key), str):
                opts[key] = canonical_source(opts[key])
        return add_schedule(self.db, name, cron, canonical_sources(sources), opts)

    def list(self) -> list[ScheduleView]:
        return list_schedules(self.db)

    def get(self, name: str) -> ScheduleView:
        return get_schedule(self.db, name)

    def remove(self, name: str) -> None:
        remove_schedule(self.db, name)

"""The job queue contract (issue 4; DESIGN §4): one API, an in-process pool or Celery behind it.

The `jobs` table is the truth in both modes. A job runs a handler registered for its kind by the
service layer (`register(kind, handler)`); handlers must be idempotent by job id (a job whose worker
died is run again — the scan it stores is keyed by job id, so it is never stored twice).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from driftmgr.errors import DriftMgrError

# lower runs first
PRIORITY = {"discovery": 0, "drift": 5, "report": 9, "remediation": 9, "remediation_rollback": 9}
KINDS = tuple(PRIORITY)


class JobCancelled(DriftMgrError):
    """Raised inside a handler (by JobContext.check) when its job was cancelled."""

    code = "cancelled"


class JobTimeout(DriftMgrError):
    code = "timeout"


class JobContext(Protocol):
    job_id: str
    kind: str
    payload: dict[str, Any]
    attempt: int

    @property
    def cancelled(self) -> bool: ...

    def check(self) -> None:
        """Raise JobCancelled / JobTimeout when the job was cancelled or ran out of time."""

    def progress(self, percent: float, message: str = "") -> None:
        """Persist progress (0–100) and publish `job.progress`; also checks cancellation."""


Handler = Callable[[JobContext], dict[str, Any] | None]


@dataclass(frozen=True, slots=True)
class JobView:
    id: str
    kind: str
    status: str
    priority: int
    progress: float
    message: str
    attempts: int
    error: str | None
    result: dict[str, Any] | None
    payload: dict[str, Any]
    created_at: str
    started_at: str | None
    finished_at: str | None

    def to_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__slots__}


class JobQueue(Protocol):
    def register(self, kind: str, handler: Handler) -> None: ...

    def submit(
        self,
        kind: str,
        payload: dict[str, Any] | None = None,
        *,
        priority: int | None = None,
        max_attempts: int | None = None,
        timeout_s: float | None = None,
        created_by: str | None = None,
    ) -> str: ...

    def get(self, job_id: str) -> JobView: ...

    def list(
        self, *, status: str | None = None, kind: str | None = None, limit: int = 100
    ) -> list[JobView]: ...

    def cancel(self, job_id: str) -> JobView: ...

    def wait(self, job_id: str, timeout: float | None = None) -> JobView: ...

    def start(self) -> None:
        """Start executing (local pool threads; a no-op for Celery, whose workers run elsewhere)."""

    def close(self) -> None: ...

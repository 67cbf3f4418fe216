"""WorkflowService: background work as commands (submit, cancel) and queries (status, list).

It registers the real job handlers into the platform's queue — the platform layer runs jobs but
knows nothing of drift:

- `drift` (medium priority): payload {sources, provider, regions, driftignore, policy, filter,
  types} → `detect_and_store(…, job_id=…)`: the scan stored once per job, drift events published;
- `discovery` (high): {provider, regions, types} → an `InventorySnapshot` row keyed by job id;
- `report` (low): {scan_id, format, output} → a stored scan's report rendered to a file;
- `remediation`, `remediation_rollback` (low): {plan_id} → services/remediation_jobs.py.

Handlers are idempotent by job id: a job run again after its worker died finds what its first run
stored and stores nothing more. Discovery progress becomes job progress; a cancelled job's next
progress callback raises `JobCancelled`, which stops discovery (cooperative cancellation).
Extra kinds come from `DRIFTMGR_JOB_PLUGINS` ("module:function,…", each called with the queue).
"""

from __future__ import annotations

import builtins
import contextlib
import importlib
import os
import signal
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from driftmgr.config import Settings
from driftmgr.engine.render import FORMATS, render
from driftmgr.engine.report import DriftReport, error_to_dict
from driftmgr.errors import UsageError
from driftmgr.platform.db.engine import Database
from driftmgr.platform.db.models import InventorySnapshot, Scan
from driftmgr.platform.db.scans import find_scan_for_job
from driftmgr.platform.jobs import LocalQueue, QueueBase
from driftmgr.platform.jobs.base import JobContext, JobView
from driftmgr.platform.runtime import Platform, build_platform
from driftmgr.providers.base import ProgressFn
from driftmgr.services.discovery import DiscoveryService
from driftmgr.services.drift import DetectOptions, DriftService
from driftmgr.services.history import detect_and_store

EXTENSIONS = {
    "table": "txt",
    "json": "json",
    "html": "html",
    "markdown": "md",
    "sarif": "sarif",
    "junit": "xml",
}
DRIFT_KEYS = {"sources", "provider", "regions", "driftignore", "policy", "filter", "types"}
DISCOVERY_KEYS = {"provider", "regions", "types"}
REPORT_KEYS = {"scan_id", "format", "output"}


def job_progress(ctx: JobContext, start: float = 0.0, end: float = 100.0) -> ProgressFn:
    """A provider progress callback feeding the job's progress; raises JobCancelled once cancelled."""

    def progress(done: int, total: int, message: str) -> None:
        share = done / total if total else 0.0
        ctx.progress(start + (end - start) * share, message)

    return progress


def load_plugins(spec: str | None, queue: QueueBase) -> list[str]:
    """Call each "module:function" of `spec` (comma-separated) with the queue; returns their names."""
    loaded = []
    for entry in (e.strip() for e in (spec or "").split(",")):
        if not entry:
            continue
        module_name, _, func_name = entry.partition(":")
        if not module_name or not func_name:
            raise UsageError("a job plugin is 'module:function'", source=entry)
        try:
            func = getattr(importlib.import_module(module_name), func_name)
        except (ImportError, AttributeError) as exc:
            raise UsageError(f"cannot load job plugin: {exc}", source=entry) from None
        func(queue)
        loaded.append(entry)
    return loaded


def _strings(payload: dict[str, Any], key: str, *, required: bool = False) -> list[str] | None:
    value = payload.get(key)
    if value is None or value == []:
        if required:
            raise UsageError(f"a {key!r} list is required")
        return None
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise UsageError(f"{key!r} must be a list of non-empty strings")
    return list(value)


def _optional_str(payload: dict[str, Any], key: str) -> str | None:
    value = payload.get(key)
    if value is not None and not isinstance(value, str):
        raise UsageError(f"{key!r} must be a string")
    return value or None


def _only(payload: dict[str, Any], allowed: set[str], kind: str) -> None:
    unknown = sorted(set(payload) - allowed)
    if unknown:
        raise UsageError(f"unknown {kind} job option(s): {', '.join(unknown)}")


def _jsonable(value: Any) -> Any:
    return orjson.loads(orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS, default=str))


class WorkflowService:
    def __init__(
        self,
        platform: Platform,
        *,
        drift: DriftService | None = None,
        discovery: DiscoveryService | None = None,
    ) -> None:
        self.platform = platform
        self.settings: Settings = platform.settings
        self.db: Database = platform.db
        if not isinstance(platform.jobs, QueueBase):
            raise TypeError("WorkflowService needs the platform's job queue")
        self.jobs: QueueBase = platform.jobs
        self.drift = drift or DriftService()
        self.discovery = discovery or DiscoveryService()

    @classmethod
    def from_settings(cls, settings: Settings) -> WorkflowService:
        service = cls(build_platform(settings))
        service.register_handlers()
        return service

    def close(self) -> None:
        self.platform.close()

    # --- commands -----------------------------------------------------------------------------
    def register_handlers(self) -> None:
        self.jobs.register("drift", self.run_drift)
        self.jobs.register("discovery", self.run_discovery)
        self.jobs.register("report", self.run_report)
        from driftmgr.services.remediation import RemediationService

        RemediationService.for_platform(self.platform).register(self.jobs)  # remediation(_rollback)
        load_plugins(self.settings.job_plugins, self.jobs)

    def validate(self, kind: str, payload: dict[str, Any]) -> dict[str, Any]:
        """The payload a job of `kind` will run with, or UsageError naming what is wrong."""
        if not isinstance(payload, dict):
            raise UsageError("a job payload is a JSON object")
        if kind == "drift":
            _only(payload, DRIFT_KEYS, kind)
            _strings(payload, "sources", required=True)
        elif kind == "discovery":
            _only(payload, DISCOVERY_KEYS, kind)
        elif kind == "report":
            _only(payload, REPORT_KEYS, kind)
            scan_id = _optional_str(payload, "scan_id")
            if not scan_id:
                raise UsageError("a report job needs 'scan_id'")
            if payload.get("format", "html") not in FORMATS:
                raise UsageError(
                    f"unknown report format {payload.get('format')!r} (one of {', '.join(FORMATS)})"
                )
            with self.db.session() as s:
                if s.get(Scan, scan_id) is None:
                    raise UsageError("no such scan", source=scan_id)
            _optional_str(payload, "output")
        if kind in ("drift", "discovery"):
            _optional_str(payload, "provider")
            _strings(payload, "regions")
            _strings(payload, "types")
            for key in ("driftignore", "policy", "filter"):
                _optional_str(payload, key)
        return payload

    def submit(
        self,
        kind: str,
        payload: dict[str, Any] | None = None,
        *,
        priority: int | None = None,
        timeout_s: float | None = None,
        created_by: str | None = None,
    ) -> str:
        body = self.validate(kind, dict(payload or {}))
        return self.jobs.submit(kind, body, priority=priority, timeout_s=timeout_s, created_by=created_by)

    def cancel(self, job_id: str) -> JobView:
        return self.jobs.cancel(job_id)

    # --- queries ------------------------------------------------------------------------------
    def status(self, job_id: str) -> JobView:
        return self.jobs.get(job_id)

    def list(
        self, *, status: str | None = None, kind: str | None = None, limit: int = 100
    ) -> builtins.list[JobView]:
        return self.jobs.list(status=status, kind=kind, limit=limit)

    def wait(self, job_id: str, timeout: float | None = None) -> JobView:
        return self.jobs.wait(job_id, timeout)

    # --- the worker ---------------------------------------------------------------------------
    def run_worker(self, *, concurrency: int | None = None, queues: builtins.list[str] | None = None) -> None:
        """Run jobs in the foreground until SIGTERM/SIGINT: a Celery worker when scaled, else the pool."""
        from driftmgr.platform.jobs.celery_app import QUEUES, CeleryQueue

        if isinstance(self.jobs, CeleryQueue):
            names = [n if n.startswith("driftmgr.") else f"driftmgr.{n}" for n in (queues or [])]
            unknown = sorted(set(names) - set(QUEUES))
            if unknown:
                raise UsageError(f"unknown queue(s) {', '.join(unknown)} (high, medium, low)")
            self.platform.start_background()  # notifier + scheduler beside the Celery worker
            try:
                self.jobs.run_worker(
                    concurrency=concurrency or self.settings.jobs_max_workers, queues=names or None
                )
            finally:
                self.platform.close()
            return
        if queues:
            raise UsageError("--queue applies to Celery workers (set DRIFTMGR_REDIS_URL)")
        if concurrency and isinstance(self.jobs, LocalQueue):
            self.jobs.max_workers = concurrency
        with _until_signalled() as stop:
            self.jobs.start()
            self.platform.start_background()
            stop.wait()
        self.platform.close()

    # --- handlers -----------------------------------------------------------------------------
    def run_drift(self, ctx: JobContext) -> dict[str, Any]:
        existing = find_scan_for_job(self.db, ctx.job_id)
        if existing is not None:  # an earlier run of this job stored it before its worker died
            return self._scan_result(existing)
        p = self.validate("drift", dict(ctx.payload))
        sources = _strings(p, "sources", required=True) or []
        options = DetectOptions(
            provider=p.get("provider") or "aws",
            regions=_strings(p, "regions"),
            driftignore=p.get("driftignore"),
            policy=p.get("policy"),
            filter=p.get("filter"),
            types=_strings(p, "types"),
        )
        ctx.progress(0, "reading states")
        stored = detect_and_store(
            sources,
            options,
            self.db,
            drift=self.drift,
            progress=job_progress(ctx, 5, 95),
            deliver=lambda _report: ctx.check(),  # cancelled or out of time: nothing is stored
            job_id=ctx.job_id,
            events=self.platform.events,
        )
        assert stored.scan_id is not None
        return self._scan_result(stored.scan_id)

    def _scan_result(self, scan_id: str) -> dict[str, Any]:
        with self.db.session() as s:
            scan = s.get(Scan, scan_id)
            if scan is None:
                return {"scan_id": scan_id}
            return {
                "scan_id": scan_id,
                "status": scan.status,
                "drifted": scan.drifted,
                "missing": scan.missing,
                "unmanaged": scan.unmanaged,
                "errors": len(scan.errors or []),
            }

    def run_discovery(self, ctx: JobContext) -> dict[str, Any]:
        existing = self._snapshot_for(ctx.job_id)
        if existing is None:
            p = self.validate("discovery", dict(ctx.payload))
            provider = p.get("provider") or "aws"
            regions = _strings(p, "regions")
            result = self.discovery.discover(
                provider, regions=regions, types=_strings(p, "types"), progress=job_progress(ctx, 0, 95)
            )
            ctx.check()
            snapshot = InventorySnapshot(
                job_id=ctx.job_id,
                provider=provider,
                regions=regions or [],
                count=len(result.resources),
                partial=result.partial,
                errors=[error_to_dict(e) for e in result.errors],
                resources=_jsonable(
                    [
                        {
                            "type": r.type,
                            "id": r.id,
                            "provider": r.provider,
                            "account": r.account,
                            "region": r.region,
                            "default": r.default,
                            "attributes": r.attributes,
                        }
                        for r in result.resources
                    ]
                ),
            )
            try:
                with self.db.session() as s:
                    s.add(snapshot)
            except IntegrityError:  # another run of this job stored it first
                pass
            existing = self._snapshot_for(ctx.job_id)
        if existing is None:
            raise RuntimeError("the inventory snapshot was not stored")
        snap_id, count, errors = existing
        return {"snapshot_id": snap_id, "count": count, "errors": errors}

    def _snapshot_for(self, job_id: str) -> tuple[str, int, int] | None:
        with self.db.session() as s:
            row = s.execute(
                select(InventorySnapshot.id, InventorySnapshot.count, InventorySnapshot.errors).where(
                    InventorySnapshot.job_id == job_id
                )
            ).first()
            return (row[0], row[1], len(row[2] or [])) if row is not None else None

    def run_report(self, ctx: JobContext) -> dict[str, Any]:
        p = self.validate("report", dict(ctx.payload))
        fmt = p.get("format") or "html"
        with self.db.session() as s:
            scan = s.get(Scan, p["scan_id"])
            if scan is None:
                raise UsageError("no such scan", source=p["scan_id"])
            stored = dict(scan.report)
        ctx.progress(10, f"rendering {fmt}")
        text = render(DriftReport.from_dict(stored), fmt)
        out = Path(
            p.get("output") or Path(self.settings.data_dir) / "reports" / f"{ctx.job_id}.{EXTENSIONS[fmt]}"
        )
        out = out.expanduser()
        out.parent.mkdir(parents=True, exist_ok=True)
        staged = out.with_name(f".{out.name}.{os.getpid()}.tmp")
        data = text.encode()
        staged.write_bytes(data)
        os.replace(staged, out)  # whole or not at all; the same file again when the job runs again
        return {"scan_id": p["scan_id"], "format": fmt, "path": str(out), "bytes": len(data)}


@contextlib.contextmanager
def _until_signalled() -> Iterator[threading.Event]:
    """An event set by SIGTERM or SIGINT (main thread only); previous handlers restored after."""
    stop = threading.Event()
    previous: dict[signal.Signals, Callable[..., Any] | int | None] = {}

    def handler(signum: int, _frame: Any) -> None:
        stop.set()

    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGTERM, signal.SIGINT):
            previous[sig] = signal.signal(sig, handler)
    try:
        yield stop
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)

"""Running one claimed job: the handler's context, the heartbeat, retries, timeouts, cancellation.

The local pool and the Celery task both hand claimed jobs to a `JobRunner`. One monitor thread per
runner renews the leases of the jobs it runs, reads their `cancel_requested` flag every `poll_s`
(so a cancelled job's handler sees it at its next `check()`, well within 2 s), fails jobs that ran
past their timeout, and queues again the jobs of workers that died (`JobStore.reap`).
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable

from driftmgr.errors import ConflictError, StateFormatError, UsageError
from driftmgr.platform.jobs.base import Handler, JobCancelled, JobTimeout
from driftmgr.platform.jobs.store import Claimed, JobStore

log = logging.getLogger(__name__)

# Errors that another attempt cannot fix: bad input, a state that is not a state.
NOT_RETRIED: tuple[type[BaseException], ...] = (UsageError, StateFormatError, ConflictError)
# progress is persisted and published at 0 and 100 %, after 5 points, else at most this often
PROGRESS_EVERY_S = 0.25


def backoff(retry_delay: float, attempt: int) -> float:
    """Exponential backoff with jitter: delay × 2^(attempt-1), drawn from its upper half."""
    ceiling = retry_delay * (2 ** max(0, attempt - 1))
    return float(ceiling / 2 + random.uniform(0, ceiling / 2))  # noqa: S311 - jitter, not security


def describe(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    if isinstance(exc, JobCancelled | JobTimeout) or type(exc).__module__.startswith("driftmgr"):
        return text or type(exc).__name__
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


class RunContext:
    """What a handler sees (the JobContext protocol), plus the flags the monitor sets."""

    def __init__(self, job: Claimed, store: JobStore) -> None:
        self.job_id = job.id
        self.kind = job.kind
        self.payload = job.payload
        self.attempt = job.attempt
        self.token = job.token
        self.timeout_s = job.timeout_s
        self.started = time.monotonic()
        self.deadline = self.started + job.timeout_s
        self._store = store
        self.stop = threading.Event()  # set on cancel, lost lease, timeout or shutdown: wait on it
        self.cancel_requested = False
        self.lost = False
        self.timed_out = False
        self.shutdown = False
        self._last_progress = 0.0
        self._last_percent = 0.0

    @property
    def cancelled(self) -> bool:
        return self.stop.is_set() or time.monotonic() > self.deadline

    def check(self) -> None:
        if self.timed_out or time.monotonic() > self.deadline:
            self.timed_out = True
            raise JobTimeout(f"timed out after {self.timeout_s:g}s", source=f"job {self.job_id}")
        if self.stop.is_set():
            if self.lost:
                raise JobCancelled("another worker took this job over", source=f"job {self.job_id}")
            if self.shutdown:
                raise JobCancelled("the worker is stopping", source=f"job {self.job_id}")
            raise JobCancelled("cancelled", source=f"job {self.job_id}")

    def progress(self, percent: float, message: str = "") -> None:
        self.check()
        pct = max(0.0, min(100.0, float(percent)))
        now = time.monotonic()
        if (
            pct not in (0.0, 100.0)
            and now - self._last_progress < PROGRESS_EVERY_S
            and abs(pct - self._last_percent) < 5.0
        ):
            return
        self._last_progress = now
        self._last_percent = pct
        if self._store.progress(self.job_id, self.token, pct, message):
            self._store.publish("job.progress", self.job_id, {"percent": round(pct, 2), "message": message})


class JobRunner:
    def __init__(
        self,
        store: JobStore,
        handlers: dict[str, Handler],
        *,
        retry_delay: float,
        poll_s: float = 0.5,
        on_requeue: Callable[[str, int, float], None] | None = None,
    ) -> None:
        self.store = store
        self.handlers = handlers
        self.retry_delay = retry_delay
        self.poll_s = poll_s
        # called with (job id, priority, delay) when a job is queued again (Celery re-dispatches it)
        self.on_requeue = on_requeue
        self._active: dict[str, RunContext] = {}
        self._lock = threading.Lock()
        self._monitor: threading.Thread | None = None
        self._closing = threading.Event()

    # --- the monitor thread -------------------------------------------------------------------
    def start_monitor(self) -> None:
        with self._lock:
            if self._monitor is None or not self._monitor.is_alive():
                self._closing.clear()
                self._monitor = threading.Thread(
                    target=self._monitor_loop, name="driftmgr-jobs-monitor", daemon=True
                )
                self._monitor.start()

    def _monitor_loop(self) -> None:
        last_renew = last_reap = 0.0
        while not self._closing.is_set():
            now = time.monotonic()
            try:
                renew = now - last_renew >= self.store.lease_s / 3
                self.tick(renew=renew)
                if renew:
                    last_renew = now
                if now - last_reap >= max(self.poll_s, self.store.lease_s / 2):
                    last_reap = now
                    self.reap()
            except Exception as exc:  # noqa: BLE001 - a DB hiccup must not stop the heartbeat for good
                log.warning("job monitor: %s", describe(exc))
            self._closing.wait(self.poll_s)

    def tick(self, *, renew: bool) -> None:
        with self._lock:
            active = dict(self._active)
        if not active:
            return
        lost, cancel = self.store.heartbeat({j: c.token for j, c in active.items()}, renew=renew)
        now = time.monotonic()
        for job_id, ctx in active.items():
            if job_id in lost:
                ctx.lost = True
                ctx.stop.set()
            elif job_id in cancel:
                ctx.cancel_requested = True
                ctx.stop.set()
            elif now > ctx.deadline and not ctx.timed_out:
                # enforced here too: the job fails now even if its handler never checks again
                ctx.timed_out = True
                ctx.stop.set()
                error = f"timed out after {ctx.timeout_s:g}s"
                if self.store.finish(job_id, ctx.token, "failed", error=error):
                    self.store.publish("job.failed", job_id, {"error": error, "attempt": ctx.attempt})

    def reap(self) -> None:
        for job_id, priority in self.store.reap():
            if self.on_requeue is not None:
                self.on_requeue(job_id, priority, 0.0)

    def signal_cancel(self, job_id: str) -> None:
        """A cancel issued in this process reaches its handler at once (other processes: next tick)."""
        with self._lock:
            ctx = self._active.get(job_id)
        if ctx is not None:
            ctx.cancel_requested = True
            ctx.stop.set()

    def shutdown(self) -> None:
        """Ask every running handler to stop; their jobs are given back to the queue."""
        with self._lock:
            active = list(self._active.values())
        for ctx in active:
            ctx.shutdown = True
            ctx.stop.set()

    def close(self) -> None:
        self._closing.set()
        if self._monitor is not None:
            self._monitor.join(timeout=5)

    @property
    def running(self) -> int:
        with self._lock:
            return len(self._active)

    # --- one job ------------------------------------------------------------------------------
    def execute(self, job: Claimed) -> str:
        """Run a claimed job to its end; returns the status it was left in."""
        ctx = RunContext(job, self.store)
        with self._lock:
            self._active[job.id] = ctx
        self.start_monitor()
        try:
            return self._execute(job, ctx)
        finally:
            with self._lock:
                self._active.pop(job.id, None)

    def _execute(self, job: Claimed, ctx: RunContext) -> str:
        self.store.publish("job.started", job.id, {"kind": job.kind, "attempt": job.attempt})
        handler = self.handlers.get(job.kind)
        if handler is None:
            error = f"no handler for job kind {job.kind!r} in this worker"
            self.store.finish(job.id, job.token, "failed", error=error)
            self.store.publish("job.failed", job.id, {"error": error, "attempt": job.attempt})
            return "failed"
        try:
            ctx.check()
            result = handler(ctx)  # once it returns, its work counts: no late cancel
        except JobCancelled as exc:
            return self._stopped(job, ctx, exc)
        except JobTimeout:
            return self._fail(job, f"timed out after {job.timeout_s:g}s")
        except Exception as exc:  # noqa: BLE001 - any handler error becomes the job's error
            if ctx.stop.is_set() and (ctx.lost or ctx.timed_out or ctx.cancel_requested):
                return self._stopped(job, ctx, exc)
            error = describe(exc)
            if job.attempt < job.max_attempts and not isinstance(exc, NOT_RETRIED):
                delay = backoff(self.retry_delay, job.attempt)
                if self.store.retry(job.id, job.token, error, delay):
                    self.store.publish(
                        "job.retrying", job.id, {"attempt": job.attempt, "error": error, "delay_s": delay}
                    )
                    if self.on_requeue is not None:
                        self.on_requeue(job.id, self._priority(job.id), delay)
                return "queued"
            return self._fail(job, error)
        if self.store.finish(job.id, job.token, "succeeded", result=dict(result or {})):
            self.store.publish("job.succeeded", job.id, {"kind": job.kind, "result": dict(result or {})})
            return "succeeded"
        return "lost"

    def _fail(self, job: Claimed, error: str) -> str:
        if self.store.finish(job.id, job.token, "failed", error=error):
            self.store.publish("job.failed", job.id, {"error": error, "attempt": job.attempt})
        return "failed"

    def _stopped(self, job: Claimed, ctx: RunContext, exc: BaseException) -> str:
        if ctx.lost:
            log.warning("job %s: lost its lease; another worker runs it", job.id)
            return "lost"
        if ctx.timed_out:
            return self._fail(job, f"timed out after {ctx.timeout_s:g}s")
        if ctx.cancel_requested:
            if self.store.finish(job.id, job.token, "cancelled", error="cancelled while running"):
                self.store.publish("job.cancelled", job.id, {"while": "running"})
            return "cancelled"
        if ctx.shutdown:
            if self.store.release(job.id, job.token) and self.on_requeue is not None:
                self.on_requeue(job.id, self._priority(job.id), 0.0)
            return "queued"
        return self._fail(job, describe(exc))  # a handler raised JobCancelled on its own

    def _priority(self, job_id: str) -> int:
        found = self.store.run_after(job_id)
        return found[2] if found is not None else 5

"""AwsProvider: lists every registered resource type across regions in parallel.

Calls run in a bounded thread pool over (type × region) tasks, paginate, use botocore's adaptive retry
mode, and sit behind a circuit breaker per service/region: once a service keeps failing in a region,
its remaining tasks fail fast. A failed task becomes a DiscoveryError in the result — the result is
then partial and says so — never an exception that loses the rest.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor, as_completed
from typing import Any

import boto3
from botocore.config import Config

from driftmgr.models import DiscoveryError, Resource
from driftmgr.providers.aws.calls import CallMemo, share_reads
from driftmgr.providers.aws.errors import aws_errors, classify
from driftmgr.providers.aws.resources import load_all
from driftmgr.providers.aws.session import fast_session
from driftmgr.providers.base import (
    DiscoveryResult,
    ErrorKind,
    ProgressFn,
    ProviderError,
    ResourceType,
    Scope,
    iter_items,
    register_provider,
    registered_types,
)

DEFAULT_REGION = "us-east-1"
GLOBAL_REGION = "us-east-1"  # where global services (IAM, Route 53) are called


class AwsProvider:
    name = "aws"

    def __init__(
        self,
        *,
        profile: str | None = None,
        regions: list[str] | None = None,
        max_workers: int = 16,
        session: boto3.Session | None = None,
        cache_ttl: float = 0.0,
    ) -> None:
        self._session = session or fast_session(profile)
        self._default_regions = regions
        self._max_workers = max_workers
        self._clients: dict[tuple[str, str], Any] = {}
        self._client_lock = threading.Lock()
        self._lock = threading.Lock()
        self._run = threading.local()  # .memo: the CallMemo of the run whose task this thread works on
        self._breakers: dict[tuple[str, str], _Breaker] = {}
        self._account: str | None = None
        self._config = Config(
            retries={"mode": "adaptive", "max_attempts": 8},
            max_pool_connections=max(10, max_workers),
            connect_timeout=10,
            read_timeout=60,
        )
        self._cache_ttl = cache_ttl
        self._cache: dict[tuple[str, str], tuple[float, list[Resource]]] = {}

    # --- plumbing -----------------------------------------------------------------------------
    def client(self, service: str, region: str) -> Any:
        key = (service, region)
        c = self._clients.get(key)
        if c is not None:
            return c
        # One client per (service, region), shared by every task and run. Creating one costs tens of
        # milliseconds (it loads the service model): it happens once, under its own lock (a boto3
        # Session is not thread-safe), so threads holding their clients never wait for it.
        with self._client_lock:
            c = self._clients.get(key)
            if c is None:
                c = self._session.client(service, region_name=region, config=self._config)  # type: ignore[call-overload]
                c = share_reads(c, service, region, self._current_memo)
                self._clients[key] = c
            return c

    def _current_memo(self) -> CallMemo | None:
        memo: CallMemo | None = getattr(self._run, "memo", None)
        return memo

    def _breaker(self, service: str, region: str) -> _Breaker:
        key = (service, region)
        with self._lock:
            b = self._breakers.get(key)
            if b is None:
                b = self._breakers[key] = _Breaker(fail_max=3, reset_timeout=60)
            return b

    def account(self) -> str:
        if self._account is None:
            with aws_errors("sts:GetCallerIdentity"):
                self._account = str(self.client("sts", self._home_region()).get_caller_identity()["Account"])
        return self._account

    def _home_region(self) -> str:
        return self._session.region_name or DEFAULT_REGION

    def home_region(self) -> str:
        """The session's region (where calls without a region go: IAM and other global services)."""
        return self._home_region()

    def resource_types(self) -> list[ResourceType]:
        load_all()
        return list(registered_types("aws").values())

    def regions(self) -> list[str]:
        with aws_errors("ec2:DescribeRegions"):
            resp = self.client("ec2", self._home_region()).describe_regions(AllRegions=False)
        return sorted(r["RegionName"] for r in resp.get("Regions", []))

    def health(self) -> dict[str, Any]:
        try:
            return {"status": "ok", "account": self.account()}
        except ProviderError as exc:
            return {"status": "down", "error": str(exc), "kind": exc.kind.value}

    # --- one resource -------------------------------------------------------------------------
    def get(self, tf_type: str, resource_id: str, region: str | None) -> Resource | None:
        """Re-read one resource: its type's listing (and detail calls) in its region, filtered by
        id (or import id). None when it does not exist; ProviderError when it cannot be read."""
        rtype = {t.tf_type: t for t in self.resource_types()}.get(tf_type)
        if rtype is None:
            from driftmgr.errors import UsageError

            raise UsageError(f"unsupported AWS resource type: {tf_type}")
        where = GLOBAL_REGION if rtype.global_ else (region or self._home_region())
        for res in self._list(rtype, where, self.account()):
            if res.id == resource_id or res.import_id == resource_id:
                return res
        return None

    # --- discovery ----------------------------------------------------------------------------
    def discover(
        self,
        *,
        regions: list[str] | None = None,
        types: list[str] | None = None,
        progress: ProgressFn | None = None,
    ) -> DiscoveryResult:
        result = DiscoveryResult()
        try:
            account = self.account()
        except ProviderError as exc:
            result.errors.append(DiscoveryError("aws", "sts", self._home_region(), exc.kind.value, str(exc)))
            return result
        wanted = self._select_types(types)
        region_list = self._resolve_regions(regions, result)
        tasks: list[tuple[ResourceType, str]] = []
        for rtype in wanted:
            if rtype.global_:
                tasks.append((rtype, GLOBAL_REGION))
            else:
                tasks.extend((rtype, r) for r in region_list)
        total = len(tasks)
        done = 0
        memo = CallMemo()  # this run's shared reads
        if progress:
            progress(0, total, "starting")
        with ThreadPoolExecutor(max_workers=max(1, min(self._max_workers, total or 1))) as pool:
            futures = {
                pool.submit(self._run_task, rtype, region, account, memo): (rtype, region)
                for rtype, region in tasks
            }
            try:
                for fut in as_completed(futures):
                    rtype, region = futures[fut]
                    resources, error = fut.result()
                    result.resources.extend(resources)
                    if error is not None:
                        result.errors.append(error)
                    done += 1
                    if progress:
                        progress(done, total, f"{rtype.tf_type} {region}")
            except BaseException:
                # the progress callback stopped discovery (a cancelled job): drop the tasks not started
                pool.shutdown(wait=False, cancel_futures=True)
                raise
        result.resources.sort(key=lambda r: (r.type, r.region or "", r.id))
        result.errors.sort(key=lambda e: (e.service, e.region or "", e.type or ""))
        return result

    def _select_types(self, types: list[str] | None) -> list[ResourceType]:
        available = {t.tf_type: t for t in self.resource_types()}
        if not types:
            return [available[k] for k in sorted(available)]
        unknown = sorted(set(types) - set(available))
        if unknown:
            from driftmgr.errors import UsageError

            raise UsageError(f"unsupported AWS resource type(s): {', '.join(unknown)}")
        return [available[t] for t in sorted(set(types))]

    def _resolve_regions(self, regions: list[str] | None, result: DiscoveryResult) -> list[str]:
        chosen = regions or self._default_regions or [self._home_region()]
        if chosen == ["all"] or "all" in chosen:
            try:
                return self.regions()
            except ProviderError as exc:
                result.errors.append(
                    DiscoveryError("aws", "ec2", self._home_region(), exc.kind.value, str(exc))
                )
                return [self._home_region()]
        return sorted({self._home_region() if r == "default" else r for r in chosen})

    def _run_task(
        self, rtype: ResourceType, region: str, account: str, memo: CallMemo | None = None
    ) -> tuple[list[Resource], DiscoveryError | None]:
        self._run.memo = memo  # None: nothing shared (a task run on its own)
        try:
            return self._task(rtype, region, account)
        finally:
            self._run.memo = None

    def _task(
        self, rtype: ResourceType, region: str, account: str
    ) -> tuple[list[Resource], DiscoveryError | None]:
        key = (rtype.tf_type, region)
        if self._cache_ttl > 0:
            hit = self._cache.get(key)
            if hit and time.monotonic() - hit[0] < self._cache_ttl:
                return list(hit[1]), None
        breaker = self._breaker(rtype.service, region)
        if not breaker.allow():
            return [], DiscoveryError(
                "aws",
                rtype.service,
                region,
                ErrorKind.unavailable.value,
                f"skipped: {rtype.service} in {region} kept failing (circuit open)",
                rtype.tf_type,
            )
        try:
            resources = self._list(rtype, region, account)
        except ProviderError as exc:
            if exc.kind in (ErrorKind.unavailable, ErrorKind.throttled):
                breaker.failure()
            return [], DiscoveryError("aws", rtype.service, region, exc.kind.value, str(exc), rtype.tf_type)
        except Exception as exc:  # noqa: BLE001 - a bug in one type must not lose the others
            kind, message = classify(exc)
            return [], DiscoveryError("aws", rtype.service, region, kind.value, message, rtype.tf_type)
        breaker.success()
        if self._cache_ttl > 0:
            self._cache[key] = (time.monotonic(), resources)
        return resources, None

    def _list(self, rtype: ResourceType, region: str, account: str) -> list[Resource]:
        scope = Scope("aws", account, region, lambda service: self.client(service, region))
        what = f"{rtype.service}:{rtype.list_call or rtype.tf_type} in {region}"
        out: list[Resource] = []
        with aws_errors(what):
            for item in self._items(rtype, scope):
                if rtype.details is not None:
                    detailed = rtype.details(item, scope)
                    if detailed is None:
                        continue  # gone between list and describe, or not this type
                    item = detailed
                reason = rtype.default_reason(item, scope) if rtype.default_reason else None
                attributes = rtype.to_attributes(item, scope)
                parent = parent_attr = None
                if rtype.parent_link is not None:
                    ptype, id_attr, parent_attr = rtype.parent_link
                    if parent_attr.startswith("{"):  # "{type}": the parent attribute a child attribute names
                        parent_attr = str(attributes.get(parent_attr[1:-1]) or "")
                    pid = attributes.get(id_attr)
                    parent = (ptype, str(pid)) if pid else None
                out.append(
                    Resource(
                        provider="aws",
                        type=rtype.tf_type,
                        id=rtype.item_id(item),
                        account=account,
                        region=None if rtype.global_ else region,
                        attributes=attributes,
                        default=reason is not None,
                        default_reason=reason,
                        parent=parent,
                        parent_attr=parent_attr if parent else None,
                        import_id=rtype.import_id(item) if rtype.import_id else None,
                    )
                )
        return out

    def _items(self, rtype: ResourceType, scope: Scope) -> Iterable[dict[str, Any]]:
        if rtype.collect is not None:
            return rtype.collect(scope)
        if rtype.list_call is None or rtype.result_key is None:
            raise ValueError(f"{rtype.tf_type}: a descriptor needs list_call and result_key, or collect")
        client = scope.client(rtype.service)
        if rtype.paginate and client.can_paginate(rtype.list_call):
            pages = client.get_paginator(rtype.list_call).paginate(**dict(rtype.list_kwargs))
            return iter_items(pages, rtype.result_key)
        return iter_items([getattr(client, rtype.list_call)(**dict(rtype.list_kwargs))], rtype.result_key)


class _Breaker:
    """A circuit breaker per service/region. Its lock guards only the counters: the listings it
    protects run concurrently (pybreaker's `call` held its lock for the whole call, which ran
    every type of a service one after the other)."""

    def __init__(self, fail_max: int, reset_timeout: float) -> None:
        self._lock = threading.Lock()
        self._fail_max = fail_max
        self._reset_timeout = reset_timeout
        self._failures = 0
        self._opened_at: float | None = None

    def allow(self) -> bool:
        with self._lock:
            if self._opened_at is None:
                return True
            if time.monotonic() - self._opened_at >= self._reset_timeout:
                self._opened_at = None  # half-open: let calls try again
                self._failures = self._fail_max - 1
                return True
            return False

    def success(self) -> None:
        with self._lock:
            self._failures = 0
            self._opened_at = None

    def failure(self) -> None:
        with self._lock:
            self._failures += 1
            if self._failures >= self._fail_max:
                self._opened_at = time.monotonic()


@register_provider("aws")
def make_aws_provider(**options: Any) -> AwsProvider:
    return AwsProvider(**options)


# The built-in resource types register with the provider: importing the provider makes the registry
# complete (registered_types("aws") imports this module).
load_all()

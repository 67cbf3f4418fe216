"""The AWS collector: failures become DiscoveryErrors, a failing service trips its breaker,
and listings of one service still run concurrently."""

from __future__ import annotations

import threading
import time
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError, EndpointConnectionError

from driftmgr.providers.aws.provider import AwsProvider, _Breaker
from driftmgr.providers.base import ResourceType, Scope


def _rtype(collect: Any, name: str = "aws_fake") -> ResourceType:
    return ResourceType(tf_type=name, service="ec2", to_attributes=lambda item, _s: {"x": item["x"]},
                        collect=collect, id_key="id")  # fmt: skip


@pytest.fixture
def provider(monkeypatch: pytest.MonkeyPatch) -> AwsProvider:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    return AwsProvider(session=boto3.Session(region_name="us-east-1"))


def test_errors_are_classified_and_reported_not_raised(provider: AwsProvider) -> None:
    def denied(_: Scope) -> list[dict[str, Any]]:
        raise ClientError({"Error": {"Code": "UnauthorizedOperation", "Message": "no"}}, "DescribeVpcs")

    resources, error = provider._run_task(_rtype(denied), "eu-west-1", "123")
    assert resources == [] and error is not None
    assert (error.kind, error.region, error.type) == ("denied", "eu-west-1", "aws_fake")
    assert "UnauthorizedOperation" in error.message


def test_an_unreachable_service_opens_its_circuit_and_later_tasks_are_skipped(provider: AwsProvider) -> None:
    calls = []

    def down(_: Scope) -> list[dict[str, Any]]:
        calls.append(1)
        raise EndpointConnectionError(endpoint_url="https://ec2.eu-west-1.amazonaws.com")

    kinds = [provider._run_task(_rtype(down), "eu-west-1", "123")[1].kind for _ in range(5)]  # type: ignore[union-attr]
    assert kinds == ["unavailable"] * 5 and len(calls) == 3  # the last two never called AWS
    ok, error = provider._run_task(_rtype(lambda _s: [{"id": "a", "x": 1}]), "us-east-1", "123")
    assert error is None and [r.id for r in ok] == ["a"]  # another region's breaker is closed


def test_breaker_half_opens_after_the_timeout() -> None:
    b = _Breaker(fail_max=2, reset_timeout=0.05)
    b.failure()
    assert b.allow()
    b.failure()
    assert not b.allow()
    time.sleep(0.06)
    assert b.allow()
    b.failure()  # one more failure in half-open re-opens it
    assert not b.allow()
    b.success()
    assert b.allow()


def test_listings_of_one_service_run_concurrently(provider: AwsProvider) -> None:
    both = threading.Barrier(2, timeout=5)

    def slow(_: Scope) -> list[dict[str, Any]]:
        both.wait()  # deadlocks (BrokenBarrierError after 5 s) if the breaker serialises the calls
        return [{"id": "a", "x": 1}]

    results: list[Any] = []

    def run(name: str) -> None:
        results.append(provider._run_task(_rtype(slow, name), "us-east-1", "1"))

    threads = [threading.Thread(target=run, args=(n,)) for n in ("aws_fake_a", "aws_fake_b")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [err for _, err in results] == [None, None]


def test_the_default_region_token_resolves_to_the_sessions_region(provider: AwsProvider) -> None:
    from driftmgr.providers.base import DiscoveryResult

    result = DiscoveryResult()
    assert provider._resolve_regions(["eu-west-1", "default"], result) == ["eu-west-1", "us-east-1"]
    assert provider._resolve_regions(["us-east-1", "default"], result) == ["us-east-1"]
    assert provider._resolve_regions(None, result) == ["us-east-1"] and result.errors == []

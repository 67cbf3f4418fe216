"""The per-run memo of AWS read calls (providers/aws/calls.py): shared, copied, never across runs."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from driftmgr.providers.aws.calls import CallMemo, share_reads


class FakeClient:
    """Stands in for a botocore client: every call goes through `_make_api_call`."""

    def __init__(self, delay: float = 0.0) -> None:
        self.sent: list[tuple[str, dict[str, Any]]] = []
        self.delay = delay
        self.fail: set[str] = set()
        self._lock = threading.Lock()

    def _make_api_call(self, operation_name: str, api_params: dict[str, Any]) -> Any:
        with self._lock:
            self.sent.append((operation_name, api_params))
        time.sleep(self.delay)
        if operation_name in self.fail:
            raise RuntimeError(f"{operation_name} failed")
        return {"Items": [{"Id": "a", "Tags": [{"Key": "k", "Value": "v"}]}], "Op": operation_name}


def test_a_read_made_twice_in_one_run_is_sent_once_and_each_caller_gets_its_own_copy() -> None:
    fake = FakeClient()
    memo = CallMemo()
    client = share_reads(fake, "ec2", "us-east-1", lambda: memo)
    first = client._make_api_call("DescribeVpcs", {"Filters": [{"Name": "x", "Values": ["1"]}]})
    first["Items"][0]["_Annotated"] = True  # a detail function annotates its items
    second = client._make_api_call("DescribeVpcs", {"Filters": [{"Name": "x", "Values": ["1"]}]})
    assert len(fake.sent) == 1
    assert "_Annotated" not in second["Items"][0]
    assert second["Items"][0]["Tags"] == [{"Key": "k", "Value": "v"}]
    assert (memo.requests, memo.shared) == (1, 1)


def test_other_parameters_regions_or_writes_are_not_shared() -> None:
    fake_east, fake_west = FakeClient(), FakeClient()
    memo = CallMemo()
    east = share_reads(fake_east, "ec2", "us-east-1", lambda: memo)
    west = share_reads(fake_west, "ec2", "eu-west-1", lambda: memo)
    east._make_api_call("DescribeVpcs", {})
    east._make_api_call("DescribeVpcs", {"NextToken": "2"})
    west._make_api_call("DescribeVpcs", {})
    east._make_api_call("CreateTags", {"Resources": ["vpc-1"]})
    east._make_api_call("CreateTags", {"Resources": ["vpc-1"]})
    assert (len(fake_east.sent), len(fake_west.sent)) == (4, 1)


def test_outside_a_run_every_call_goes_out() -> None:
    fake = FakeClient()
    client = share_reads(fake, "ec2", "us-east-1", lambda: None)
    client._make_api_call("DescribeVpcs", {})
    client._make_api_call("DescribeVpcs", {})
    assert len(fake.sent) == 2


def test_a_new_run_asks_again() -> None:
    fake = FakeClient()
    runs = [CallMemo()]
    client = share_reads(fake, "ec2", "us-east-1", lambda: runs[-1])
    client._make_api_call("DescribeVpcs", {})
    runs.append(CallMemo())
    client._make_api_call("DescribeVpcs", {})
    assert len(fake.sent) == 2


def test_concurrent_callers_wait_for_the_request_in_flight() -> None:
    fake = FakeClient(delay=0.2)
    memo = CallMemo()
    client = share_reads(fake, "s3", "us-east-1", lambda: memo)
    results: list[Any] = []
    threads = [
        threading.Thread(target=lambda: results.append(client._make_api_call("ListBuckets", {})))
        for _ in range(8)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(fake.sent) == 1
    assert len(results) == 8 and all(r["Op"] == "ListBuckets" for r in results)
    assert len({id(r) for r in results}) == 8  # eight copies, no shared containers


def test_a_failed_call_is_not_shared_every_caller_asks_itself() -> None:
    fake = FakeClient()
    fake.fail.add("GetBucketPolicy")
    memo = CallMemo()
    client = share_reads(fake, "s3", "us-east-1", lambda: memo)
    for _ in range(2):
        with pytest.raises(RuntimeError, match="GetBucketPolicy failed"):
            client._make_api_call("GetBucketPolicy", {"Bucket": "b"})
    assert len(fake.sent) == 2
    fake.fail.clear()
    assert client._make_api_call("GetBucketPolicy", {"Bucket": "b"})["Op"] == "GetBucketPolicy"


def test_types_reading_the_same_listing_share_one_request_per_run(aws_env: Any) -> None:
    import boto3

    from driftmgr.providers.aws.provider import AwsProvider

    ec2 = boto3.client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.40.0.0/16")["Vpc"]["VpcId"]
    table = ec2.create_route_table(VpcId=vpc)["RouteTable"]["RouteTableId"]
    session = boto3.Session(region_name="us-east-1")
    sent: list[str] = []
    session.events.register("before-send.ec2", lambda request, **_: sent.append(request.body))
    provider = AwsProvider(session=session)
    types = ["aws_vpc", "aws_route_table", "aws_route", "aws_route_table_association"]
    found = {(r.type, r.id): r for r in provider.discover(types=types).resources}
    # aws_vpc reads its main route table from the listing the route types read: one request.
    assert sum("Action=DescribeRouteTables" in str(b) for b in sent) == 1
    assert sum("Action=DescribeVpcs" in str(b) for b in sent) == 1
    assert ("aws_route_table", table) in found
    main = found[("aws_vpc", vpc)].attributes["main_route_table_id"]
    assert main and main != table
    sent.clear()
    provider.discover(types=types)  # a new run reads again
    assert sum("Action=DescribeRouteTables" in str(b) for b in sent) == 1

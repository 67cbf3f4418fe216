"""The drift demo's example infrastructure, built in a local AWS emulator (moto) the same way twice.

Why this works: moto draws every generated id (vpc-…, subnet-…, eipalloc-…, public IPs) from one
random generator that `POST /moto-api/seed?a=N` seeds. `build()` seeds it afresh before each call
that creates something, so every id depends only on the seed and on that one call: a fresh moto
given the calls of `build()` in the same order hands out the same ids — also when a moto release
changes what it creates by itself (the default VPC, which is why `build()` first makes moto create
it, before any seed).

- At development time scripts/make_demo_state.py does that, then runs the real `terraform import`
  (import blocks + `terraform apply`) of examples/drift-demo/*.tf, and the state Terraform wrote is
  committed as src/driftmgr/examples/drift-demo.tfstate.
- At demo time `driftmgr demo` does it again, checks that every id matches the state (a moto that
  draws ids differently would fail here: the demo then stops with an error, it never fakes a
  report), applies `OUT_OF_BAND_CHANGES` with boto3 and runs `driftmgr drift detect` on the state.

To extend the demo with a resource type once DriftMgr reads it: add the resource to
examples/drift-demo/main.tf, add the boto3 calls that create it at the end of `build()` (with
`fresh()` before each creating call), rerun scripts/make_demo_state.py (it checks that
`terraform plan` of the configuration on the imported state changes nothing), and update the
expected report in tests/cli/test_demo.py.
"""

from __future__ import annotations

import contextlib
import importlib.util
import itertools
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from driftmgr.errors import DriftMgrError

SEED = 20240611  # the n-th creating call of build() runs with moto seeded SEED * 1000 + n
REGION = "us-east-1"
STARTUP_TIMEOUT_S = 30.0
VPC_CIDR = "10.20.0.0/16"
PUBLIC = {"a": "10.20.1.0/24", "b": "10.20.2.0/24"}
PRIVATE = {"a": "10.20.11.0/24", "b": "10.20.12.0/24"}


_FAKE_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",  # the emulator's fake key
    "AWS_DEFAULT_REGION": REGION,
}


class DemoError(DriftMgrError):
    code = "demo"


@dataclass(frozen=True)
class Built:
    """One resource of the example: its Terraform address, the id in state and its import id."""

    address: str
    type: str
    id: str
    import_id: str


# --- the emulator ---------------------------------------------------------------------------------
@dataclass
class Emulator:
    endpoint: str
    process: subprocess.Popen[bytes]
    log: Path

    def post(self, path: str) -> None:
        url = f"{self.endpoint}{path}"  # http://127.0.0.1:PORT: the server we started
        req = urllib.request.Request(url, method="POST", data=b"")  # noqa: S310
        with urllib.request.urlopen(req, timeout=10) as resp:  # noqa: S310
            resp.read()

    def reset(self) -> None:
        """Empty moto: every backend is made anew (with its default VPC) on its next call."""
        self.post("/moto-api/reset")

    def seed(self, step: int) -> None:
        """Seed moto's id generator for the `step`-th creating call of `build()`."""
        self.post(f"/moto-api/seed?a={SEED * 1000 + step}")

    def stop(self) -> None:
        """Stop the server; its data lives only in memory, so a slow shutdown is cut short."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=1)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def running_emulator(workdir: Path) -> Iterator[Emulator]:
    """A moto server on a free 127.0.0.1 port, stopped (and its log removed) on exit."""
    if importlib.util.find_spec("moto") is None or importlib.util.find_spec("flask") is None:
        raise DemoError(
            "the drift demo needs the moto AWS emulator: pip install 'driftmgr[demo]' "
            "(or run scripts/demo, which installs it)"
        )
    log = workdir / "moto-server.log"
    port = _free_port()
    # moto itself uses boto3: none of the user's AWS settings (a profile, endpoints) may reach it.
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(_FAKE_CREDENTIALS)
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
        )
    emulator = Emulator(f"http://127.0.0.1:{port}", proc, log)
    try:
        _wait_ready(emulator)
        yield emulator
    finally:
        emulator.stop()
        log.unlink(missing_ok=True)


def _wait_ready(emulator: Emulator) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        if emulator.process.poll() is not None:
            tail = emulator.log.read_text(errors="replace").strip().splitlines()[-1:]
            raise DemoError(
                f"the moto server exited at startup (code {emulator.process.returncode})"
                + (f": {tail[0]}" if tail else "")
            )
        try:
            with urllib.request.urlopen(f"{emulator.endpoint}/moto-api/data.json", timeout=2) as resp:  # noqa: S310
                if resp.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            time.sleep(0.1)
    raise DemoError(f"the moto server did not answer on {emulator.endpoint} within {STARTUP_TIMEOUT_S:.0f}s")


@contextlib.contextmanager
def only_environment(prefix: str, values: dict[str, str]) -> Iterator[None]:
    """Hide every environment variable starting with `prefix`, set `values`, then restore them all."""
    saved = {k: v for k, v in os.environ.items() if k.startswith(prefix)}
    for k in saved:
        del os.environ[k]
    os.environ.update(values)
    try:
        yield
    finally:
        for k in [k for k in os.environ if k.startswith(prefix)]:
            del os.environ[k]
        os.environ.update(saved)


def emulator_environment(endpoint: str, workdir: Path) -> contextlib.AbstractContextManager[None]:
    """Point the standard boto3 chain at the emulator (AWS_ENDPOINT_URL, fake keys), then restore.

    Every other AWS_* variable (profiles, per-service endpoints, session tokens) is hidden meanwhile,
    so the demo never reaches a real account whatever the user's shell holds.
    """
    return only_environment(
        "AWS_",
        {
            **_FAKE_CREDENTIALS,
            "AWS_ENDPOINT_URL": endpoint,
            "AWS_CONFIG_FILE": str(workdir / "no-aws-config"),
            "AWS_SHARED_CREDENTIALS_FILE": str(workdir / "no-aws-credentials"),
            "AWS_EC2_METADATA_DISABLED": "true",
        },
    )


def ec2_client() -> Any:
    """An EC2 client from the environment, with no retries: a retried create would shift the ids."""
    import boto3
    from botocore.config import Config

    return boto3.session.Session().client(
        "ec2", region_name=REGION, config=Config(retries={"total_max_attempts": 1})
    )


# --- the example infrastructure (examples/drift-demo/main.tf) ------------------------------------
def _tags(kind: str, tags: dict[str, str]) -> list[dict[str, Any]]:
    return [{"ResourceType": kind, "Tags": [{"Key": k, "Value": v} for k, v in tags.items()]}]


def build(ec2: Any, seed: Callable[[int], None]) -> list[Built]:
    """Create the example infrastructure; `seed(n)` seeds the emulator before the n-th creating call.

    The calls and their order are part of the demo's contract: after changing them, rerun
    scripts/make_demo_state.py.
    """
    out: list[Built] = []
    creating_calls = itertools.count(1)

    def fresh() -> None:
        seed(next(creating_calls))

    def add(address: str, tf_type: str, rid: str, import_id: str | None = None) -> str:
        out.append(Built(address, tf_type, rid, import_id or rid))
        return rid

    ec2.describe_vpcs()  # moto creates the region's default VPC now, before the first seed

    fresh()
    resp = ec2.create_vpc(
        CidrBlock=VPC_CIDR, TagSpecifications=_tags("vpc", {"Name": "drift-demo", "env": "prod"})
    )
    vpc = add("aws_vpc.main", "aws_vpc", resp["Vpc"]["VpcId"])
    ec2.modify_vpc_attribute(VpcId=vpc, EnableDnsHostnames={"Value": True})

    subnets: dict[str, str] = {}
    for tier, cidrs in (("public", PUBLIC), ("private", PRIVATE)):
        for zone, cidr in cidrs.items():
            fresh()
            resp = ec2.create_subnet(
                VpcId=vpc,
                CidrBlock=cidr,
                AvailabilityZone=f"{REGION}{zone}",
                TagSpecifications=_tags("subnet", {"Name": f"{tier}-{zone}", "tier": tier}),
            )
            sid = add(f'aws_subnet.{tier}["{zone}"]', "aws_subnet", resp["Subnet"]["SubnetId"])
            if tier == "public":
                ec2.modify_subnet_attribute(SubnetId=sid, MapPublicIpOnLaunch={"Value": True})
            subnets[f"{tier}-{zone}"] = sid

    fresh()
    resp = ec2.create_internet_gateway(TagSpecifications=_tags("internet-gateway", {"Name": "drift-demo"}))
    igw = add(
        "aws_internet_gateway.main", "aws_internet_gateway", resp["InternetGateway"]["InternetGatewayId"]
    )
    ec2.attach_internet_gateway(InternetGatewayId=igw, VpcId=vpc)

    fresh()
    resp = ec2.allocate_address(Domain="vpc", TagSpecifications=_tags("elastic-ip", {"Name": "nat"}))
    eip = add("aws_eip.nat", "aws_eip", resp["AllocationId"])
    fresh()
    resp = ec2.create_nat_gateway(
        SubnetId=subnets["public-a"],
        AllocationId=eip,
        ConnectivityType="public",  # the provider sends it; moto leaves it empty when absent
        TagSpecifications=_tags("natgateway", {"Name": "drift-demo"}),
    )
    nat = add("aws_nat_gateway.main", "aws_nat_gateway", resp["NatGateway"]["NatGatewayId"])

    tables: dict[str, str] = {}
    for tier, target in (("public", {"GatewayId": igw}), ("private", {"NatGatewayId": nat})):
        fresh()
        resp = ec2.create_route_table(VpcId=vpc, TagSpecifications=_tags("route-table", {"Name": tier}))
        rtb = add(f"aws_route_table.{tier}", "aws_route_table", resp["RouteTable"]["RouteTableId"])
        tables[tier] = rtb
        ec2.create_route(RouteTableId=rtb, DestinationCidrBlock="0.0.0.0/0", **target)
        add(f"aws_route.{tier}_default", "aws_route", _route_id(rtb, "0.0.0.0/0"), f"{rtb}_0.0.0.0/0")
        for zone in PUBLIC if tier == "public" else PRIVATE:
            subnet = subnets[f"{tier}-{zone}"]
            fresh()
            resp = ec2.associate_route_table(RouteTableId=rtb, SubnetId=subnet)
            address = f'aws_route_table_association.{tier}["{zone}"]'
            add(address, "aws_route_table_association", resp["AssociationId"], f"{subnet}/{rtb}")

    fresh()
    resp = ec2.create_network_acl(VpcId=vpc, TagSpecifications=_tags("network-acl", {"Name": "private"}))
    acl = add("aws_network_acl.private", "aws_network_acl", resp["NetworkAcl"]["NetworkAclId"])
    ec2.create_network_acl_entry(
        NetworkAclId=acl,
        RuleNumber=100,
        Protocol="6",
        RuleAction="allow",
        Egress=False,
        CidrBlock=VPC_CIDR,
        PortRange={"From": 443, "To": 443},
    )
    ec2.create_network_acl_entry(
        NetworkAclId=acl,
        RuleNumber=100,
        Protocol="-1",
        RuleAction="allow",
        Egress=True,
        CidrBlock="0.0.0.0/0",
    )
    _associate_acl(ec2, acl, [subnets[f"private-{z}"] for z in PRIVATE])

    fresh()
    resp = ec2.create_vpc_endpoint(
        VpcId=vpc,
        ServiceName=f"com.amazonaws.{REGION}.s3",
        VpcEndpointType="Gateway",
        RouteTableIds=[tables["private"]],
        TagSpecifications=_tags("vpc-endpoint", {"Name": "s3"}),
    )
    add("aws_vpc_endpoint.s3", "aws_vpc_endpoint", resp["VpcEndpoint"]["VpcEndpointId"])
    return out


def _route_id(route_table_id: str, destination: str) -> str:
    """The id the aws provider stores for an aws_route: "r-" + table id + crc32 of the destination."""
    return f"r-{route_table_id}{zlib.crc32(destination.encode())}"


def _associate_acl(ec2: Any, acl: str, subnet_ids: list[str]) -> None:
    """Move the subnets from the VPC's default network ACL to `acl`, as the provider does."""
    acls = ec2.describe_network_acls(Filters=[{"Name": "association.subnet-id", "Values": subnet_ids}])
    current = {
        a["SubnetId"]: a["NetworkAclAssociationId"]
        for n in acls["NetworkAcls"]
        for a in n.get("Associations") or []
    }
    for subnet in subnet_ids:
        ec2.replace_network_acl_association(AssociationId=current[subnet], NetworkAclId=acl)


# --- what someone changes behind Terraform's back -----------------------------------------------
HAND_MADE_CIDR = "10.20.99.0/24"


def _retag(ec2: Any, ids: dict[str, str]) -> None:
    ec2.create_tags(Resources=[ids["aws_vpc.main"]], Tags=[{"Key": "env", "Value": "staging"}])


def _public_ips(ec2: Any, ids: dict[str, str]) -> None:
    ec2.modify_subnet_attribute(SubnetId=ids['aws_subnet.private["a"]'], MapPublicIpOnLaunch={"Value": True})


def _open_ssh(ec2: Any, ids: dict[str, str]) -> None:
    ec2.create_network_acl_entry(
        NetworkAclId=ids["aws_network_acl.private"],
        RuleNumber=90,
        Protocol="6",
        RuleAction="allow",
        Egress=False,
        CidrBlock="0.0.0.0/0",
        PortRange={"From": 22, "To": 22},
    )


def _delete_route(ec2: Any, ids: dict[str, str]) -> None:
    ec2.delete_route(RouteTableId=ids["aws_route_table.private"], DestinationCidrBlock="0.0.0.0/0")


def _hand_made_subnet(ec2: Any, ids: dict[str, str]) -> str:
    return str(
        ec2.create_subnet(
            VpcId=ids["aws_vpc.main"],
            CidrBlock=HAND_MADE_CIDR,
            AvailabilityZone=f"{REGION}a",
            TagSpecifications=_tags("subnet", {"Name": "debug-by-hand"}),
        )["Subnet"]["SubnetId"]
    )


ChangeFn = Callable[[Any, dict[str, str]], str | None]  # (ec2, {address: id}) -> id of a new resource
OUT_OF_BAND_CHANGES: tuple[tuple[str, ChangeFn], ...] = (
    ("tag edit: aws_vpc.main tag env changed from prod to staging", _retag),
    ('setting flip: aws_subnet.private["a"] now gives instances public IPs', _public_ips),
    ("rule added: aws_network_acl.private now allows SSH (tcp/22) from 0.0.0.0/0", _open_ssh),
    ("deleted: aws_route.private_default, the private subnets' route to the NAT gateway", _delete_route),
    (f"hand-made: subnet {HAND_MADE_CIDR} created in the console, in no state", _hand_made_subnet),
)


def apply_out_of_band_changes(ec2: Any, ids: dict[str, str]) -> list[tuple[str, str | None]]:
    """Make the demo's out-of-band changes; returns (description, id of a created resource or None)."""
    return [(text, change(ec2, ids)) for text, change in OUT_OF_BAND_CHANGES]

"""Benchmark (issue 3, a): `driftmgr drift detect` vs `terraform plan -refresh-only`, same state and emulator.

Usage: python benchmarks/drift_vs_refresh.py [--small 30] [--large 300] [--rounds 3] [--keep DIR]

Starts its own moto server (free loopback port) and, with the real Terraform CLI and the hashicorp/aws
provider from a local filesystem mirror (found as tests/fixtures/terraform.py finds them; every
endpoint points at moto), applies a configuration of about --small resources, then times, alternating
in the same run, `terraform plan -refresh-only -json` (default -parallelism, 10) and
`driftmgr drift detect --state terraform.tfstate --format json` (the console script next to
sys.executable; AWS_ENDPOINT_URL and fake credentials in its environment). It then resets moto and
does the same at --large resources (at least that many).

The configuration is built from the AWS types DriftMgr reads at run time
(`registered_types("aws")`): every block of the catalog below whose types are all registered is
used, so the benchmark grows with coverage. `drift detect` runs as users run it: it discovers every
registered type in the state's regions (`--filter` only filters the report, it narrows no API call).
A third, untimed-for-the-ratio line shows the same detection with discovery limited to the state's
types (DetectOptions.types, which the CLI does not expose), to show what that restriction would buy;
another, when the CLI has it, runs `drift detect --no-store` (without recording the scan in the
history database). DriftMgr runs from bytecode, as an installed package does: PYTHONDONTWRITEBYTECODE
is dropped from its environment, so the untimed first pass writes the bytecode.

Besides the timings it prints the headline: on the untouched state, how many resources Terraform's
refresh-only plan reports as changed ("noise") and how many DriftMgr reports as drifted/missing/
unmanaged. Targets (issue 3): ≥5× faster at ~30 resources, ≥10× at ≥300.
"""

from __future__ import annotations

import argparse
import collections
import json
import math
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "src"))

from tests.fixtures.moto_server import MotoServer, start_moto  # noqa: E402
from tests.fixtures.terraform import Terraform, find_mirror  # noqa: E402

REGION = "us-east-1"
TERRAFORM = "terraform plan -refresh-only"
DRIFTMGR = "driftmgr drift detect"
ONLY_STATE_TYPES = "driftmgr, state's types only"
NO_STORE = "driftmgr detect --no-store"


@dataclass(frozen=True)
class Block:
    """HCL for one unit of the configuration, repeated `count` times; used when all `types` are read."""

    name: str
    types: tuple[str, ...]  # one per resource the block creates (repeats allowed)
    hcl: str
    needs: tuple[str, ...] = ()  # other blocks it references


# Each block repeats `local.n` times (count.index = the unit); `local.run` makes global names unique.
CATALOG = (
    Block("vpc", ("aws_vpc",), """
resource "aws_vpc" "v" {
  count                = local.n
  cidr_block           = "10.${count.index}.0.0/16"
  enable_dns_hostnames = true
  tags                 = { Name = "bench-${count.index}", env = "bench" }
}"""),
    Block("subnets", ("aws_subnet", "aws_subnet"), """
resource "aws_subnet" "a" {
  count             = local.n
  vpc_id            = aws_vpc.v[count.index].id
  cidr_block        = "10.${count.index}.1.0/24"
  availability_zone = "us-east-1a"
  tags              = { Name = "a-${count.index}" }
}
resource "aws_subnet" "b" {
  count                   = local.n
  vpc_id                  = aws_vpc.v[count.index].id
  cidr_block              = "10.${count.index}.2.0/24"
  availability_zone       = "us-east-1b"
  map_public_ip_on_launch = true
  tags                    = { Name = "b-${count.index}" }
}""", ("vpc",)),
    Block("igw", ("aws_internet_gateway",), """
resource "aws_internet_gateway" "gw" {
  count  = local.n
  vpc_id = aws_vpc.v[count.index].id
  tags   = { Name = "gw-${count.index}" }
}""", ("vpc",)),
    Block("route_table", ("aws_route_table",), """
resource "aws_route_table" "rt" {
  count  = local.n
  vpc_id = aws_vpc.v[count.index].id
  tags   = { Name = "rt-${count.index}" }
}""", ("vpc",)),
    Block("route", ("aws_route",), """
resource "aws_route" "default" {
  count                  = local.n
  route_table_id         = aws_route_table.rt[count.index].id
  destination_cidr_block = "0.0.0.0/0"
  gateway_id             = aws_internet_gateway.gw[count.index].id
}""", ("route_table", "igw")),
    Block("rt_assoc", ("aws_route_table_association",), """
resource "aws_route_table_association" "a" {
  count          = local.n
  subnet_id      = aws_subnet.a[count.index].id
  route_table_id = aws_route_table.rt[count.index].id
}""", ("route_table", "subnets")),
    Block("sg_inline", ("aws_security_group",), """
resource "aws_security_group" "web" {
  count       = local.n
  name        = "web-${count.index}"
  description = "web"
  vpc_id      = aws_vpc.v[count.index].id
  ingress {
    from_port   = 443
    to_port     = 443
    protocol    = "tcp"
    cidr_blocks = ["0.0.0.0/0"]
  }
  egress {
    from_port   = 0
    to_port     = 0
    protocol    = "-1"
    cidr_blocks = ["0.0.0.0/0"]
  }
  tags = { Name = "web-${count.index}" }
}""", ("vpc",)),
    Block("sg_rule", ("aws_security_group", "aws_security_group_rule"), """
resource "aws_security_group" "app" {
  count       = local.n
  name        = "app-${count.index}"
  description = "app"
  vpc_id      = aws_vpc.v[count.index].id
}
resource "aws_security_group_rule" "app_in" {
  count             = local.n
  type              = "ingress"
  security_group_id = aws_security_group.app[count.index].id
  from_port         = 8080
  to_port           = 8080
  protocol          = "tcp"
  cidr_blocks       = ["10.0.0.0/8"]
}""", ("vpc",)),
    Block("sg_vpc_rules", ("aws_security_group", "aws_vpc_security_group_ingress_rule",
                           "aws_vpc_security_group_egress_rule"), """
resource "aws_security_group" "db" {
  count       = local.n
  name        = "db-${count.index}"
  description = "db"
  vpc_id      = aws_vpc.v[count.index].id
}
resource "aws_vpc_security_group_ingress_rule" "db_in" {
  count             = local.n
  security_group_id = aws_security_group.db[count.index].id
  ip_protocol       = "tcp"
  from_port         = 5432
  to_port           = 5432
  cidr_ipv4         = "10.${count.index}.0.0/16"
}
resource "aws_vpc_security_group_egress_rule" "db_out" {
  count             = local.n
  security_group_id = aws_security_group.db[count.index].id
  ip_protocol       = "-1"
  cidr_ipv4         = "0.0.0.0/0"
}""", ("vpc",)),
    Block("nacl", ("aws_network_acl",), """
resource "aws_network_acl" "acl" {
  count      = local.n
  vpc_id     = aws_vpc.v[count.index].id
  subnet_ids = [aws_subnet.b[count.index].id]
  ingress {
    protocol   = "tcp"
    rule_no    = 100
    action     = "allow"
    cidr_block = "10.0.0.0/8"
    from_port  = 443
    to_port    = 443
  }
  tags = { Name = "acl-${count.index}" }
}""", ("subnets",)),
    Block("eip", ("aws_eip",), """
resource "aws_eip" "e" {
  count  = local.n
  domain = "vpc"
  tags   = { Name = "eip-${count.index}" }
}"""),
    Block("bucket", ("aws_s3_bucket",), """
resource "aws_s3_bucket" "b" {
  count  = local.n
  bucket = "bench-${local.run}-${count.index}"
  tags   = { env = "bench" }
}"""),
    Block("bucket_versioning", ("aws_s3_bucket_versioning",), """
resource "aws_s3_bucket_versioning" "b" {
  count  = local.n
  bucket = aws_s3_bucket.b[count.index].id
  versioning_configuration { status = "Enabled" }
}""", ("bucket",)),
    Block("bucket_pab", ("aws_s3_bucket_public_access_block",), """
resource "aws_s3_bucket_public_access_block" "b" {
  count                   = local.n
  bucket                  = aws_s3_bucket.b[count.index].id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}""", ("bucket",)),
    Block("bucket_sse", ("aws_s3_bucket_server_side_encryption_configuration",), """
resource "aws_s3_bucket_server_side_encryption_configuration" "b" {
  count  = local.n
  bucket = aws_s3_bucket.b[count.index].id
  rule {
    apply_server_side_encryption_by_default { sse_algorithm = "AES256" }
  }
}""", ("bucket",)),
    Block("bucket_policy", ("aws_s3_bucket_policy",), """
resource "aws_s3_bucket_policy" "b" {
  count  = local.n
  bucket = aws_s3_bucket.b[count.index].id
  policy = jsonencode({
    Version   = "2012-10-17"
    Statement = [{ Effect = "Deny", Principal = "*", Action = "s3:DeleteBucket",
                   Resource = aws_s3_bucket.b[count.index].arn }]
  })
}""", ("bucket",)),
    Block("ecr", ("aws_ecr_repository",), """
resource "aws_ecr_repository" "r" {
  count = local.n
  name  = "bench-${count.index}"
}"""),
    Block("ecs", ("aws_ecs_cluster",), """
resource "aws_ecs_cluster" "c" {
  count = local.n
  name  = "bench-${count.index}"
}"""),
    Block("dynamodb", ("aws_dynamodb_table",), """
resource "aws_dynamodb_table" "t" {
  count        = local.n
  name         = "bench-${count.index}"
  billing_mode = "PAY_PER_REQUEST"
  hash_key     = "id"
  attribute {
    name = "id"
    type = "S"
  }
}"""),
    Block("ebs", ("aws_ebs_volume",), """
resource "aws_ebs_volume" "v" {
  count             = local.n
  availability_zone = "us-east-1a"
  size              = 8
  tags              = { Name = "vol-${count.index}" }
}"""),
    Block("key_pair", ("aws_key_pair",), """
resource "aws_key_pair" "k" {
  count      = local.n
  key_name   = "bench-${count.index}"
  public_key = local.public_key
}"""),
    Block("launch_template", ("aws_launch_template",), """
resource "aws_launch_template" "lt" {
  count         = local.n
  name          = "bench-${count.index}"
  image_id      = "ami-12c6146b"
  instance_type = "t3.micro"
}"""),
    Block("target_group", ("aws_lb_target_group",), """
resource "aws_lb_target_group" "tg" {
  count    = local.n
  name     = "bench-${count.index}"
  port     = 80
  protocol = "HTTP"
  vpc_id   = aws_vpc.v[count.index].id
}""", ("vpc",)),
    Block("db_subnet_group", ("aws_db_subnet_group",), """
resource "aws_db_subnet_group" "g" {
  count      = local.n
  name       = "bench-${count.index}"
  subnet_ids = [aws_subnet.a[count.index].id, aws_subnet.b[count.index].id]
}""", ("subnets",)),
    # Types on the list that DriftMgr does not read yet: used as soon as they register.
    Block("sqs", ("aws_sqs_queue",), """
resource "aws_sqs_queue" "q" {
  count = local.n
  name  = "bench-${count.index}"
}"""),
    Block("sns", ("aws_sns_topic",), """
resource "aws_sns_topic" "t" {
  count = local.n
  name  = "bench-${count.index}"
}"""),
    Block("log_group", ("aws_cloudwatch_log_group",), """
resource "aws_cloudwatch_log_group" "g" {
  count             = local.n
  name              = "/bench/${count.index}"
  retention_in_days = 7
}"""),
    Block("ssm", ("aws_ssm_parameter",), """
resource "aws_ssm_parameter" "p" {
  count = local.n
  name  = "/bench/${count.index}"
  type  = "String"
  value = "v${count.index}"
}"""),
    Block("iam_role", ("aws_iam_role",), """
resource "aws_iam_role" "r" {
  count = local.n
  name  = "bench-${count.index}"
  assume_role_policy = jsonencode({
    Version   = "2012-10-17"
    Statement = [{ Effect = "Allow", Action = "sts:AssumeRole",
                   Principal = { Service = "ec2.amazonaws.com" } }]
  })
}"""),
    Block("iam_policy", ("aws_iam_policy",), """
resource "aws_iam_policy" "p" {
  count = local.n
  name  = "bench-${count.index}"
  policy = jsonencode({
    Version   = "2012-10-17"
    Statement = [{ Effect = "Allow", Action = ["s3:GetObject"], Resource = "*" }]
  })
}"""),
    Block("iam_attach", ("aws_iam_role_policy_attachment",), """
resource "aws_iam_role_policy_attachment" "a" {
  count      = local.n
  role       = aws_iam_role.r[count.index].name
  policy_arn = aws_iam_policy.p[count.index].arn
}""", ("iam_role", "iam_policy")),
    Block("route53_zone", ("aws_route53_zone",), """
resource "aws_route53_zone" "z" {
  count = local.n
  name  = "bench${count.index}.example.com"
}"""),
    Block("secret", ("aws_secretsmanager_secret",), """
resource "aws_secretsmanager_secret" "s" {
  count                   = local.n
  name                    = "bench-${count.index}"
  recovery_window_in_days = 0
}"""),
)  # fmt: skip


def select_blocks(registered: set[str]) -> list[Block]:
    chosen: dict[str, Block] = {}
    for block in CATALOG:  # the catalog lists blocks after the blocks they need
        if set(block.types) <= registered and all(n in chosen for n in block.needs):
            chosen[block.name] = block
    return list(chosen.values())


def render_config(blocks: list[Block], units: int, run: str, public_key: str) -> str:
    head = f'locals {{\n  n          = {units}\n  run        = "{run}"\n  public_key = "{public_key}"\n}}\n'
    return head + "\n".join(b.hcl for b in blocks) + "\n"


def make_public_key() -> str:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ed25519

    key = ed25519.Ed25519PrivateKey.generate().public_key()
    return key.public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH).decode()


# --- emulator and tools -----------------------------------------------------------------------------
def start_emulator() -> MotoServer:
    """The tests' moto server on a free loopback port (moto_server next to sys.executable)."""
    import pytest

    try:
        return start_moto()
    except (pytest.skip.Exception, pytest.fail.Exception) as exc:
        raise SystemExit(f"cannot start moto: {exc}") from None


def find_terraform(tmp: Path) -> Terraform:
    binary = shutil.which("terraform")
    if not binary:
        raise SystemExit("the Terraform CLI is not on PATH")
    mirror = find_mirror()
    if mirror is None:
        raise SystemExit("no hashicorp/aws provider in a filesystem mirror (set TF_PLUGIN_MIRROR)")
    versions = sorted(p.name for p in (mirror / "registry.terraform.io" / "hashicorp" / "aws").iterdir())
    rc = tmp / "terraformrc"
    rc.write_text(
        "provider_installation {\n"
        f'  filesystem_mirror {{\n    path = "{mirror}"\n'
        '    include = ["registry.terraform.io/hashicorp/*"]\n  }\n'
        '  direct { exclude = ["registry.terraform.io/hashicorp/*"] }\n}\n'
    )
    return Terraform(binary=binary, rc_file=rc, provider_version=versions[-1])


def aws_env(endpoint: str, tmp: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "DRIFTMGR_"))}
    env.update(
        AWS_ENDPOINT_URL=endpoint,
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_DEFAULT_REGION=REGION,
        AWS_CONFIG_FILE=str(tmp / "aws-config-absent"),
        AWS_SHARED_CREDENTIALS_FILE=str(tmp / "aws-credentials-absent"),
        AWS_EC2_METADATA_DISABLED="true",
        DRIFTMGR_DATA_DIR=str(tmp / "driftmgr-data"),
    )
    return env


# --- the timed commands -------------------------------------------------------------------------
RESTRICTED = """
import sys
from driftmgr.engine.render import render
from driftmgr.services.drift import DetectOptions, DriftService
from driftmgr.services.state import StateService, expand_sources
state = sys.argv[1]
types = set()
with StateService().open_reader(expand_sources([state])[0]) as reader:
    types = {i.type for i in reader.iter_instances() if i.mode == "managed"}
report = DriftService().detect([state], DetectOptions(types=sorted(types)))
out = render(report, "json")
sys.stdout.buffer.write(out.encode() if isinstance(out, str) else out)
"""


def timed(argv: list[str], cwd: Path, env: dict[str, str], ok: tuple[int, ...]) -> tuple[float, str]:
    start = time.perf_counter()
    proc = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=3600)
    elapsed = time.perf_counter() - start
    if proc.returncode not in ok:
        raise SystemExit(f"command failed ({proc.returncode}): {' '.join(argv)}\n{proc.stderr[-3000:]}")
    return elapsed, proc.stdout


def has_option(driftmgr: str, env: dict[str, str], option: str) -> bool:
    proc = subprocess.run([driftmgr, "drift", "detect", "--help"], env=env, capture_output=True, text=True)
    return option in proc.stdout


def terraform_noise(stdout: str) -> list[dict[str, Any]]:
    out = []
    for line in stdout.splitlines():
        try:
            msg = json.loads(line)
        except ValueError:
            continue
        if msg.get("type") == "resource_drift":
            out.append(msg["change"])
    return out


def summarize_driftmgr(stdout: str) -> tuple[dict[str, Any], list[str], list[str]]:
    doc = json.loads(stdout)
    drifted = [
        f"{r['type']} {r.get('address') or r['id']} {[c['path'] for c in r.get('changes') or []]}"
        for r in doc["resources"]
        if r["status"] == "drifted"
    ]
    other = [
        f"{r['status']}: {r['type']} {r.get('address') or r['id']}"
        for r in doc["resources"]
        if r["status"] in ("missing", "unmanaged", "unsupported")
    ]
    return doc["summary"], drifted, other


def bench_size(
    tf: Terraform, moto: MotoServer, blocks: list[Block], units: int, rounds: int, tmp: Path, pubkey: str
) -> dict[str, float]:
    work = tmp / f"units-{units}"
    n_resources = units * sum(len(b.types) for b in blocks)
    print(f"\n=== {n_resources} resources ({units} unit(s) of {len(blocks)} blocks) ===")
    t0 = time.perf_counter()
    config = render_config(blocks, units, f"u{units}", pubkey)
    work.mkdir(parents=True, exist_ok=True)
    (work / "provider.tf").write_text(tf.provider_block(moto.endpoint, REGION))
    (work / "main.tf").write_text(config)
    tf.run(work, "init", "-input=false", "-no-color")
    tf.run(work, "apply", "-auto-approve", "-input=false", "-no-color", "-parallelism=8", timeout=3600)
    state_path = work / "terraform.tfstate"
    state = json.loads(state_path.read_text())
    in_state = sum(len(r["instances"]) for r in state["resources"] if r["mode"] == "managed")
    print(f"applied {in_state} resources in {time.perf_counter() - t0:.0f}s (terraform apply -parallelism=8)")

    env = {**tf.env(), **aws_env(moto.endpoint, tmp)}
    driftmgr = str(Path(sys.executable).with_name("driftmgr"))
    # Python runs from bytecode, as an installed package does (pip compiles it at install time): the
    # untimed first pass writes it, if PYTHONDONTWRITEBYTECODE in this shell would otherwise have every
    # run compile DriftMgr's sources again. Terraform is a compiled binary.
    dm_env = {k: v for k, v in env.items() if k != "PYTHONDONTWRITEBYTECODE"}
    commands: dict[str, tuple[list[str], tuple[int, ...], dict[str, str]]] = {
        TERRAFORM: (
            [tf.binary, "plan", "-refresh-only", "-json", "-input=false", "-no-color"],
            (0,),
            env,
        ),
        DRIFTMGR: (
            [driftmgr, "drift", "detect", "--state", str(state_path), "--format", "json"],
            (0, 1, 2),
            dm_env,
        ),
        ONLY_STATE_TYPES: ([sys.executable, "-c", RESTRICTED, str(state_path)], (0,), dm_env),
    }
    if has_option(driftmgr, dm_env, "--no-store"):  # for information: the run without the scan history
        argv = [*commands[DRIFTMGR][0], "--no-store"]
        commands[NO_STORE] = (argv, (0, 1, 2), dm_env)
    # Untimed first pass: warms caches, and gives the headline counts.
    outputs = {name: timed(argv, work, cmd_env, ok)[1] for name, (argv, ok, cmd_env) in commands.items()}
    noise = terraform_noise(outputs[TERRAFORM])
    summary, drifted, other = summarize_driftmgr(outputs[DRIFTMGR])
    r_summary, _, _ = summarize_driftmgr(outputs[ONLY_STATE_TYPES])
    by_type = collections.Counter(c["resource"]["resource_type"] for c in noise)
    print(
        f"untouched state: terraform refresh-only reports {len(noise)} of {in_state} resources changed "
        f"(noise): {dict(sorted(by_type.items()))}"
    )
    print(
        "driftmgr drift detect: "
        + ", ".join(
            f"{k} {summary.get(k)}"
            for k in ("total", "in_sync", "drifted", "missing", "unmanaged", "unsupported", "defaults")
        )
        + f"; coverage {summary.get('coverage')}"
    )
    print(
        f"{ONLY_STATE_TYPES}: "
        + ", ".join(f"{k} {r_summary.get(k)}" for k in ("drifted", "missing", "unmanaged", "defaults"))
    )
    for line in (drifted + other)[:15]:
        print(f"  {line}")
    if len(drifted) + len(other) > 15:
        print(f"  … {len(drifted) + len(other) - 15} more")

    times: dict[str, list[float]] = {name: [] for name in commands}
    served: dict[str, list[float]] = {name: [] for name in commands}  # emulator CPU per run
    for i in range(rounds):
        for name, (argv, ok, cmd_env) in commands.items():
            cpu = emulator_cpu(moto)
            t, _ = timed(argv, work, cmd_env, ok)
            served[name].append(emulator_cpu(moto) - cpu)
            times[name].append(t)
            print(f"round {i + 1}: {name:30s} {t:7.2f} s   (moto busy {served[name][-1]:5.2f} s CPU)")
    med = {name: statistics.median(v) for name, v in times.items()}
    base = med[TERRAFORM]
    print()
    for name, m in med.items():
        print(
            f"median {name:30s} {m:7.2f} s   speed-up vs terraform {base / m:5.1f}x   "
            f"moto CPU {statistics.median(served[name]):5.2f} s"
        )
    floor = statistics.median(served[DRIFTMGR])
    print(
        f"moto is one process: answering driftmgr's requests alone takes {floor:.2f} s of its CPU, so "
        f"driftmgr cannot beat {base / floor:.1f}x against this emulator"
    )
    return {"resources": n_resources, **med, "moto_floor": floor}


def emulator_cpu(moto: MotoServer) -> float:
    """CPU seconds (user + system) the moto server process has used so far (Linux /proc)."""
    try:
        fields = Path(f"/proc/{moto.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return math.nan
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--small", type=int, default=30, help="about this many resources")
    ap.add_argument("--large", type=int, default=300, help="at least this many resources")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--keep", help="keep the Terraform working directories here")
    args = ap.parse_args()

    from driftmgr.providers.base import registered_types

    registered = set(registered_types("aws"))
    blocks = select_blocks(registered)
    per_unit = sum(len(b.types) for b in blocks)
    used = sorted({t for b in blocks for t in b.types})
    print(
        f"driftmgr reads {len(registered)} AWS types; the configuration uses {len(used)}: {', '.join(used)}"
    )
    print(f"one unit = {per_unit} resources")

    tmpdir = tempfile.TemporaryDirectory()
    tmp = Path(args.keep) if args.keep else Path(tmpdir.name)
    tmp.mkdir(parents=True, exist_ok=True)
    tf = find_terraform(tmp)
    version = subprocess.run([tf.binary, "version"], capture_output=True, text=True, env=tf.env()).stdout
    print(
        f"{version.splitlines()[0]}, hashicorp/aws {tf.provider_version}; plan uses -parallelism=10 (default)"
    )
    pubkey = make_public_key()
    moto = start_emulator()
    results = []
    try:
        small = max(1, round(args.small / per_unit))
        large = max(1, math.ceil(args.large / per_unit))
        for units in (small, large):
            moto.reset()
            results.append(bench_size(tf, moto, blocks, units, args.rounds, tmp, pubkey))
    finally:
        moto.stop()
        tmpdir.cleanup()
    print("\n=== summary (medians) ===")
    for res, target in zip(results, (5, 10), strict=True):
        tfm, dm = res[TERRAFORM], res[DRIFTMGR]
        print(
            f"{res['resources']:5.0f} resources: terraform {tfm:6.2f} s, driftmgr {dm:6.2f} s -> "
            f"{tfm / dm:5.1f}x faster (target >= {target}x); state's types only "
            f"{res[ONLY_STATE_TYPES]:6.2f} s"
            + (f"; without storing the scan {res[NO_STORE]:6.2f} s" if NO_STORE in res else "")
        )
    print(f"cpus: {os.cpu_count()}  load average: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()

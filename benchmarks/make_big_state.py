"""Build a large, realistic Terraform v4 state file for benchmarks.

Usage: python benchmarks/make_big_state.py OUT.tfstate [--instances 100000]

Instances are spread over resource types, modules, count and for_each keys, and each carries
attributes shaped like real AWS instances (nested blocks, tags, policies), so that the file size
per instance (~1.25 kB) matches real large estates.
"""

from __future__ import annotations

import argparse
import json
import random
import uuid


def _attributes(kind: str, n: int, rnd: random.Random) -> dict[str, object]:
    base: dict[str, object] = {
        "arn": f"arn:aws:ec2:us-east-1:123456789012:{kind}/{kind}-{n:08x}",
        "tags": {"Name": f"{kind}-{n}", "env": rnd.choice(["prod", "dev", "stage"]), "team": "platform"},
        "tags_all": {"Name": f"{kind}-{n}", "env": "prod", "team": "platform"},
    }
    if kind == "instance":
        base.update(
            id=f"i-{n:017x}",
            ami="ami-0c55b159cbfafe1f0",
            instance_type=rnd.choice(["t3.micro", "t3.large", "m5.xlarge"]),
            subnet_id=f"subnet-{n % 997:017x}",
            vpc_security_group_ids=[f"sg-{n % 113:017x}", f"sg-{n % 17:017x}"],
            root_block_device=[
                {
                    "delete_on_termination": True,
                    "volume_size": 8,
                    "volume_type": "gp3",
                    "encrypted": False,
                    "iops": 3000,
                    "throughput": 125,
                }
            ],
            private_ip=f"10.{n % 250}.{(n // 250) % 250}.{n % 200 + 10}",
            monitoring=False,
            user_data=None,
            credit_specification=[{"cpu_credits": "unlimited"}],
            metadata_options=[
                {
                    "http_endpoint": "enabled",
                    "http_tokens": "required",
                    "http_put_response_hop_limit": 1,
                    "instance_metadata_tags": "disabled",
                }
            ],
        )
    elif kind == "sg":
        base.update(
            id=f"sg-{n:017x}",
            name=f"sg-{n}",
            description='Managed by Terraform "quoted" {braces} [brackets]',
            vpc_id=f"vpc-{n % 31:017x}",
            ingress=[
                {
                    "cidr_blocks": ["10.0.0.0/8"],
                    "from_port": 443,
                    "to_port": 443,
                    "protocol": "tcp",
                    "description": "",
                    "ipv6_cidr_blocks": [],
                    "prefix_list_ids": [],
                    "security_groups": [],
                    "self": False,
                }
            ],
            egress=[
                {
                    "cidr_blocks": ["0.0.0.0/0"],
                    "from_port": 0,
                    "to_port": 0,
                    "protocol": "-1",
                    "description": "",
                    "ipv6_cidr_blocks": [],
                    "prefix_list_ids": [],
                    "security_groups": [],
                    "self": False,
                }
            ],
        )
    else:
        base.update(
            id=f"role-{n}",
            name=f"role-{n}",
            assume_role_policy=json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Principal": {"Service": "ec2.amazonaws.com"},
                            "Action": "sts:AssumeRole",
                        }
                    ],
                }
            ),
            max_session_duration=3600,
            path="/",
            unique_id=f"AROA{n:016X}",
        )
    return base


def build(instances: int, seed: int = 7) -> dict[str, object]:
    rnd = random.Random(seed)
    kinds = [("aws_instance", "instance"), ("aws_security_group", "sg"), ("aws_iam_role", "role")]
    resources: list[dict[str, object]] = []
    n = 0
    r = 0
    while n < instances:
        tf_type, kind = kinds[r % len(kinds)]
        per = min(rnd.choice([1, 5, 20]), instances - n)
        use_each = r % 2 == 0 and per > 1
        module = f"module.m{r % 50}" if r % 3 else None
        res: dict[str, object] = {
            "mode": "managed",
            "type": tf_type,
            "name": f"r{r}",
            "provider": 'provider["registry.terraform.io/hashicorp/aws"]',
            "instances": [],
        }
        if module:
            res = {"module": module, **res}
        for i in range(per):
            inst: dict[str, object] = {
                "schema_version": 1,
                "attributes": _attributes(kind, n, rnd),
                "sensitive_attributes": [],
                "private": "eyJzY2hlbWFfdmVyc2lvbiI6IjEifQ==",
                "dependencies": [f"aws_security_group.r{(r + 1) % 7}"],
            }
            if per > 1:
                inst = {"index_key": f"k{i}" if use_each else i, **inst}
            res["instances"].append(inst)  # type: ignore[union-attr]
            n += 1
        resources.append(res)
        r += 1
    return {
        "version": 4,
        "terraform_version": "1.9.8",
        "serial": 42,
        "lineage": str(uuid.UUID(int=seed)),
        "outputs": {"vpc_id": {"value": "vpc-1", "type": "string"}},
        "resources": resources,
        "check_results": None,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out")
    ap.add_argument("--instances", type=int, default=100_000)
    args = ap.parse_args()
    state = build(args.instances)
    with open(args.out, "w", encoding="utf-8") as fh:
        json.dump(state, fh, indent=2)
        fh.write("\n")


if __name__ == "__main__":
    main()

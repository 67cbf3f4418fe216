"""`driftmgr demo`: a zero-setup walkthrough on the example state shipped with DriftMgr.

The example is a real state file: `terraform apply` of examples/demo/ (a VPC module with for_each
subnets, a security group, two counted instances, an S3 bucket, an IAM role, a data source and a
sensitive output) against the moto AWS emulator, by Terraform 1.x with hashicorp/aws 5.100.0.
"""

from __future__ import annotations

from importlib.resources import as_file, files

from driftmgr.cli.context import Env

STEPS = [
    ("What is in the state (sensitive outputs masked)", ["state", "show"]),
    ("Every resource instance, in Terraform's address syntax", ["state", "list"]),
    ("Dependencies between instances (DOT; pipe into `dot -Tsvg`)", ["state", "graph"]),
]


def run_demo(env: Env) -> None:
    from driftmgr.cli.app import main

    resource = files("driftmgr.examples").joinpath("demo.tfstate")
    with as_file(resource) as path:
        print(f"DriftMgr demo: analysing the example state {path}\n", file=env.stdout)
        for title, argv in STEPS:
            print(f"== {title}\n$ driftmgr {' '.join(argv)} --state {path.name}", file=env.stdout)
            env.stdout.flush()
            code = main([*argv, "--state", str(path)])
            if code != 0:
                from driftmgr.errors import DriftMgrError

                raise DriftMgrError(f"demo step 'driftmgr {' '.join(argv)}' failed with exit code {code}")
            print(file=env.stdout)
        print(
            "Next: point DriftMgr at your own states, e.g.\n"
            "  driftmgr state list --state path/to/terraform.tfstate\n"
            "  driftmgr state show --state s3://my-bucket/prod/terraform.tfstate\n"
            "  driftmgr state discover path/to/infra-repo",
            file=env.stdout,
        )

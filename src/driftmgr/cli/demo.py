"""`driftmgr demo`: a zero-setup walkthrough — a real drift detection, then the state analysis commands.

Part 1, drift: a local AWS emulator (moto, started on a free 127.0.0.1 port and stopped at the end)
is seeded and given the example infrastructure of examples/drift-demo/ — the same boto3 calls, so the
same ids, as when its real Terraform state (src/driftmgr/examples/drift-demo.tfstate, written by
`terraform import`, see scripts/make_demo_state.py) was made. The demo checks every id against that
state and stops with an error if they differ. Then it changes a few things behind Terraform's back
and runs `driftmgr drift detect` on the state: the report is DriftMgr's real output.

Part 2, state analysis: `state show|list|graph` on the example state of examples/demo/ (a VPC
module with for_each subnets, a security group, two counted instances, an S3 bucket, an IAM role, a
data source and a sensitive output; `terraform apply` against moto by Terraform 1.x with
hashicorp/aws 5.100.0).

Exit code: that of `drift detect` (2: drift found), or 1 when a step fails.
"""

from __future__ import annotations

import tempfile
from importlib.metadata import PackageNotFoundError, version
from importlib.resources import as_file, files
from pathlib import Path

import typer

from driftmgr.cli.context import Env, ExitStatus

STEPS = [
    ("What is in the state (sensitive outputs masked)", ["state", "show"]),
    ("Every resource instance, in Terraform's address syntax", ["state", "list"]),
    ("Dependencies between instances (DOT; pipe into `dot -Tsvg`)", ["state", "graph"]),
]


def run_demo(env: Env) -> None:
    code = _drift_demo(env)
    _state_demo(env)
    if code != ExitStatus.OK:
        raise typer.Exit(code)


def _step(env: Env, title: str) -> None:
    print(f"== {title}", file=env.stdout)
    env.stdout.flush()


def _drift_demo(env: Env) -> int:
    from driftmgr.cli import demo_infra as infra
    from driftmgr.cli.app import main

    state_file = files("driftmgr.examples").joinpath("drift-demo.tfstate")
    with (
        as_file(state_file) as state,
        tempfile.TemporaryDirectory(prefix="driftmgr-demo-") as tmp,
    ):
        expected = _state_ids(state)
        print(
            "DriftMgr demo, part 1: drift detection against a local AWS emulator (no cloud account)\n"
            f"state: {state}\n(the real Terraform state of examples/drift-demo, "
            f"{len(expected)} resources)\n",
            file=env.stdout,
        )
        _step(env, "Start the AWS emulator (moto) and build the example infrastructure in it")
        with (
            infra.running_emulator(Path(tmp)) as emulator,
            infra.emulator_environment(emulator.endpoint, Path(tmp)),
        ):
            emulator.reset()
            ec2 = infra.ec2_client()
            built = {b.address: b.id for b in infra.build(ec2, emulator.seed)}
            _check_ids(expected, built)
            print(
                f"moto at {emulator.endpoint}: {len(built)} resources built, every id as in the state\n",
                file=env.stdout,
            )
            _step(env, "Change things behind Terraform's back (boto3 calls, as someone in the console)")
            for text, new_id in infra.apply_out_of_band_changes(ec2, built):
                print(f"  - {text}" + (f" ({new_id})" if new_id else ""), file=env.stdout)
            print(file=env.stdout)
            _step(env, "Find the drift: the state against what really runs")
            print(
                f"$ AWS_ENDPOINT_URL={emulator.endpoint} driftmgr drift detect --state {state.name}",
                file=env.stdout,
            )
            env.stdout.flush()
            code = main(["drift", "detect", "--state", str(state)])
        if code not in (ExitStatus.OK, ExitStatus.CHANGES):
            from driftmgr.errors import DriftMgrError

            raise DriftMgrError(f"demo step 'driftmgr drift detect' failed with exit code {code}")
        print(f"(exit code {code}: {'drift found' if code else 'no drift'})\n", file=env.stdout)
        return code


def _state_ids(state: Path) -> dict[str, str]:
    from driftmgr.services.state import StateService

    with StateService().open_reader(str(state)) as reader:
        return {i.address: i.id or "" for i in reader.iter_instances() if i.mode == "managed"}


def _check_ids(expected: dict[str, str], built: dict[str, str]) -> None:
    """The emulator must hold exactly the state's resources, or the report would be meaningless."""
    if built == expected:
        return
    from driftmgr.cli.demo_infra import DemoError

    try:
        moto = version("moto")
    except PackageNotFoundError:
        moto = "unknown"
    diffs = sorted(
        f"{a}: state {expected.get(a, '-')}, emulator {built.get(a, '-')}"
        for a in expected.keys() | built.keys()
        if expected.get(a) != built.get(a)
    )
    raise DemoError(
        f"the emulator (moto {moto}) generated other ids than those in the demo state, so the demo "
        f"would compare unrelated resources: {len(diffs)} differ, e.g. {diffs[0]}. "
        "Regenerate the state with scripts/make_demo_state.py, or install the moto version it was "
        "made with"
    )


def _state_demo(env: Env) -> None:
    from driftmgr.cli.app import main

    resource = files("driftmgr.examples").joinpath("demo.tfstate")
    with as_file(resource) as path:
        print(f"DriftMgr demo, part 2: analysing the example state {path}\n", file=env.stdout)
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
            "  driftmgr drift detect --state path/to/terraform.tfstate\n"
            "  driftmgr state list --state path/to/terraform.tfstate\n"
            "  driftmgr state show --state s3://my-bucket/prod/terraform.tfstate\n"
            "  driftmgr state discover path/to/infra-repo",
            file=env.stdout,
        )

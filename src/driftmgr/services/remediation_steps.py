"""The exact steps of a remediation action (`build_steps`), and how consecutive targeted applies
merge into one command. See services/remediation_exec.py for the contract."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from driftmgr.engine.remediation import ACTION_KINDS, Action, Plan, Step
from driftmgr.errors import UnsupportedRemediation, UsageError
from driftmgr.providers.base import Provider, get_provider, get_remediator
from driftmgr.services.remediation_tf import TerraformCli, state_addresses

__all__ = [
    "APPLY_FLAGS",
    "TERRAFORM_KINDS",
    "apply_key",
    "build_steps",
    "codify_steps",
    "merged_apply",
    "single_target",
]

APPLY_FLAGS = ["-auto-approve", "-input=false"]
TERRAFORM_KINDS = frozenset({"accept", "recreate", "forget", "codify"})


def _unsupported(action: Action, why: str, path: str | None = None) -> UnsupportedRemediation:
    what = f"{action.type} {action.address or action.resource_id or ''}".strip()
    return UnsupportedRemediation(
        f"{what}: cannot {action.kind} by {action.method}: {why}", tf_type=action.type, path=path
    )


def _tf_target(action: Action, terraform_dir: str | None) -> tuple[str, str]:
    if not terraform_dir:
        raise _unsupported(action, "it needs a Terraform working directory (--terraform-dir)")
    if not action.address:
        raise _unsupported(action, "the resource has no Terraform address")
    return str(Path(terraform_dir).resolve()), action.address


def _read_live(action: Action) -> dict[str, Any]:
    found = get_provider(action.provider).get(action.type, action.resource_id or "", action.region)
    if found is None:
        raise UsageError(f"{action.type} {action.resource_id} no longer exists: scan again")
    return dict(found.attributes)


def build_steps(action: Action, *, terraform_dir: str | None, live: dict[str, Any] | None) -> list[Step]:
    """The exact steps of one action (see the module docstring)."""
    if action.kind not in ACTION_KINDS:
        raise UsageError(f"unknown remediation kind {action.kind!r} (one of {', '.join(ACTION_KINDS)})")
    kind = action.kind
    if kind in ("revert", "delete") and action.method == "api":
        if not action.resource_id:
            raise _unsupported(action, "the report gives no cloud id")
        remediator = get_remediator(action.provider)
        attrs = live if live is not None else _read_live(action)
        if kind == "revert":
            calls = remediator.revert_calls(
                action.type, action.resource_id, action.region, action.changes, attrs
            )
        else:
            calls = remediator.delete_calls(action.type, action.resource_id, action.region, attrs)
        return [Step("api", description=c.description, call=c) for c in calls]
    if kind == "delete":
        raise _unsupported(action, "Terraform cannot delete what it does not manage: use method api")
    if kind == "codify":
        return codify_steps(action, terraform_dir, cli=TerraformCli(), provider=get_provider(action.provider))
    if kind == "revert" and action.method != "terraform":
        raise _unsupported(action, f"unknown method {action.method!r} (api or terraform)")
    cwd, address = _tf_target(action, terraform_dir)
    if kind == "forget":
        return [
            Step(
                "terraform",
                f"remove {address} from the state (the resource is gone)",
                args=["state", "rm", address],
                cwd=cwd,
            )
        ]
    refresh = ["-refresh-only"] if kind == "accept" else []
    why = {
        "revert": f"targeted apply: make {address} match the configuration again",
        "accept": f"refresh-only apply: record the live {address} in the state",
        "recreate": f"targeted apply: create {address} again",
    }[kind]
    return [Step("terraform", why, args=["apply", *refresh, f"-target={address}", *APPLY_FLAGS], cwd=cwd)]


def codify_steps(
    action: Action, terraform_dir: str | None, *, cli: TerraformCli, provider: Provider
) -> list[Step]:
    """Import block + generated resource for one unmanaged resource, written into the working
    directory, then a targeted apply that imports it. Names avoid, and references point at, the
    addresses already in the directory's state."""
    if not terraform_dir:
        raise _unsupported(
            action,
            "running it needs a Terraform working directory; without one the plan's "
            "imports.tf and generated.tf are the result",
        )
    from driftmgr.engine.codegen import generate
    from driftmgr.services.drift import provider_schema

    cwd = str(Path(terraform_dir).resolve())
    resource = provider.get(action.type, action.resource_id or "", action.region)
    if resource is None:
        raise UsageError(f"{action.type} {action.resource_id} no longer exists: scan again")
    managed = {
        (v["type"], str(v["id"])): addr
        for addr, v in state_addresses(cli.state_pull(cwd)).items()
        if v.get("id")
    }
    generated = generate([resource], managed, provider_schema(action.provider))
    if generated.skipped:
        raise _unsupported(action, generated.skipped[0][2])
    address = generated.addresses[resource.key]
    name = re.sub(r"[^A-Za-z0-9_.-]", "_", address)
    content = (
        f"# Codified by DriftMgr: {action.type} {action.resource_id}\n"
        f"{generated.imports_tf.rstrip()}\n\n{generated.generated_tf.rstrip()}\n"
    )
    return [
        Step(
            "file",
            f"import block and configuration of {address}",
            path=str(Path(cwd) / f"driftmgr_codify_{name}.tf"),
            content=content,
        ),
        Step(
            "terraform",
            f"targeted apply: import {address}",
            args=["apply", f"-target={address}", *APPLY_FLAGS],
            cwd=cwd,
        ),
    ]


def single_target(step: Step) -> str | None:
    targets = [x.removeprefix("-target=") for x in step.args if x.startswith("-target=")]
    return targets[0] if len(targets) == 1 else None


def apply_key(plan: Plan, a: Action) -> tuple[str, tuple[str, ...]] | None:
    """(directory, the arguments besides the target) of an action that is one targeted apply."""
    if len(a.steps) != 1:
        return None
    step = a.steps[0]
    cwd = step.cwd or plan.terraform_dir
    if step.kind != "terraform" or not cwd or step.args[:1] != ["apply"] or single_target(step) is None:
        return None
    return str(Path(cwd).resolve()), tuple(x for x in step.args if not x.startswith("-target="))


def merged_apply(plan: Plan, unit: list[Action]) -> Step:
    """The first action's apply with every action's target in place of its one."""
    first = unit[0].steps[0]
    targets = [f"-target={single_target(a.steps[0])}" for a in unit]
    args: list[str] = []
    for x in first.args:
        args.extend(targets if x.startswith("-target=") else [x])
    cwd = str(Path(first.cwd or plan.terraform_dir or "").resolve())
    ids = ", ".join(a.id for a in unit)
    return Step("terraform", f"one targeted apply for {ids}", args=args, cwd=cwd)

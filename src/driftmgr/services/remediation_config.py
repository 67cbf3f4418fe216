"""Accept actions that also patch the Terraform configuration (`--config DIR`).

After its refresh-only apply records the live values in the state, an accept action writes them into
the `.tf` files too, so that `terraform plan` has nothing to change afterwards. The patch is computed
when the plan is built (`engine.codegen.patch`), reviewed as a unified diff (`config.patch` next to
plan.json) and run as a `file` step after the refresh-only step. Actions are patched in plan order,
each on the text the earlier ones left, so two actions editing one file write it consistently. A
patch that cannot be made safely (an expression, a block not found, …) leaves the configuration
alone: the reason becomes the action's note, and the refresh-only apply still runs.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from driftmgr.engine.codegen.patch import patch_config, unified_diff
from driftmgr.engine.remediation import Action, Plan, Step
from driftmgr.errors import UsageError


def read_config(config_dir: str) -> dict[str, str]:
    """The `.tf` files of a root module (not its subdirectories): absolute path → text, newlines kept."""
    root = Path(config_dir).expanduser().resolve()
    if not root.is_dir():
        raise UsageError("the configuration directory does not exist", source=config_dir)
    out: dict[str, str] = {}
    for path in sorted(root.glob("*.tf")):
        try:
            out[str(path)] = path.read_bytes().decode("utf-8")
        except UnicodeDecodeError as exc:
            raise UsageError(f"{path.name} is not UTF-8 text", source=str(path)) from exc
    return out


def _schema(provider: str, tf_type: str) -> Any:
    from driftmgr.services.drift import provider_schema

    return provider_schema(provider).type(tf_type)


def patch_accepts(plan: Plan, config_dir: str) -> dict[str, Any] | None:
    """Add the configuration patch of every accept action of `plan` (in its order) as a file step
    after its refresh-only step; refusals go into the action's note. Returns what goes into
    `plan.report["config_patch"]` (None when nothing is patched): the unified diff, the digest of
    each file as read (the executor refuses to overwrite a file changed since) and the actions."""
    accepts = [a for a in plan.actions if a.kind == "accept" and a.steps]
    if not accepts:
        return None
    original = read_config(config_dir)
    current = dict(original)
    patched: dict[str, list[str]] = {}
    for a in accepts:
        if not a.address:
            _note(a, "the configuration is not patched: the resource has no Terraform address")
            continue
        result = patch_config(current, a.address, a.changes, schema=_schema(a.provider, a.type))
        if result.refused is not None:
            _note(a, f"the configuration is not patched: {result.refused}")
            continue
        for path, text in result.files.items():
            current[path] = text
            name = Path(path).name
            a.steps.append(
                Step(
                    "file",
                    f"patch {name}: set {', '.join(result.patched)} to the live values",
                    path=path,
                    content=text,
                )
            )
            patched.setdefault(path, []).append(a.id)
        if result.skipped:
            _note(a, "not in the configuration (computed by the provider): "
                  + ", ".join(p for p, _ in result.skipped))  # fmt: skip
        if not result.files and not result.skipped:
            _note(a, "the configuration already has the live values")
    if not patched:
        return None
    return {
        "diff": unified_diff(
            {Path(p).name: original[p] for p in patched}, {Path(p).name: current[p] for p in patched}
        ),
        "base_sha256": {p: hashlib.sha256(original[p].encode("utf-8")).hexdigest() for p in patched},
        "actions": patched,
    }


def _note(a: Action, text: str) -> None:
    a.note = f"{a.note}; {text}" if a.note else text

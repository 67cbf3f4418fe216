"""One Terraform root module directory → the state location(s) its configuration names.

Sources, most concrete first:
- `.terraform/terraform.tfstate`, the backend settings `terraform init` wrote (after any
  `-backend-config`), with `.terraform/environment` naming the selected workspace;
- the `backend "<type>" {}` or `cloud {}` block of the `terraform {}` block in `*.tf` files
  (override files win, as in Terraform). A partial block (settings left to `-backend-config`) is
  completed from `*.tfbackend` / `backend.hcl` / `backend.tfvars` files next to it, one location
  per file. Settings that refer to `var.` or `local.` are resolved from variable defaults,
  `terraform.tfvars`/`*.auto.tfvars` and locals, as OpenTofu's early evaluation does.

Only files that hold a `terraform {` block are parsed up front; the rest of the module is read
only when a backend setting refers to a variable or local.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from driftmgr.models import StateLocation
from driftmgr.state.locate import hclfile
from driftmgr.state.locate.expr import Scope, evaluate_fields, lazy_namespace
from driftmgr.state.locate.functions import PURE_FUNCTIONS
from driftmgr.state.locate.urls import USED_SETTINGS, LocationError, Target, location_for, missing_settings

_TERRAFORM_BLOCK = re.compile(r"^\s*terraform\s*\{", re.MULTILINE)
_BACKEND_FILE = re.compile(r"^(.+\.tfbackend|backend(?:[._-].*)?\.hcl|.+\.backend\.hcl|backend\.tfvars)$")


@dataclass
class _Block:
    type: str  # backend type, or "cloud"
    raw: dict[str, Any]
    file: str


@dataclass
class ModuleDir:
    """The `*.tf` files of one directory, parsed on demand; warnings collected once per file."""

    path: str
    tf_files: list[str]
    warnings: list[str]
    _bodies: dict[str, dict[str, Any] | None] = field(default_factory=dict)
    _scope: Scope | None = None
    _blocks: list[_Block] | None = None

    def body(self, name: str) -> dict[str, Any] | None:
        if name not in self._bodies:
            full = os.path.join(self.path, name)
            try:
                self._bodies[name] = hclfile.load(Path(full))
            except hclfile.HclError as exc:
                self.warnings.append(f"{full}: {exc}")
                self._bodies[name] = None
        return self._bodies[name]

    def backend_blocks(self) -> list[_Block]:
        if self._blocks is None:
            self._blocks = self._find_blocks()
        return self._blocks

    def _find_blocks(self) -> list[_Block]:
        found: list[_Block] = []
        override: list[_Block] = []
        for name in self.tf_files:
            full = os.path.join(self.path, name)
            try:
                text = Path(full).read_text(encoding="utf-8", errors="replace")
            except OSError as exc:
                self.warnings.append(f"{full}: cannot read: {exc.strerror or exc}")
                continue
            if not _TERRAFORM_BLOCK.search(text):
                continue
            body = self.body(name)
            if body is None:
                continue
            is_override = name == "override.tf" or name.endswith("_override.tf")
            for tf in hclfile.blocks(body, "terraform"):
                for block in hclfile.blocks(tf, "backend"):
                    label, cfg = hclfile.labelled(block)
                    if label:
                        (override if is_override else found).append(_Block(label, cfg, full))
                for cfg in hclfile.blocks(tf, "cloud"):
                    (override if is_override else found).append(_Block("cloud", cfg, full))
        if override:
            return override[-1:]
        if len(found) > 1:
            others = ", ".join(sorted({b.file for b in found[1:]}))
            self.warnings.append(
                f"{found[0].file}: more than one backend/cloud block in the module (also in {others}); "
                "Terraform refuses this — using the first"
            )
        return found[:1]

    def scope(self, workspace: str) -> Scope:
        """`var.*` (defaults, then tfvars), `local.*`, `terraform.workspace`, `path.*` for this module."""
        if self._scope is None:
            variables: dict[str, Any] = {}
            locals_: dict[str, Any] = {}
            for name in self.tf_files:
                body = self.body(name)
                if body is None:
                    continue
                for block in hclfile.blocks(body, "variable"):
                    label, vbody = hclfile.labelled(block)
                    if label and "default" in vbody:
                        variables[label] = vbody["default"]
                for block in hclfile.blocks(body, "locals"):
                    locals_.update(hclfile.attributes(block))
            tfvars = sorted(
                n for n in os.listdir(self.path) if n == "terraform.tfvars" or n.endswith(".auto.tfvars")
            )
            for name in tfvars:
                full = Path(self.path, name)
                try:
                    variables.update(hclfile.attributes(hclfile.load(full)))
                except hclfile.HclError as exc:
                    self.warnings.append(f"{full}: {exc}")
            scope = Scope(functions=dict(PURE_FUNCTIONS))
            scope.roots = {
                "var": lazy_namespace("var", variables, scope),
                "local": lazy_namespace("local", locals_, scope),
                "terraform": {"workspace": workspace},
                "path": {"module": ".", "root": ".", "cwd": "."},
            }
            self._scope = scope
        return self._scope


def read_environment(dirpath: str) -> str:
    """The workspace `terraform workspace select` recorded in `.terraform/environment`."""
    try:
        name = Path(dirpath, ".terraform", "environment").read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError):
        return "default"
    return name or "default"


def settings_location(dirpath: str, warnings: list[str]) -> tuple[str, StateLocation | None]:
    """(backend type, location) from `.terraform/terraform.tfstate`; ("", None) when there is none."""
    path = os.path.join(dirpath, ".terraform", "terraform.tfstate")
    try:
        data = orjson.loads(Path(path).read_bytes())
    except FileNotFoundError:
        return "", None
    except (OSError, orjson.JSONDecodeError) as exc:
        warnings.append(f"{path}: cannot read the backend settings terraform init wrote: {_why(exc)}")
        return "", None
    backend = data.get("backend") if isinstance(data, dict) else None
    if not isinstance(backend, dict) or not isinstance(backend.get("type"), str):
        return "", None
    kind = backend["type"]
    raw_config = backend.get("config")
    config: dict[str, Any] = raw_config if isinstance(raw_config, dict) else {}
    target = Target(origin=path, base_dir=dirpath, workspace=read_environment(dirpath))
    try:
        return kind, location_for(kind, config, target)
    except LocationError as exc:
        warnings.append(f"{path}: {exc}")
        return kind, None


def _why(exc: Exception) -> str:
    if isinstance(exc, OSError):
        return exc.strerror or str(exc)
    return str(exc).splitlines()[0]


def module_locations(module: ModuleDir) -> list[StateLocation]:
    """Every location the module's configuration names (settings file first)."""
    warnings = module.warnings
    init_type, init_loc = settings_location(module.path, warnings)
    blocks = module.backend_blocks()
    out = [init_loc] if init_loc else []
    if init_type:
        if blocks and blocks[0].type != init_type:
            warnings.append(
                f"{blocks[0].file}: the backend changed since terraform init "
                f"(.terraform says '{init_type}', the configuration says '{blocks[0].type}'); "
                "reporting both — run terraform init"
            )
        else:
            return out  # the settings file is the resolved form of the block
    for block in blocks:
        out.extend(_block_locations(module, block))
    return out


def _block_locations(module: ModuleDir, block: _Block) -> list[StateLocation]:
    warnings = module.warnings
    workspace = read_environment(module.path)
    what = "cloud block" if block.type == "cloud" else f'backend "{block.type}"'
    config, errors = _evaluate_block(block.raw, module.scope(workspace))
    used = USED_SETTINGS.get(block.type)
    if used is None:
        warnings.append(f"{block.file}: backend type '{block.type}' is not supported by DriftMgr")
        return []
    bad = {k: v for k, v in errors.items() if k in used}
    if bad:
        details = "; ".join(f"{k}: {v}" for k, v in sorted(bad.items()))
        warnings.append(f"{block.file}: {what}: cannot resolve {details}")
        return []
    target = Target(origin=block.file, base_dir=module.path, workspace=workspace)
    missing = missing_settings(block.type, config)
    if not missing:
        return _build(block, config, target, warnings)
    extras = _backend_files(module.path)
    names = ", ".join(missing)
    if not extras:
        warnings.append(
            f"{block.file}: {what} is partially configured (missing {names}); "
            "supply them with -backend-config or run terraform init"
        )
        return []
    warnings.append(
        f"{block.file}: {what} is partially configured (missing {names}); "
        f"completing it from {', '.join(os.path.basename(e) for e in extras)}"
    )
    out: list[StateLocation] = []
    for extra in extras:
        try:
            values, extra_errors = evaluate_fields(
                hclfile.load(Path(extra)), Scope(functions=dict(PURE_FUNCTIONS))
            )
        except hclfile.HclError as exc:
            warnings.append(f"{extra}: {exc}")
            continue
        if extra_errors:
            details = "; ".join(f"{k}: {v}" for k, v in sorted(extra_errors.items()))
            warnings.append(f"{extra}: cannot resolve {details}")
            continue
        merged = {**config, **values}
        still = missing_settings(block.type, merged)
        if still:
            warnings.append(f"{extra}: still missing {', '.join(still)} for {what} in {block.file}")
            continue
        sub = Target(
            origin=extra,
            base_dir=module.path,
            workspace=workspace,
            note=f"{what} in {os.path.basename(block.file)} completed by {os.path.basename(extra)}",
        )
        out.extend(_build(block, merged, sub, warnings))
    return out


def _evaluate_block(raw: dict[str, Any], scope: Scope) -> tuple[dict[str, Any], dict[str, str]]:
    """Evaluate a backend/cloud block body; nested blocks (`workspaces {}`) become objects."""
    values, errors = evaluate_fields(raw, scope)
    for key, value in list(values.items()):
        if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            values[key] = value[0]  # a nested block such as workspaces {} or assume_role {}
    return values, errors


def _build(block: _Block, config: dict[str, Any], target: Target, warnings: list[str]) -> list[StateLocation]:
    try:
        return [location_for(block.type, config, target)]
    except LocationError as exc:
        warnings.append(f"{block.file}: {exc}")
        return []


def _backend_files(dirpath: str) -> list[str]:
    try:
        names = os.listdir(dirpath)
    except OSError:
        return []
    return sorted(os.path.join(dirpath, n) for n in names if _BACKEND_FILE.match(n))


def local_workspace_dirs(module: ModuleDir) -> list[StateLocation]:
    """States under a `backend "local" { workspace_dir = ... }`, one per workspace directory."""
    out: list[StateLocation] = []
    for block in module.backend_blocks():
        if block.type != "local":
            continue
        config, _ = _evaluate_block(block.raw, module.scope("default"))
        wdir = config.get("workspace_dir")
        if not isinstance(wdir, str) or not wdir:
            continue
        root = Path(module.path, wdir)
        if not root.is_dir():
            continue
        for ws in sorted(p.name for p in root.iterdir() if (p / "terraform.tfstate").is_file()):
            target = Target(origin=block.file, base_dir=module.path, workspace=ws)
            out.extend(_build(block, config, target, module.warnings))
    return out

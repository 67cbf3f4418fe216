"""Terragrunt units → the state location each unit's `remote_state` names.

A unit is a `terragrunt.hcl` that no other `terragrunt.hcl` includes (a legacy root named
`terragrunt.hcl` is configuration, not a unit). Its `remote_state` comes from the unit itself or
through `include` blocks (`path = find_in_parent_folders("root.hcl")`), merged as Terragrunt
does: `shallow` (the default: the child's `remote_state` replaces the parent's), `deep` (the
`config` maps merge, child wins) or `no_merge`. Failing a `remote_state`, a `generate` block whose
contents hold a `backend` block is read instead.

Expressions in an included file are evaluated with that file's locals but from the unit's point
of view, as Terragrunt does: `path_relative_to_include()` is the path from the included file's
directory to the unit, `find_in_parent_folders()` and `get_terragrunt_dir()` start at the unit.
`get_env`, `read_terragrunt_config` (its `locals`), `file`, `jsondecode`/`yamldecode`,
`include.<name>.locals` and Terraform's string functions are supported; anything else (e.g.
`get_aws_account_id()`, `run_cmd`) leaves the setting unresolved and is reported as a warning.
"""

from __future__ import annotations

import importlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from driftmgr.models import StateLocation
from driftmgr.state.locate import hclfile
from driftmgr.state.locate.expr import (
    Function,
    Namespace,
    Scope,
    Unresolved,
    evaluate,
    evaluate_fields,
    lazy_namespace,
    to_string,
)
from driftmgr.state.locate.functions import PURE_FUNCTIONS
from driftmgr.state.locate.urls import USED_SETTINGS, LocationError, Target, location_for

UNIT_FILE = "terragrunt.hcl"
_MAX_PARENTS = 100


@dataclass
class Include:
    name: str  # "" for an unlabelled include
    path: Path
    merge_strategy: str = "shallow"


@dataclass
class _Ctx:
    """Terragrunt's parsing context: the unit being planned and the include being evaluated."""

    unit: Path
    include: Include | None = None
    includes: list[Include] = field(default_factory=list)


@dataclass
class _Settings:
    """Evaluated remote_state: backend type, config values and unresolved config keys."""

    backend: str | None
    config: dict[str, Any]
    errors: dict[str, str]
    origin: Path


class Terragrunt:
    """Reads the Terragrunt files of one walk; parsed files are cached, warnings reported once."""

    def __init__(self, warnings: list[str]) -> None:
        self.warnings = warnings
        self._bodies: dict[Path, dict[str, Any] | None] = {}

    def body(self, path: Path) -> dict[str, Any] | None:
        path = Path(os.path.normpath(path))
        if path not in self._bodies:
            try:
                self._bodies[path] = hclfile.load(path)
            except hclfile.HclError as exc:
                self.warnings.append(f"{path}: {exc}")
                self._bodies[path] = None
        return self._bodies[path]

    # --- units -----------------------------------------------------------------------------
    def units(self, candidates: list[Path]) -> list[Path]:
        """The candidates that no other candidate includes."""
        included: set[Path] = set()
        for path in candidates:
            included.update(Path(os.path.abspath(inc.path)) for inc in self.includes(path, report=False))
        return [p for p in candidates if Path(os.path.abspath(p)) not in included]

    def includes(self, unit: Path, *, report: bool = True) -> list[Include]:
        body = self.body(unit)
        if body is None:
            return []
        out: list[Include] = []
        scope = self.scope(unit, _Ctx(unit=unit))
        for block in hclfile.blocks(body, "include"):
            label, inc = hclfile.labelled(block)
            attrs = hclfile.attributes(inc)
            if "path" not in attrs:
                continue
            try:
                raw_path = to_string(evaluate(attrs["path"], scope), "include path")
                strategy = to_string(evaluate(attrs.get("merge_strategy", '"shallow"'), scope))
            except Unresolved as exc:
                if report:
                    self.warnings.append(
                        f"{unit}: cannot resolve include {label or ''} path: {exc}".replace("  ", " ")
                    )
                continue
            target = Path(raw_path)
            if not target.is_absolute():
                target = unit.parent / target
            if target.is_dir():
                target = target / UNIT_FILE
            # Name the included file in the style the unit was named (relative or absolute).
            shown = os.path.abspath(target) if unit.is_absolute() else os.path.relpath(target)
            out.append(Include(label or "", Path(shown), strategy))
        return out

    def location(self, unit: Path) -> StateLocation | None:
        body = self.body(unit)
        if body is None:
            return None
        includes = self.includes(unit)
        settings: _Settings | None = None
        for inc in includes:
            if inc.merge_strategy == "no_merge":
                continue
            parent = self.body(inc.path) if inc.path.is_file() else None
            if parent is None:
                if not inc.path.is_file():
                    self.warnings.append(f"{unit}: included file {inc.path} does not exist")
                continue
            ctx = _Ctx(unit=unit, include=inc, includes=includes)
            found = self._remote_state(parent, inc.path, ctx)
            settings = _merge(settings, found, deep=inc.merge_strategy == "deep")
        own = self._remote_state(body, unit, _Ctx(unit=unit, includes=includes))
        deep = any(inc.merge_strategy == "deep" for inc in includes)
        settings = _merge(settings, own, deep=deep)
        if settings is None:
            settings = self._generated_backend(unit, body, includes)
        if settings is None:
            self.warnings.append(
                f"{unit}: no remote_state (directly or through include); "
                "the state is wherever the module's backend block puts it"
            )
            return None
        return self._to_location(unit, settings)

    def _to_location(self, unit: Path, settings: _Settings) -> StateLocation | None:
        if settings.backend is None:
            why = settings.errors.get("")
            problem = (
                f"cannot resolve remote_state backend: {why}" if why else "remote_state names no backend"
            )
            self.warnings.append(f"{unit}: {problem}")
            return None
        used = USED_SETTINGS.get(settings.backend)
        if used is None:
            self.warnings.append(
                f"{unit}: remote_state backend '{settings.backend}' is not supported by DriftMgr"
            )
            return None
        bad = {k: v for k, v in settings.errors.items() if k in used or k == "*"}
        if bad:
            details = "; ".join(f"{k}: {v}" for k, v in sorted(bad.items()))
            self.warnings.append(f"{unit}: cannot resolve remote_state {details}")
            return None
        target = Target(origin=str(unit), base_dir=str(unit.parent))
        if settings.origin != unit:
            target = Target(
                origin=str(unit), base_dir=str(unit.parent), note=f"remote_state from {settings.origin}"
            )
        try:
            return location_for(settings.backend, settings.config, target)
        except LocationError as exc:
            self.warnings.append(f"{unit}: {exc}")
            return None

    def _remote_state(self, body: dict[str, Any], file: Path, ctx: _Ctx) -> _Settings | None:
        blocks = hclfile.blocks(body, "remote_state")
        if not blocks:
            return None
        raw = hclfile.attributes(blocks[0])
        scope = self.scope(file, ctx)
        where = f" (in {file})" if file != ctx.unit else ""
        backend: str | None = None
        errors: dict[str, str] = {}
        if "backend" in raw:
            try:
                backend = to_string(evaluate(raw["backend"], scope), "backend")
            except Unresolved as exc:
                errors[""] = f"{exc}{where}"
        config: dict[str, Any] = {}
        raw_config = raw.get("config", {})
        if isinstance(raw_config, dict):
            config, errs = evaluate_fields(raw_config, scope)
            errors.update({k: f"{v}{where}" for k, v in errs.items()})
        else:
            try:
                value = evaluate(raw_config, scope)
            except Unresolved as exc:
                errors["*"] = f"{exc}{where}"
            else:
                if isinstance(value, dict):
                    config = value
                else:
                    errors["*"] = f"config is not an object{where}"
        return _Settings(backend, config, errors, file)

    def _generated_backend(
        self, unit: Path, body: dict[str, Any], includes: list[Include]
    ) -> _Settings | None:
        """A `generate` block that writes a backend block (used instead of remote_state)."""
        sources: list[tuple[dict[str, Any], Path, _Ctx]] = [(body, unit, _Ctx(unit=unit, includes=includes))]
        for inc in includes:
            parent = self.body(inc.path) if inc.path.is_file() else None
            if parent is not None and inc.merge_strategy != "no_merge":
                sources.append((parent, inc.path, _Ctx(unit=unit, include=inc, includes=includes)))
        for source, file, ctx in sources:
            for block in hclfile.blocks(source, "generate"):
                _, gen = hclfile.labelled(block)
                contents = hclfile.attributes(gen).get("contents")
                if not isinstance(contents, str) or "backend" not in contents:
                    continue
                try:
                    text = to_string(evaluate(contents, self.scope(file, ctx)), "generate contents")
                    generated = hclfile.loads(text)
                except (Unresolved, hclfile.HclError) as exc:
                    self.warnings.append(f"{unit}: cannot read the backend block generated in {file}: {exc}")
                    return None
                for tf in hclfile.blocks(generated, "terraform"):
                    for backend_block in hclfile.blocks(tf, "backend"):
                        label, cfg = hclfile.labelled(backend_block)
                        values, errors = evaluate_fields(cfg, Scope(functions=dict(PURE_FUNCTIONS)))
                        return _Settings(label, values, errors, file)
        return None

    # --- evaluation scope ------------------------------------------------------------------
    def scope(self, file: Path, ctx: _Ctx) -> Scope:
        """Names visible in `file` while Terragrunt plans `ctx.unit`."""
        scope = Scope(functions=dict(PURE_FUNCTIONS))
        scope.functions.update(self._functions(file, ctx))
        body = self.body(file) or {}
        raw_locals: dict[str, Any] = {}
        for block in hclfile.blocks(body, "locals"):
            raw_locals.update(hclfile.attributes(block))
        scope.roots["local"] = lazy_namespace("local", raw_locals, scope)
        if file == ctx.unit and ctx.includes:
            scope.roots["include"] = self._include_namespace(ctx)
        return scope

    def _include_namespace(self, ctx: _Ctx) -> Any:
        def exposed(inc: Include) -> Namespace:
            def get(key: str) -> Any:
                parent = self.body(inc.path) if inc.path.is_file() else None
                if parent is None:
                    raise Unresolved(f"included file {inc.path} cannot be read")
                pscope = self.scope(inc.path, _Ctx(unit=ctx.unit, include=inc, includes=ctx.includes))
                if key == "locals":
                    return pscope.roots["local"]
                attrs = hclfile.attributes(parent)
                if key not in attrs:
                    raise Unresolved(f"`{prefix}.{key}` is not defined")
                return evaluate(attrs[key], pscope)

            prefix = f"include.{inc.name}" if inc.name else "include"
            return Namespace(prefix, get)

        named = {inc.name: exposed(inc) for inc in ctx.includes if inc.name}
        unnamed = [inc for inc in ctx.includes if not inc.name]
        if unnamed and not named:
            return exposed(unnamed[0])  # the single unlabelled include: include.locals.x
        return named

    def _functions(self, file: Path, ctx: _Ctx) -> dict[str, Function]:
        unit_dir = ctx.unit.parent

        def select(name: str | None = None) -> Include | None:
            if ctx.include is not None and not name:
                return ctx.include
            if name:
                for inc in ctx.includes:
                    if inc.name == name:
                        return inc
                raise Unresolved(f"no include block named {name!r}")
            if len(ctx.includes) > 1:
                raise Unresolved("several include blocks: name the one meant")
            return ctx.includes[0] if ctx.includes else None

        def path_relative_to_include(name: str | None = None) -> str:
            inc = select(name)
            return _rel(unit_dir, inc.path.parent) if inc else "."

        def path_relative_from_include(name: str | None = None) -> str:
            inc = select(name)
            return _rel(inc.path.parent, unit_dir) if inc else "."

        def get_parent_terragrunt_dir(name: str | None = None) -> str:
            inc = select(name)
            return os.path.abspath(inc.path.parent if inc else unit_dir)

        def find_in_parent_folders(name: str = "", *fallback: Any) -> str:
            wanted = name or UNIT_FILE
            current = Path(os.path.abspath(unit_dir))
            for _ in range(_MAX_PARENTS):
                parent = current.parent
                if parent == current:
                    break
                candidate = parent / wanted
                if candidate.is_file() or (not name and (parent / f"{UNIT_FILE}.json").is_file()):
                    return str(candidate if candidate.is_file() else parent / f"{UNIT_FILE}.json")
                current = parent
            if fallback:
                return to_string(fallback[0])
            raise Unresolved(f"find_in_parent_folders: no {wanted} above {unit_dir}")

        def get_env(name: str, *default: Any) -> str:
            value = os.environ.get(name)
            if value is not None:
                return value
            if default:
                return to_string(default[0])
            raise Unresolved(f"get_env: environment variable {name} is not set")

        def repo_root() -> Path:
            current = Path(os.path.abspath(unit_dir))
            for candidate in (current, *current.parents):
                if (candidate / ".git").exists():
                    return candidate
            raise Unresolved(f"no git repository above {unit_dir}")

        def read_terragrunt_config(path: str, *default: Any) -> Any:
            target = Path(path) if os.path.isabs(path) else unit_dir / path
            if target.is_dir():
                target = target / UNIT_FILE
            target = Path(os.path.normpath(target))
            if not target.is_file():
                if default:
                    return default[0]
                raise Unresolved(f"read_terragrunt_config: {target} does not exist")
            body = self.body(target)
            if body is None:
                raise Unresolved(f"read_terragrunt_config: {target} is not valid HCL")
            tscope = self.scope(target, _Ctx(unit=target))

            def get(key: str) -> Any:
                if key == "locals":
                    return tscope.roots["local"]
                attrs = hclfile.attributes(body)
                if key not in attrs:
                    raise Unresolved(f"{target} has no `{key}`")
                return evaluate(attrs[key], tscope)

            return Namespace(f"read_terragrunt_config({target.name})", get)

        def file_(path: str) -> str:
            target = Path(path) if os.path.isabs(path) else file.parent / path
            try:
                return target.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                raise Unresolved(f"file({path!r}): {exc}") from None

        def yamldecode(text: str) -> Any:
            try:
                yaml = importlib.import_module("yaml")
            except ImportError:
                raise Unresolved("yamldecode() needs PyYAML") from None
            try:
                return yaml.safe_load(text)
            except yaml.YAMLError as exc:
                raise Unresolved(f"yamldecode(): {str(exc).splitlines()[0]}") from None

        def jsondecode(text: str) -> Any:
            try:
                return json.loads(text)
            except json.JSONDecodeError as exc:
                raise Unresolved(f"jsondecode(): {exc}") from None

        return {
            "path_relative_to_include": path_relative_to_include,
            "path_relative_from_include": path_relative_from_include,
            "get_terragrunt_dir": lambda: os.path.abspath(unit_dir),
            "get_original_terragrunt_dir": lambda: os.path.abspath(unit_dir),
            "get_parent_terragrunt_dir": get_parent_terragrunt_dir,
            "find_in_parent_folders": find_in_parent_folders,
            "get_env": get_env,
            "get_repo_root": lambda: str(repo_root()),
            "get_path_from_repo_root": lambda: _rel(Path(os.path.abspath(unit_dir)), repo_root()),
            "get_path_to_repo_root": lambda: _rel(repo_root(), Path(os.path.abspath(unit_dir))),
            "read_terragrunt_config": read_terragrunt_config,
            "file": file_,
            "yamldecode": yamldecode,
            "jsondecode": jsondecode,
        }


def _rel(path: Path, start: Path) -> str:
    return Path(os.path.relpath(os.path.abspath(path), os.path.abspath(start))).as_posix()


def _merge(base: _Settings | None, top: _Settings | None, *, deep: bool) -> _Settings | None:
    """Terragrunt's include merge of remote_state: `top` (the child) overrides `base`."""
    if top is None:
        return base
    if base is None or not deep:
        return top
    config = {**base.config}
    errors = dict(base.errors)
    for key, value in top.config.items():
        old = config.get(key)
        config[key] = {**old, **value} if isinstance(old, dict) and isinstance(value, dict) else value
        errors.pop(key, None)
    errors.update(top.errors)
    backend = top.backend or base.backend
    if top.backend:
        errors.pop("", None)
    return _Settings(backend, config, errors, top.origin)

"""Upgrade a format-3 state (Terraform ≤ 0.11) to the format-4 document shape on read.

Format 3 keeps `modules: [{path: ["root", "net"], outputs, resources: {"aws_instance.web.0": {...}}}]`
with flat string attributes. The result has the format-4 layout that `_resource_instances` reads:
resources grouped by (module, mode, type, name) with `count` integer keys, deposed objects and taint.
"""

from __future__ import annotations

from typing import Any

from driftmgr.errors import StateFormatError
from driftmgr.state.parse.flatmap import unflatten


def _module_address(path: Any, source: str, where: str) -> str | None:
    if not isinstance(path, list) or not path or not all(isinstance(p, str) for p in path):
        raise StateFormatError(f"{where}.path must be a list of names starting with 'root'", source=source)
    if path[0] != "root":
        raise StateFormatError(f"{where}.path must start with 'root', got {path[0]!r}", source=source)
    return ".".join(f"module.{p}" for p in path[1:]) or None


def _parse_key(key: str, source: str, where: str) -> tuple[str, str, str, int | None]:
    """`data.aws_ami.x.2` → ("data", "aws_ami", "x", 2)."""
    parts = key.split(".")
    mode = "managed"
    if parts[0] == "data":
        mode = "data"
        parts = parts[1:]
    if len(parts) < 2:
        raise StateFormatError(f"{where}: resource key {key!r} is not TYPE.NAME[.INDEX]", source=source)
    index: int | None = None
    if len(parts) >= 3 and parts[-1].isdecimal():
        index = int(parts[-1])
        parts = parts[:-1]
    if len(parts) != 2:
        raise StateFormatError(f"{where}: resource key {key!r} is not TYPE.NAME[.INDEX]", source=source)
    return mode, parts[0], parts[1], index


def _object(obj: Any, source: str, where: str) -> dict[str, Any]:
    if not isinstance(obj, dict):
        raise StateFormatError(f"{where} must be an object", source=source)
    attrs = obj.get("attributes") or {}
    if not isinstance(attrs, dict):
        raise StateFormatError(f"{where}.attributes must be an object", source=source)
    expanded = unflatten(attrs)
    if "id" not in expanded and isinstance(obj.get("id"), str):
        expanded["id"] = obj["id"]
    return expanded


def _schema_version(obj: Any) -> int:
    """Format 3 keeps it as a string under `meta` (`"meta": {"schema_version": "1"}`)."""
    meta = obj.get("meta") if isinstance(obj, dict) else None
    raw = meta.get("schema_version") if isinstance(meta, dict) else None
    return int(raw) if isinstance(raw, str) and raw.isdecimal() else 0


def upgrade_v3(doc: dict[str, Any], source: str) -> dict[str, Any]:
    modules = doc.get("modules")
    if modules is None:
        modules = []
    if not isinstance(modules, list):
        raise StateFormatError("'modules' must be a list in a format-3 state", source=source)
    grouped: dict[tuple[str | None, str, str, str], dict[str, Any]] = {}
    outputs: dict[str, Any] = {}
    for mi, mod in enumerate(modules):
        where = f"modules[{mi}]"
        if not isinstance(mod, dict):
            raise StateFormatError(f"{where} must be an object", source=source)
        module = _module_address(mod.get("path"), source, where)
        mod_outputs = mod.get("outputs")
        if mod_outputs is None:
            mod_outputs = {}
        if not isinstance(mod_outputs, dict):
            raise StateFormatError(f"{where}.outputs must be an object", source=source)
        if module is None:
            for name, out in mod_outputs.items():
                if isinstance(out, dict):
                    outputs[name] = {
                        "value": out.get("value"),
                        "type": out.get("type"),
                        "sensitive": out.get("sensitive", False),
                    }
        resources = mod.get("resources")
        if resources is None:
            resources = {}
        if not isinstance(resources, dict):
            raise StateFormatError(f"{where}.resources must be an object", source=source)
        for key, res in resources.items():
            rwhere = f"{where}.resources[{key!r}]"
            mode, rtype, name, index = _parse_key(key, source, rwhere)
            if not isinstance(res, dict):
                raise StateFormatError(f"{rwhere} must be an object", source=source)
            if isinstance(res.get("type"), str) and res["type"]:
                rtype = res["type"]
            group = grouped.setdefault(
                (module, mode, rtype, name),
                {
                    "module": module,
                    "mode": mode,
                    "type": rtype,
                    "name": name,
                    "provider": res.get("provider") or "",
                    "instances": [],
                },
            )
            # Format 3 names dependencies relative to the module; format 4 uses absolute addresses.
            raw_deps = res.get("depends_on")
            deps = [
                f"{module}.{d}" if module else d
                for d in (raw_deps if isinstance(raw_deps, list) else [])
                if isinstance(d, str)
            ]
            primary = res.get("primary")
            if primary is not None:
                inst: dict[str, Any] = {
                    "schema_version": _schema_version(primary),
                    "attributes": _object(primary, source, f"{rwhere}.primary"),
                    "dependencies": deps,
                }
                if index is not None:
                    inst["index_key"] = index
                if primary.get("tainted"):
                    inst["status"] = "tainted"
                group["instances"].append(inst)
            deposed = res.get("deposed")
            if deposed is None:
                deposed = []
            if not isinstance(deposed, list):
                raise StateFormatError(f"{rwhere}.deposed must be a list", source=source)
            for di, dep in enumerate(deposed):
                dinst: dict[str, Any] = {
                    "schema_version": _schema_version(dep),
                    "attributes": _object(dep, source, f"{rwhere}.deposed[{di}]"),
                    "deposed": f"{di + 1:08x}",
                    "dependencies": deps,
                }
                if index is not None:
                    dinst["index_key"] = index
                group["instances"].append(dinst)
    for group in grouped.values():
        group["instances"].sort(key=lambda i: (i.get("index_key") or 0, i.get("deposed") or ""))
        if group["module"] is None:
            del group["module"]
    return {
        "version": 4,
        "terraform_version": doc.get("terraform_version"),
        "serial": doc.get("serial"),
        "lineage": doc.get("lineage"),
        "outputs": outputs,
        "resources": list(grouped.values()),
    }

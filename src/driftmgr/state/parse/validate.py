"""Validation shared by both paths: the whole-file path and the streaming one apply exactly these
checks to the same values, so they accept and refuse the same states with the same messages."""

from __future__ import annotations

import codecs
import re
from collections.abc import Iterator
from typing import Any

from driftmgr.errors import StateFormatError
from driftmgr.models import CheckResult, StateHeader, StateInstance, StateOutput
from driftmgr.state.parse.address import normalize_provider, quote_key
from driftmgr.state.parse.flatmap import unflatten

SUPPORTED_VERSIONS = (3, 4)


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "list"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__  # pragma: no cover - JSON has no other types


def _utf8_error_position(data: bytes) -> tuple[int, int]:
    """(line, column) of the first byte that is not valid UTF-8; the column counts characters."""
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        start = data.rfind(b"\n", 0, exc.start) + 1
        return data.count(b"\n", 0, exc.start) + 1, len(data[start : exc.start].decode("utf-8")) + 1
    return 1, 1  # pragma: no cover - orjson found an encoding error that Python's decoder does not


def _clean_json_msg(msg: str) -> str:
    """orjson's message without a position suffix (the position is reported separately)."""
    return re.sub(r": line \d+ column \d+ \(char \d+\)$", "", msg)


def _sniff(head: bytes, source: str) -> None:
    if not head.strip():
        raise StateFormatError(
            "empty file, not a state" if not head else "file holds only whitespace", source=source
        )
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise StateFormatError(
            "UTF-16 text (as PowerShell's '>' writes it): save the state as UTF-8", source=source
        )
    if b"\x00" in head:
        raise StateFormatError("binary data, not a JSON state file", source=source)
    sample = head[:4096]
    try:
        sample.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(sample) - 4:  # not just a multi-byte character cut at the sample's end
            raise StateFormatError(
                "binary data (not UTF-8 text), not a JSON state file", source=source
            ) from None
    first = head.lstrip(codecs.BOM_UTF8 + b" \t\r\n")[:1]
    if first != b"{":
        what = "a JSON array" if first == b"[" else "JSON"
        if first == b"[":
            raise StateFormatError(
                f"expected a JSON object at the top level, got {what}", source=source, line=1, column=1
            )
        raise StateFormatError("not JSON: a state file starts with '{'", source=source, line=1, column=1)


def _version(value: Any, source: str) -> int:
    if value is None:
        raise StateFormatError("missing 'version': not a Terraform state file", source=source)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or int(value) != value:
        raise StateFormatError(f"'version' must be an integer, got {_kind(value)} {value!r}", source=source)
    v = int(value)
    if v not in SUPPORTED_VERSIONS:
        raise StateFormatError(
            f"unsupported state format version {v} (DriftMgr reads versions 3 and 4)", source=source
        )
    return v


def _header(doc: dict[str, Any], source: str, upgraded_from: int | None) -> StateHeader:
    warnings: list[str] = []
    tfv = doc.get("terraform_version")
    if tfv is not None and not isinstance(tfv, str):
        raise StateFormatError(f"'terraform_version' must be a string, got {_kind(tfv)}", source=source)
    serial = doc.get("serial")
    if serial is not None and (isinstance(serial, bool) or not isinstance(serial, (int, float))):
        raise StateFormatError(f"'serial' must be a number, got {_kind(serial)}", source=source)
    lineage = doc.get("lineage")
    if lineage is not None and not isinstance(lineage, str):
        raise StateFormatError(f"'lineage' must be a string, got {_kind(lineage)}", source=source)
    if tfv is not None and not _looks_like_version(tfv):
        warnings.append(f"terraform_version {tfv!r} is not a version number")
    return StateHeader(
        version=4 if upgraded_from else int(doc.get("version", 4)),
        terraform_version=tfv,
        serial=int(serial) if serial is not None else None,
        lineage=lineage,
        source=source,
        upgraded_from=upgraded_from,
        warnings=warnings,
    )


def _looks_like_version(v: str) -> bool:
    core = v.split("-", 1)[0].split("+", 1)[0]
    parts = core.split(".")
    return len(parts) >= 2 and all(p.isdigit() for p in parts)


def _outputs(raw: Any, source: str) -> list[StateOutput]:
    if raw is None:
        return []
    if not isinstance(raw, dict):
        raise StateFormatError(f"'outputs' must be an object, got {_kind(raw)}", source=source)
    out = []
    for name, o in raw.items():
        if not isinstance(o, dict):
            raise StateFormatError(f"outputs.{name} must be an object, got {_kind(o)}", source=source)
        out.append(
            StateOutput(
                name=name, value=o.get("value"), type=o.get("type"), sensitive=bool(o.get("sensitive"))
            )
        )
    return out


def _check_results(raw: Any, source: str) -> list[CheckResult]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise StateFormatError(f"'check_results' must be a list, got {_kind(raw)}", source=source)
    out = []
    for i, c in enumerate(raw):
        if not isinstance(c, dict):
            raise StateFormatError(f"check_results[{i}] must be an object, got {_kind(c)}", source=source)
        objects = c.get("objects")
        if objects is None:
            objects = []
        if not isinstance(objects, list):
            raise StateFormatError(f"check_results[{i}].objects must be a list", source=source)
        out.append(
            CheckResult(
                object_kind=str(c.get("object_kind", "")),
                config_addr=str(c.get("config_addr", "")),
                status=str(c.get("status", "unknown")),
                objects=[o for o in objects if isinstance(o, dict)],
            )
        )
    return out


def _str_field(
    res: dict[str, Any], key: str, where: str, source: str, *, required: bool = True
) -> str | None:
    value = res.get(key)
    if value is None:
        if required:
            raise StateFormatError(f"{where}: missing '{key}'", source=source)
        return None
    if not isinstance(value, str) or (required and not value):
        raise StateFormatError(f"{where}.{key} must be a non-empty string, got {_kind(value)}", source=source)
    return value


def _resource_instances(res: Any, index: int, source: str) -> Iterator[StateInstance]:
    where = f"resources[{index}]"
    if not isinstance(res, dict):
        raise StateFormatError(f"{where} must be an object, got {_kind(res)}", source=source)
    mode = _str_field(res, "mode", where, source) or ""
    if mode not in ("managed", "data"):
        raise StateFormatError(f"{where}.mode must be 'managed' or 'data', got {mode!r}", source=source)
    rtype = _str_field(res, "type", where, source) or ""
    name = _str_field(res, "name", where, source) or ""
    module = _str_field(res, "module", where, source, required=False) or None
    if module is not None and not module.startswith("module."):
        raise StateFormatError(
            f"{where}.module must be a module address like 'module.x', got {module!r}", source=source
        )
    raw_provider = res.get("provider") or ""
    if not isinstance(raw_provider, str):
        raise StateFormatError(f"{where}.provider must be a string, got {_kind(raw_provider)}", source=source)
    provider, provider_name = normalize_provider(raw_provider, rtype)
    instances = res.get("instances")
    if instances is None:
        return
    if not isinstance(instances, list):
        raise StateFormatError(f"{where}.instances must be a list, got {_kind(instances)}", source=source)
    prefix = f"{module}." if module else ""
    base = f"{prefix}data.{rtype}.{name}" if mode == "data" else f"{prefix}{rtype}.{name}"
    for j, inst in enumerate(instances):
        if type(inst) is not dict:
            raise StateFormatError(
                f"{where}.instances[{j}] must be an object, got {_kind(inst)}", source=source
            )
        key = inst.get("index_key")
        if key is None:
            address = base
        elif type(key) is int:
            address = f"{base}[{key}]"
        elif type(key) is str:
            address = f"{base}[{quote_key(key)}]"
        elif type(key) is float and key.is_integer():
            key = int(key)
            address = f"{base}[{key}]"
        else:
            raise StateFormatError(
                f"{where}.instances[{j}].index_key must be an integer or a string, got {_kind(key)} {key!r}",
                source=source,
            )
        attrs = inst.get("attributes")
        if type(attrs) is not dict:
            attrs = _odd_attributes(inst, f"{where}.instances[{j}]", source)
        rid = attrs.get("id")
        if rid is not None and type(rid) is not str:
            rid = str(rid) if isinstance(rid, (int, float)) and not isinstance(rid, bool) else None
        deposed = inst.get("deposed")
        status = inst.get("status")
        sens = inst.get("sensitive_attributes")
        deps = inst.get("dependencies")
        schema_version = inst.get("schema_version")
        if schema_version is None:  # absent or null: Terraform reads 0
            schema_version = 0
        if (
            (deposed is not None and type(deposed) is not str)
            or (sens is not None and type(sens) is not list)
            or (deps is not None and (type(deps) is not list or not all(type(d) is str for d in deps)))
            or type(schema_version) is not int
        ):
            _instance_field_error(inst, f"{where}.instances[{j}]", source)
            schema_version = int(schema_version)
        yield StateInstance(
            address,
            mode,
            rtype,
            name,
            module,
            key,
            provider,
            provider_name,
            rid,
            attrs,
            sens or [],
            deps or [],
            schema_version,
            status if type(status) is str else None,
            deposed,
            bool(inst.get("create_before_destroy")),
            source,
        )


def _odd_attributes(inst: dict[str, Any], where: str, source: str) -> dict[str, Any]:
    """Attributes that are not a plain object: legacy flatmap, absent, or wrong."""
    attrs = inst.get("attributes")
    if attrs is None and inst.get("attributes_flat") is not None:
        flat = inst["attributes_flat"]
        if not isinstance(flat, dict):
            raise StateFormatError(
                f"{where}.attributes_flat must be an object, got {_kind(flat)}", source=source
            )
        return unflatten(flat)
    if attrs is None:
        return {}
    raise StateFormatError(f"{where}.attributes must be an object, got {_kind(attrs)}", source=source)


def _instance_field_error(inst: dict[str, Any], where: str, source: str) -> None:
    deposed = inst.get("deposed")
    if deposed is not None and not isinstance(deposed, str):
        raise StateFormatError(f"{where}.deposed must be a string, got {_kind(deposed)}", source=source)
    sens = inst.get("sensitive_attributes")
    if sens is not None and not isinstance(sens, list):
        raise StateFormatError(
            f"{where}.sensitive_attributes must be a list, got {_kind(sens)}", source=source
        )
    deps = inst.get("dependencies")
    if deps is not None and (not isinstance(deps, list) or not all(isinstance(d, str) for d in deps)):
        raise StateFormatError(f"{where}.dependencies must be a list of addresses", source=source)
    sv = inst.get("schema_version")
    if isinstance(sv, float) and sv.is_integer():
        return
    raise StateFormatError(f"{where}.schema_version must be an integer, got {_kind(sv)}", source=source)

"""Reading HCL files with python-hcl2, with errors as one-line warnings."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import hcl2

from driftmgr.state.locate.expr import is_meta, unquote


class HclError(Exception):
    """A file that cannot be read or parsed; the message is one line naming the problem."""


def _options() -> dict[str, Any]:
    """python-hcl2 ≥ 8 can leave comments out of the result; older versions have no options."""
    opts_cls = getattr(hcl2, "SerializationOptions", None)
    if opts_cls is None:
        return {}
    return {"serialization_options": opts_cls(with_comments=False)}


def loads(text: str) -> dict[str, Any]:
    try:
        data = hcl2.loads(text, **_options())
    except Exception as exc:  # noqa: BLE001 - lark raises many types; every one means "bad HCL"
        raise HclError(f"not valid HCL{_describe(exc)}") from None
    if not isinstance(data, dict):
        raise HclError("not valid HCL: the document is not a body")
    return data


def _describe(exc: Exception) -> str:
    """` at line L, column C: unexpected 'x'` from a lark error, one line whatever lark says."""
    line, column = getattr(exc, "line", None), getattr(exc, "column", None)
    where = f" at line {line}, column {column}" if isinstance(line, int) and line > 0 else ""
    token = getattr(exc, "token", None)
    char = getattr(exc, "char", None)
    seen = str(token if token is not None else char if char is not None else "").strip()
    if seen:
        return f"{where}: unexpected {seen.split()[0][:30]!r}"
    if token is not None:
        return f"{where}: unexpected end of input"
    lines = str(exc).strip().splitlines()
    return f"{where}: {lines[0][:120] if lines else type(exc).__name__}"


def load(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise HclError("not valid HCL: the file is not UTF-8 text") from None
    except OSError as exc:
        raise HclError(f"cannot read: {exc.strerror or exc}") from None
    return loads(text)


def blocks(body: dict[str, Any], name: str) -> list[dict[str, Any]]:
    """The bodies of every `name { }` block (python-hcl2 lists them; an attribute gives a dict)."""
    value = body.get(name)
    if isinstance(value, list):
        return [b for b in value if isinstance(b, dict)]
    if isinstance(value, dict):
        return [value]
    return []


def labelled(block: dict[str, Any]) -> tuple[str | None, dict[str, Any]]:
    """Split a one-label block (`backend "s3" {}`) into (label, body); (None, body) when unlabelled."""
    if "__is_block__" in block:
        return None, block
    keys = [k for k in block if not is_meta(k)]
    if len(keys) == 1 and isinstance(block[keys[0]], dict):
        return unquote(keys[0]), block[keys[0]]
    return None, block


def attributes(body: dict[str, Any]) -> dict[str, Any]:
    return {unquote(k): v for k, v in body.items() if not is_meta(k)}

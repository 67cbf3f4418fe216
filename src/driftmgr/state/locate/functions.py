"""Terraform's pure functions that show up in state keys and bucket names."""

from __future__ import annotations

import posixpath
import re
from typing import Any

from driftmgr.state.locate.expr import Function, Namespace, Unresolved, number, to_string


def _format(fmt: str, *args: Any) -> str:
    """Terraform's format(): %s %d %v %q %% with flags and width."""
    values = list(args)

    def repl(m: re.Match[str]) -> str:
        flags, verb = m.group(1), m.group(2)
        if verb == "%":
            return "%"
        if not values:
            raise ValueError("not enough arguments for format()")
        value = values.pop(0)
        if verb == "d":
            return f"%{flags}d" % int(number(value, "format"))
        text = '"' + to_string(value) + '"' if verb == "q" else to_string(value)
        return f"%{flags}s" % text

    return re.sub(r"%([-+ #0-9.]*)([sdvq%])", repl, fmt)


def _replace(text: str, old: str, new: str) -> str:
    if len(old) >= 2 and old.startswith("/") and old.endswith("/"):
        return re.sub(old[1:-1], re.sub(r"\$(\d+)", r"\\\1", new), text)
    return text.replace(old, new)


def _merge(*maps: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for m in maps:
        if m is None:
            continue
        if not isinstance(m, dict):
            raise Unresolved("merge() of a value that is not an object")
        out.update(m)
    return out


def _lookup(mapping: Any, key: str, *default: Any) -> Any:
    if isinstance(mapping, Namespace):
        return mapping.get(key)
    if isinstance(mapping, dict) and key in mapping:
        return mapping[key]
    if default:
        return default[0]
    raise Unresolved(f"lookup(): no key {key!r}")


def _coalesce(*values: Any) -> Any:
    for v in values:
        if v is not None and v != "":
            return v
    raise Unresolved("coalesce(): every argument is null or empty")


def _element(items: list[Any], index: int) -> Any:
    if not items:
        raise Unresolved("element() of an empty list")
    return items[int(index) % len(items)]


def _length(value: Any) -> int:
    if isinstance(value, str | list | dict):
        return len(value)
    raise Unresolved("length() of a value without a length")


PURE_FUNCTIONS: dict[str, Function] = {
    "lower": lambda s: to_string(s).lower(),
    "upper": lambda s: to_string(s).upper(),
    "title": lambda s: to_string(s).title(),
    "trimspace": lambda s: to_string(s).strip(),
    "trim": lambda s, chars: to_string(s).strip(to_string(chars)),
    "trimprefix": lambda s, p: to_string(s).removeprefix(to_string(p)),
    "trimsuffix": lambda s, p: to_string(s).removesuffix(to_string(p)),
    "replace": lambda s, old, new: _replace(to_string(s), to_string(old), to_string(new)),
    "format": _format,
    "join": lambda sep, *lists: to_string(sep).join(to_string(x) for lst in lists for x in lst),
    "split": lambda sep, s: to_string(s).split(to_string(sep)),
    "basename": lambda p: posixpath.basename(to_string(p).rstrip("/")),
    "dirname": lambda p: posixpath.dirname(to_string(p).rstrip("/")) or ".",
    "lookup": _lookup,
    "merge": _merge,
    "coalesce": _coalesce,
    "concat": lambda *lists: [x for lst in lists for x in lst],
    "element": _element,
    "length": _length,
    "tostring": lambda v: to_string(v),
    "substr": lambda s, off, n: to_string(s)[int(off) : (None if int(n) < 0 else int(off) + int(n))],
}

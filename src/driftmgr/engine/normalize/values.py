"""Canonical, hashable forms of attribute values, directed by the schema node.

Two values are equal for drift purposes exactly when their canonical forms are equal:
- numbers are numbers ("10" == 10 == 10.0); bools accept "true"/"false";
- strings stay case-sensitive (ARNs, ids) except `net` strings (CIDR blocks, IP addresses:
  host bits zeroed, IPv6 lower-case and compressed), `json` strings (semantic documents) and
  `proto` strings (IP protocol names as their numbers: "tcp" == "6");
- lists are tuples, sets and blocks of `nesting_mode = set` are multisets, maps and objects are
  order-free; inside objects, computed-only attributes and empty values (null, "", [], {}) drop
  out, so an absent attribute, null and empty are the same; a nested block with nothing set
  counts as no block (`[{}]` equals `[]`).
Recursion is bounded: below `MAX_DEPTH` values get an exact iterative form (`flat`).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Collection, Mapping
from functools import lru_cache
from typing import Any

from driftmgr.engine.normalize.jsondoc import MAX_DEPTH, flat, generic, json_document, multiset
from driftmgr.engine.schema import Kind, Node

_EMPTY_TYPES = (str, list, dict, tuple, frozenset)
_EMPTY_BLOCK: frozenset[Any] = frozenset()


def is_empty(v: Any) -> bool:
    """null, "", [], {} (raw or canonical): the values an optional attribute treats as unset."""
    return v is None or (type(v) in _EMPTY_TYPES and not v)


@lru_cache(maxsize=16384)
def net(text: str) -> str:
    """`10.0.0.5/16` → `10.0.0.0/16`; `2001:DB8:0::1` → `2001:db8::1`; anything else unchanged."""
    s = text.strip()
    try:
        if "/" in s:
            return str(ipaddress.ip_network(s, strict=False))
        return str(ipaddress.ip_address(s))
    except ValueError:
        return text


# IP protocol names the AWS API answers with their numbers ("all" is AWS's "-1").
_PROTOCOL_NUMBERS = {"tcp": "6", "udp": "17", "icmp": "1", "icmpv6": "58", "all": "-1"}


def protocol(text: str) -> str:
    """`tcp` → `6`, `udp` → `17`, `icmp` → `1`, `icmpv6` → `58`, `all` → `-1` (any case); others as is."""
    return _PROTOCOL_NUMBERS.get(text.strip().lower(), text)


def number(v: Any) -> Any:
    t = type(v)
    if t is int:
        return v
    if t is float:
        return int(v) if v.is_integer() else v
    if t is str:
        s = v.strip()
        try:
            return int(s)
        except ValueError:
            pass
        try:
            f = float(s)
        except ValueError:
            return v
        if f != f or f in (float("inf"), float("-inf")):
            return v
        return int(f) if f.is_integer() else f
    return v


def boolean(v: Any) -> Any:
    if v is True or v is False:
        return v
    if type(v) is str:
        low = v.strip().lower()
        if low == "true":
            return True
        if low == "false":
            return False
    elif type(v) is int and v in (0, 1):
        return bool(v)
    return v


def string(v: Any, fmt: str | None = None) -> Any:
    t = type(v)
    if t is str:
        if fmt is None:
            return v
        if fmt == "net":
            return net(v)
        if fmt == "json":
            doc = json_document(v)
            return v if doc is None else doc
        if fmt == "proto":
            return protocol(v)
        return v
    if v is True:
        return "true"
    if v is False:
        return "false"
    if t is int:
        return str(v)
    if t is float:
        return str(int(v)) if v.is_integer() else repr(v)
    return v


def scalar(v: Any, node: Node) -> Any:
    """Canonical form of a string/number/bool value (other kinds: generic)."""
    kind = node.kind
    if type(v) is list or type(v) is dict:
        return _generic(v, 0)
    if kind is Kind.STRING:
        return string(v, node.fmt)
    if kind is Kind.NUMBER:
        return number(v)
    if kind is Kind.BOOL:
        return boolean(v)
    return _generic(v, 0)


def _generic(v: Any, depth: int) -> Any:
    """Schema-less canonical form: objects order-free with empties dropped, lists ordered."""
    t = type(v)
    if t is str or t is int or t is bool or v is None:
        return v
    if t is float:
        return int(v) if v.is_integer() else v
    return generic(v, depth)


def canonical(
    value: Any,
    node: Node | None = None,
    *,
    keys: Collection[str] | None = None,
    skip: Collection[str] = (),
    depth: int = 0,
    defaults: Mapping[Any, Any] | None = None,
) -> Any:
    """A hashable canonical form of `value` under schema `node` (None: schema-less).

    `keys` restricts the top-level object to those attribute names (used to compare only what a
    provider read); `skip` names attributes to leave out at any depth (ignore rules, volatile
    attributes); `defaults` maps schema `Attribute`s to their provider default in canonical form:
    inside objects an attribute at its default drops out like an empty one (so a set element with
    `icmp_code = null` in state equals the one read back with 0). Never raises on unexpected shapes:
    they get the schema-less form.
    """
    if value is None:
        return None
    if node is None or depth > MAX_DEPTH:
        return _generic(value, depth) if depth <= MAX_DEPTH else flat(value)
    kind = node.kind
    t = type(value)
    if t is list or t is dict:
        pass
    elif kind is Kind.STRING:
        return string(value, node.fmt)
    elif kind is Kind.NUMBER:
        return number(value)
    elif kind is Kind.BOOL:
        return boolean(value)
    elem = node.elem
    if kind is Kind.LIST or kind is Kind.BLOCK_LIST:
        if t is dict and kind is Kind.BLOCK_LIST:
            value, t = [value], list
        if t is not list:
            return _generic(value, depth)
        items = [canonical(x, elem, skip=skip, depth=depth + 1, defaults=defaults) for x in value]
        if kind is Kind.BLOCK_LIST and _EMPTY_BLOCK in items:  # a block with nothing set is no block
            items = [c for c in items if c != _EMPTY_BLOCK]
        return tuple(items)
    if kind is Kind.SET or kind is Kind.BLOCK_SET:
        if t is dict and kind is Kind.BLOCK_SET:
            value, t = [value], list
        if t is not list:
            return _generic(value, depth)
        items = [canonical(x, elem, skip=skip, depth=depth + 1, defaults=defaults) for x in value]
        if kind is Kind.BLOCK_SET and _EMPTY_BLOCK in items:
            items = [c for c in items if c != _EMPTY_BLOCK]
        return multiset(items)
    if kind is Kind.MAP or kind is Kind.BLOCK_MAP:
        if t is not dict:
            return _generic(value, depth)
        return frozenset(
            (k, canonical(x, elem, skip=skip, depth=depth + 1, defaults=defaults)) for k, x in value.items()
        )
    if kind is Kind.BLOCK_SINGLE:
        node = elem if elem is not None else node
        kind = node.kind
    if kind is Kind.OBJECT:
        if t is list and len(value) == 1 and type(value[0]) is dict:
            value, t = value[0], dict
        if t is not dict or node.attrs is None:
            return _generic(value, depth)
        attrs = node.attrs
        out = []
        for k, x in value.items():
            a = attrs.get(k)
            if a is None or a.computed_only or k in skip or (keys is not None and k not in keys):
                continue
            c = canonical(x, a.node, skip=skip, depth=depth + 1, defaults=defaults)
            if c is None or (type(c) in _EMPTY_TYPES and not c):
                continue
            if defaults and a in defaults and defaults[a] == c:
                continue
            out.append((k, c))
        return frozenset(out)
    if t is str and node.fmt is not None:  # dynamic or schema-less attribute named like a document
        return string(value, node.fmt)
    return _generic(value, depth)

"""Semantic form of JSON documents: IAM/S3/SQS/SNS/KMS/ECR policies, container definitions, ….

`json_document(text)` parses a string holding a JSON object or array and returns a hashable
canonical form in which key order and whitespace do not matter and empty values (`null`, `[]`,
`{}`) equal absence. Policies (an object with a `Statement`) get IAM's own equivalences:
statements are order-free, `Action`/`Resource`/`Principal` values are sets (a single string
equals a list of one), `"Principal": "*"` equals `{"AWS": "*"}`, a bare account id equals its
`arn:aws:iam::<id>:root`, condition values are sets of strings, and an empty `Sid` equals none.
Other documents keep list order, except lists known to be unordered (`environment`, `secrets`).
"""

from __future__ import annotations

import json
import re
from collections import Counter
from functools import lru_cache
from typing import Any

import orjson

MAX_DEPTH = 64

_STRING_SETS = frozenset({"Action", "NotAction", "Resource", "NotResource"})
_PRINCIPALS = frozenset({"Principal", "NotPrincipal"})
# lists compared order-free in non-policy documents (ECS container definitions)
_UNORDERED_KEYS = frozenset({"environment", "secrets", "environmentFiles", "ulimits", "systemControls"})
_ACCOUNT_ID = re.compile(r"\d{12}")
_EMPTY_CONTAINERS = (list, dict)
# markers of `flat`: tuples, so no JSON scalar can equal them
_OPEN_D, _CLOSE_D, _OPEN_L, _CLOSE_L = ("\0{",), ("\0}",), ("\0[",), ("\0]",)


def _empty(v: Any) -> bool:
    return v is None or (type(v) in _EMPTY_CONTAINERS and not v)


def flat(value: Any) -> tuple[Any, ...]:
    """An exact, order-preserving, hashable form of any JSON-like value, built without recursion."""
    out: list[Any] = []
    stack: list[Any] = [value]
    while stack:
        v = stack.pop()
        if isinstance(v, dict):
            out.append(_OPEN_D)
            stack.append(_CLOSE_D)
            for k in sorted(v, key=str, reverse=True):
                stack.append(v[k])
                stack.append(("\0k", str(k)))
        elif isinstance(v, list):
            out.append(_OPEN_L)
            stack.append(_CLOSE_L)
            stack.extend(reversed(v))
        else:
            out.append(v if isinstance(v, str | int | float | bool | type(None) | tuple) else repr(v))
    return tuple(out)


def multiset(items: Any) -> frozenset[Any]:
    """Order-free, hashable collection that still tells duplicates apart.

    Without duplicates this is the plain frozenset of the items; with duplicates, the frozenset of
    (item, count) pairs. Two collections are equal multisets exactly when these forms are equal.
    """
    seq = items if type(items) is list else list(items)
    once = frozenset(seq)
    if len(once) == len(seq):
        return once
    return frozenset((("\0n", item, n) for item, n in Counter(seq).items()))


def generic(v: Any, depth: int = 0, key: str | None = None) -> Any:
    """Canonical form of a JSON value: objects order-free, empties dropped, lists ordered."""
    if depth > MAX_DEPTH:
        return flat(v)
    t = type(v)
    if t is dict:
        return frozenset((k, generic(x, depth + 1, k)) for k, x in v.items() if not _empty(x))
    if t is list:
        if key in _UNORDERED_KEYS:
            return multiset(generic(x, depth + 1) for x in v)
        return tuple(generic(x, depth + 1) for x in v)
    if t is float and v.is_integer():
        return int(v)
    return v


def _scalar_str(v: Any) -> Any:
    if v is True:
        return "true"
    if v is False:
        return "false"
    if type(v) is float and v.is_integer():
        return str(int(v))
    if type(v) in (int, float):
        return str(v)
    return v


def _string_set(v: Any, depth: int) -> Any:
    t = type(v)
    if t is str:
        return frozenset((v,))
    if t is list:
        try:
            return frozenset(v)  # strings: the common case, at C speed
        except TypeError:
            return frozenset(generic(x, depth + 1) for x in v)
    return generic(v, depth)


def _principal(v: Any, depth: int) -> Any:
    if v == "*":
        return frozenset((("AWS", frozenset(("*",))),))
    if not isinstance(v, dict):
        return generic(v, depth)
    out = []
    for kind, ids in v.items():
        members = _string_set(ids, depth + 1)
        if kind == "AWS" and isinstance(members, frozenset):
            members = frozenset(
                f"arn:aws:iam::{m}:root" if isinstance(m, str) and _ACCOUNT_ID.fullmatch(m) else m
                for m in members
            )
        out.append((kind, members))
    return frozenset(out)


def _condition(v: Any, depth: int) -> Any:
    if not isinstance(v, dict):
        return generic(v, depth)
    out = []
    for op, tests in v.items():
        if isinstance(tests, dict):
            c: Any = frozenset(
                (
                    key,
                    _string_set(
                        _scalar_str(val) if not isinstance(val, list) else [_scalar_str(x) for x in val],
                        depth + 2,
                    ),
                )
                for key, val in tests.items()
            )
        else:
            c = generic(tests, depth + 1)
        out.append((op, c))
    return frozenset(out)


def _statement(s: Any, depth: int) -> Any:
    if type(s) is not dict:
        return generic(s, depth)
    out = []
    for k, v in s.items():
        if v is None or v == "" or v == [] or v == {}:  # also drops "Sid": ""
            continue
        if k in _STRING_SETS:
            c = _string_set(v, depth + 1)
        elif k in _PRINCIPALS:
            c = _principal(v, depth + 1)
        elif k == "Condition":
            c = _condition(v, depth + 1)
        else:
            c = generic(v, depth + 1, k)
        out.append((k, c))
    return frozenset(out)


def policy(doc: dict[str, Any]) -> Any:
    """Canonical form of an IAM-style policy document (an object with `Statement`)."""
    out = []
    for k, v in doc.items():
        if k == "Statement":
            stmts = v if isinstance(v, list) else [v]
            out.append((k, multiset(_statement(s, 2) for s in stmts)))
        elif not _empty(v):
            out.append((k, generic(v, 1, k)))
    return frozenset(out)


def parse(text: str) -> Any:
    """The JSON value of `text` if it holds an object or array, else None."""
    head = text.lstrip()[:1]
    if head != "{" and head != "[":
        return None
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        try:  # integers beyond 64 bits, or nesting deeper than orjson allows
            return json.loads(text)
        except (ValueError, RecursionError):
            return None


@lru_cache(maxsize=4096)
def json_document(text: str) -> Any:
    """Hashable canonical form of a JSON object/array string, or None when it is not one."""
    if not isinstance(text, str):
        return None
    doc = parse(text)
    if doc is None:
        return None
    if isinstance(doc, dict) and "Statement" in doc:
        return ("policy", policy(doc))
    return ("json", generic(doc))

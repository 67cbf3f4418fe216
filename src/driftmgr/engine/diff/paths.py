"""Terraform attribute paths: formatting change paths and matching ignore patterns.

Change paths: `name`, `block[0].child`, `tags.env`, `tags["kubernetes.io/role"]` (map keys
that are not identifiers are quoted, as Terraform does).

Ignore patterns: `name`, `block.child` (list indices are optional: `block.child` matches
`block[0].child`), `tags.*` and `fnmatch` globs per component (`tags.team-*`). A pattern also
covers everything below what it names (`tags` ignores `tags.env`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from fnmatch import fnmatchcase
from functools import lru_cache

from driftmgr.engine.schema import split_path

Pattern = tuple[str, ...]
Patterns = tuple[Pattern, ...]

_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*\Z")
_GLOB_CHARS = frozenset("*?[")


def attr_path(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name


def key_path(prefix: str, key: object) -> str:
    k = str(key)
    if _IDENT.match(k):
        return f"{prefix}.{k}" if prefix else k
    return f"{prefix}[{json.dumps(k)}]"


def index_path(prefix: str, index: int) -> str:
    return f"{prefix}[{index}]"


@lru_cache(maxsize=256)
def _compile(patterns: tuple[str, ...]) -> Patterns:
    out: list[Pattern] = []
    for raw in patterns:
        parts = tuple(str(p) for p in split_path(raw.strip()) if not isinstance(p, int))
        if parts:
            out.append(parts)
    return tuple(out)


def compile_ignore(patterns: Iterable[str]) -> Patterns | None:
    """Compiled patterns, or None when there are none (the common, fast case)."""
    compiled = _compile(tuple(patterns))
    return compiled or None


def _matches(head: str, key: str) -> bool:
    if head == key or head == "*":
        return True
    return not _GLOB_CHARS.isdisjoint(head) and fnmatchcase(key, head)


def descend(patterns: Patterns | None, key: str) -> tuple[bool, Patterns | None]:
    """Step into attribute/map key `key`: (ignored entirely, the patterns that apply below)."""
    if patterns is None:
        return False, None
    below: list[Pattern] = []
    for p in patterns:
        if _matches(p[0], key):
            if len(p) == 1:
                return True, None
            below.append(p[1:])
    return False, tuple(below) or None


def into_elements(patterns: Patterns | None) -> Patterns | None:
    """Step into the elements of a list/set: indices are optional, `*` may stand for one."""
    if patterns is None:
        return None
    extra = tuple(p[1:] for p in patterns if p[0] == "*" and len(p) > 1)
    return patterns + extra if extra else patterns


def leaf_names(patterns: Patterns | None) -> frozenset[str]:
    """Names ignored at this level (single-component exact patterns)."""
    if patterns is None:
        return frozenset()
    return frozenset(p[0] for p in patterns if len(p) == 1 and _GLOB_CHARS.isdisjoint(p[0]))

"""Attribute paths and the small glob language shared by ignore rules, policies and the severity table.

A change path is written the way Terraform prints it: `tags.env`, `ingress[0].from_port`,
`tags["kubernetes.io/role"]`. Splitting it gives steps: `["tags", "env"]`, `["ingress", "0",
"from_port"]`, `["tags", "kubernetes.io/role"]`. A path pattern is a path whose steps may use `*`;
it matches a change path when each of its steps matches the change's step at the same position
and the change path is at least as long (a pattern names an attribute and everything under it:
`tags` matches `tags.Name`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from functools import lru_cache

_SEGMENT = re.compile(
    r"""
      \[\s*(?P<index>-?\d+|\*)\s*\]                    # [0] or [*]
    | \[\s*(?P<key>"(?:[^"\\]|\\.)*")\s*\]             # ["kubernetes.io/role"]
    | \.?(?P<name>[^.\[\]]+)                           # name or .name
    """,
    re.VERBOSE,
)


def split_path(path: str) -> list[str]:
    """The steps of a Terraform attribute path; raise ValueError when it cannot be read."""
    return list(split_path_cached(path))


@lru_cache(maxsize=65536)
def split_path_cached(path: str) -> tuple[str, ...]:
    """`split_path` as a tuple, memoized: the same few paths recur on thousands of resources."""
    steps: list[str] = []
    pos = 0
    while pos < len(path):
        m = _SEGMENT.match(path, pos)
        if m is None or m.end() == pos:
            raise ValueError(f"cannot read attribute path {path!r} at character {pos + 1}")
        if m.group("index") is not None:
            steps.append(m.group("index"))
        elif m.group("key") is not None:
            steps.append(str(json.loads(m.group("key"))))
        else:
            steps.append(m.group("name"))
        pos = m.end()
    if not steps:
        raise ValueError("empty attribute path")
    return tuple(steps)


_IDENT = re.compile(r"^[A-Za-z0-9_*-]+$")


def join_path(steps: Sequence[str]) -> str:
    """Write steps back as a path: identifiers after dots, other keys as `["..."]`."""
    out: list[str] = []
    for i, step in enumerate(steps):
        if _IDENT.match(step):
            out.append(step if i == 0 else f".{step}")
        else:
            out.append("[" + json.dumps(step) + "]")
    return "".join(out)


@lru_cache(maxsize=4096)
def glob_regex(pattern: str, ignore_case: bool = False) -> re.Pattern[str]:
    """Compile a glob where `*` matches any run of characters and `?` one character.

    Nothing else is special: addresses such as `aws_subnet.a["x"]` contain brackets that must
    match literally.
    """
    parts = []
    for ch in pattern:
        if ch == "*":
            parts.append(".*")
        elif ch == "?":
            parts.append(".")
        else:
            parts.append(re.escape(ch))
    return re.compile("".join(parts), re.DOTALL | (re.IGNORECASE if ignore_case else 0))


def glob_match(pattern: str, value: str, *, ignore_case: bool = False) -> bool:
    """Whether `value` matches the whole glob `pattern` (`*`, `?`)."""
    if "*" not in pattern and "?" not in pattern:
        return pattern.lower() == value.lower() if ignore_case else pattern == value
    return glob_regex(pattern, ignore_case).fullmatch(value) is not None


class PathPattern:
    """A compiled path pattern: steps that are globs, matched as a prefix of a change path."""

    __slots__ = ("ignore_case", "steps", "text")

    def __init__(self, steps: Sequence[str], *, ignore_case: bool = False) -> None:
        self.steps = tuple(steps)
        self.ignore_case = ignore_case
        self.text = join_path(self.steps)

    @classmethod
    def parse(cls, text: str, *, ignore_case: bool = False) -> PathPattern:
        return cls(split_path(text), ignore_case=ignore_case)

    def matches(self, path: str | Sequence[str]) -> bool:
        steps = split_path_cached(path) if isinstance(path, str) else path
        if len(self.steps) > len(steps):
            return False
        return all(
            glob_match(p, s, ignore_case=self.ignore_case) for p, s in zip(self.steps, steps, strict=False)
        )

    def __repr__(self) -> str:
        return f"PathPattern({self.text!r})"

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, PathPattern)
            and self.steps == other.steps
            and self.ignore_case == other.ignore_case
        )

    def __hash__(self) -> int:
        return hash((self.steps, self.ignore_case))


def match_path(pattern: str, path: str, *, ignore_case: bool = False) -> bool:
    """Whether the path pattern `pattern` covers the change path `path` (see module doc)."""
    return PathPattern.parse(pattern, ignore_case=ignore_case).matches(path)

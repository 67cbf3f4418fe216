"""Attribute paths in Terraform syntax: `tags.env`, `ingress[0].from_port`, `tags["kubernetes.io/role"]`."""

from __future__ import annotations

import re
from typing import Any

import orjson

Step = str | int
_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")


def format_path(steps: tuple[Step, ...] | list[Step]) -> str:
    """Render path steps the way Terraform prints them: names with dots, keys and indexes in brackets.

    The first step is always an attribute name. Later string steps are map keys or nested attribute
    names: written `.key` when they are identifiers and `["key"]` otherwise.
    """
    out: list[str] = []
    for i, step in enumerate(steps):
        if isinstance(step, int):
            out.append(f"[{step}]")
        elif i == 0 or _IDENT.match(step):
            out.append(step if i == 0 else f".{step}")
        else:
            out.append("[" + orjson.dumps(step).decode() + "]")
    return "".join(out)


def sensitive_paths(raw: list[Any]) -> list[tuple[Step, ...]]:
    """The paths of an instance's `sensitive_attributes`, as step tuples.

    Terraform writes each path as a list of cty steps: `{"type": "get_attr", "value": "password"}`
    or `{"type": "index", "value": {"value": 0, "type": "number"}}`. Plain strings and numbers are
    accepted too; a path with a step of any other shape is skipped (never guessed).
    """
    out: list[tuple[Step, ...]] = []
    for path in raw:
        if isinstance(path, dict):  # a single step written without the enclosing list
            path = [path]
        if not isinstance(path, list):
            continue
        steps: list[Step] = []
        for step in path:
            value: Any = step
            if isinstance(step, dict):
                value = step.get("value")
                if isinstance(value, dict):
                    value = value.get("value")
            if isinstance(value, bool):
                break
            if isinstance(value, float) and value.is_integer():
                value = int(value)
            if not isinstance(value, (str, int)):
                break
            steps.append(value)
        else:
            out.append(tuple(steps))
    return out

"""Expand Terraform's legacy "flatmap" attributes (`tags.%`, `ingress.#`, `ingress.1234.from_port`).

Terraform 0.11 states (format 3) and `attributes_flat` in early format-4 states store every attribute
as a flat string map. Without the provider schema the value types are unknown, so leaves stay strings;
the structure (maps, lists, sets keyed by hash) is rebuilt. Iterative, so no input can exhaust the stack.
"""

from __future__ import annotations

from typing import Any


def unflatten(flat: dict[str, Any]) -> dict[str, Any]:
    # Build a trie of path segments first, then convert nodes bottom-up.
    root: dict[str, Any] = {}
    for key, value in flat.items():
        node = root
        parts = str(key).split(".")
        for part in parts[:-1]:
            child = node.get(part)
            if not isinstance(child, dict):
                child = {}
                node[part] = child
            node = child
        last = parts[-1]
        if isinstance(node.get(last), dict):
            node[last][""] = value  # a leaf and a container at once: keep the leaf under ""
        else:
            node[last] = value
    return _convert(root)


def _convert(root: dict[str, Any]) -> dict[str, Any]:
    # Post-order traversal with an explicit stack.
    out: dict[int, Any] = {}
    stack: list[tuple[dict[str, Any], bool]] = [(root, False)]
    while stack:
        node, done = stack.pop()
        if not done:
            stack.append((node, True))
            for v in node.values():
                if isinstance(v, dict):
                    stack.append((v, False))
            continue
        converted = {k: (out.pop(id(v)) if isinstance(v, dict) else v) for k, v in node.items()}
        out[id(node)] = _shape(converted)
    result = out.pop(id(root))
    return result if isinstance(result, dict) else {"": result}


def _shape(node: dict[str, Any]) -> Any:
    if "#" in node:  # list or set: count under "#", elements under indexes or set hashes
        items = [(k, v) for k, v in node.items() if k != "#"]

        def order(item: tuple[str, Any]) -> tuple[int, int | str]:
            return (0, int(item[0])) if item[0].isdigit() else (1, item[0])

        return [v for _, v in sorted(items, key=order)]
    if "%" in node:  # map: count under "%"
        return {k: v for k, v in node.items() if k != "%"}
    return node

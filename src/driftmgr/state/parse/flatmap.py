"""Expand Terraform's legacy "flatmap" attributes (`tags.%`, `ingress.#`, `ingress.1234.from_port`).

Terraform 0.11 states (format 3) and `attributes_flat` in early format-4 states store every attribute
as a flat string map. Without the provider schema the value types are unknown, so leaves stay strings;
the structure (maps, lists, sets keyed by hash) is rebuilt. Iterative, so no input can exhaust the stack.
"""

from __future__ import annotations

from typing import Any


def unflatten(flat: dict[str, Any]) -> dict[str, Any]:
    # Build a trie of path segments first, then convert nodes bottom-up.
    opaque = _primitive_maps(flat)
    root: dict[str, Any] = {}
    for key, value in flat.items():
        node = root
        parts = _split(str(key), opaque)
        for part in parts[:-1]:
            child = node.get(part)
            if not isinstance(child, dict):
                container: dict[str, Any] = {"": child} if part in node else {}  # keep a leaf seen first
                node[part] = container
                child = container
            node = child
        last = parts[-1]
        if isinstance(node.get(last), dict):
            node[last][""] = value  # a leaf and a container at once: keep the leaf under ""
        else:
            node[last] = value
    return _convert(root)


def _primitive_maps(flat: dict[str, Any]) -> list[str]:
    """Prefixes (`tags.`) of the maps that hold only primitives, longest first.

    A map's keys may contain dots (`tags.kubernetes.io/cluster/main`), so below such a prefix the
    rest of a flat key is one map key. Maps of the legacy SDK always hold primitives; a map with a
    count marker (`.%`/`.#`) below it holds containers and is split as usual.
    """
    prefixes = [k[:-1] for k in flat if isinstance(k, str) and k.endswith(".%")]
    if not prefixes:
        return []
    markers = [k for k in flat if isinstance(k, str) and k.endswith((".%", ".#"))]
    out = [p for p in prefixes if not any(m.startswith(p) and m != p + "%" for m in markers)]
    return sorted(out, key=len, reverse=True)


def _split(key: str, opaque: list[str]) -> list[str]:
    for p in opaque:
        if key.startswith(p):
            return [*p[:-1].split("."), key[len(p) :]]
    return key.split(".")


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
    if "%" in node:  # map: count under "%" (checked first: a map may have a key "#")
        return {k: v for k, v in node.items() if k != "%"}
    if "#" in node:  # list or set: count under "#", elements under indexes or set hashes
        items = [(k, v) for k, v in node.items() if k != "#"]

        def order(item: tuple[str, Any]) -> tuple[int, int | str]:
            return (0, int(item[0])) if item[0].isdecimal() else (1, item[0])

        return [v for _, v in sorted(items, key=order)]
    return node

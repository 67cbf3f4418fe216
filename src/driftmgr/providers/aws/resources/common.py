"""Small helpers shared by AWS resource modules: tags, JSON policies, optional values."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import unquote


def tags(item: dict[str, Any], key: str = "Tags") -> dict[str, str]:
    """AWS `[{Key, Value}]` (or `{k: v}`) → Terraform's `tags` map (aws: prefixed tags dropped)."""
    raw = item.get(key) or []
    pairs = raw.items() if isinstance(raw, dict) else ((t.get("Key"), t.get("Value")) for t in raw)
    return {str(k): "" if v is None else str(v) for k, v in pairs if k and not str(k).startswith("aws:")}


def policy_json(doc: Any) -> str | None:
    """A policy document as Terraform stores it: a JSON string (URL-decoded when IAM returns it so)."""
    if doc is None or doc == "":
        return None
    if isinstance(doc, str):
        text = unquote(doc) if doc.startswith("%7B") else doc
        return text
    return json.dumps(doc, separators=(",", ":"))


def name_tag(item: dict[str, Any]) -> str | None:
    return tags(item).get("Name")

"""Normalization of attribute values into canonical, hashable forms (see `values` and `jsondoc`)."""

from driftmgr.engine.normalize.jsondoc import flat, json_document, multiset, policy
from driftmgr.engine.normalize.values import boolean, canonical, is_empty, net, number, scalar, string

__all__ = [
    "boolean",
    "canonical",
    "flat",
    "is_empty",
    "json_document",
    "multiset",
    "net",
    "number",
    "policy",
    "scalar",
    "string",
]

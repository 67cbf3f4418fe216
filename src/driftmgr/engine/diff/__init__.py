"""Attribute comparison: `compare(expected, actual, schema)` → list of `Change` (DESIGN §2)."""

from driftmgr.engine.diff.core import MASK, compare
from driftmgr.engine.diff.paths import attr_path, compile_ignore, index_path, key_path
from driftmgr.engine.diff.rules import DEFAULT_RULES, DEFAULTS, STATE_ONLY, VOLATILE, CompareRules

__all__ = [
    "DEFAULTS",
    "DEFAULT_RULES",
    "MASK",
    "STATE_ONLY",
    "VOLATILE",
    "CompareRules",
    "attr_path",
    "compare",
    "compile_ignore",
    "index_path",
    "key_path",
]

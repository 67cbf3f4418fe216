"""State analysis: summaries (`show`), dependency graphs, state-to-state diffs, and safe moves.

Pure logic over `StateReader`s and `Backend`s; no CLI and no rendering here.
"""

from driftmgr.state.analysis.diff import InstanceChange, StateDiff, diff_states
from driftmgr.state.analysis.graph import DependencyGraph, build_graph
from driftmgr.state.analysis.migrate import (
    MigrateResult,
    PushResult,
    migrate_state,
    push_state,
    validate_state,
)
from driftmgr.state.analysis.show import StateSummary, instance_details, mask_sensitive, summarize

__all__ = [
    "DependencyGraph",
    "InstanceChange",
    "MigrateResult",
    "PushResult",
    "StateDiff",
    "StateSummary",
    "build_graph",
    "diff_states",
    "instance_details",
    "mask_sensitive",
    "migrate_state",
    "push_state",
    "summarize",
    "validate_state",
]

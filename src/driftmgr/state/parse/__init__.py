"""Terraform state parsing: format 4 (streaming) and format 3 (upgraded on read)."""

from driftmgr.state.parse.address import format_key, instance_address, normalize_provider
from driftmgr.state.parse.reader import SMALL_FILE_BYTES, ParsedState, StateReader

__all__ = [
    "SMALL_FILE_BYTES",
    "ParsedState",
    "StateReader",
    "format_key",
    "instance_address",
    "normalize_provider",
]

"""Shared rendering helpers: formats, JSON emission, Rich tables."""

from __future__ import annotations

import enum
from collections.abc import Iterable
from typing import IO, Any

import orjson


class Format(str, enum.Enum):
    table = "table"
    json = "json"


class GraphFormat(str, enum.Enum):
    dot = "dot"
    json = "json"


def dump_json(obj: Any) -> bytes:
    return orjson.dumps(obj, option=orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS) + b"\n"


def write_json_blocks(sink: IO[bytes], key: str, blocks: Iterable[bytes]) -> None:
    """Write `{"<key>": [...]}` from blocks of compact JSON records joined by newlines."""
    write = getattr(sink, "file", sink).write
    write(b'{"' + key.encode() + b'": [')
    first = True
    for block in blocks:
        if not block:
            continue
        write(b"\n  " if first else b",\n  ")
        write(block.replace(b"\n", b",\n  "))
        first = False
    write(b"]}\n" if first else b"\n]}\n")

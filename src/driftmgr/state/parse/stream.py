"""The stream under ijson: nesting-depth guard, error positions, and the 64-bit integer fallback.

`_Guarded` wraps the raw stream ijson reads. It follows the nesting depth outside strings ahead of
the parser (ijson's per-level prefix strings cost memory and time growing with the square of the
depth, so a 100 000-level document must never reach it) and knows the line and column of every
byte of the chunk being parsed, for error messages.
"""

from __future__ import annotations

import codecs
import itertools
import operator
import re
from typing import IO, Any

import ijson

from driftmgr.errors import StateFormatError

# orjson's nesting limit, enforced on the streaming path too so both paths refuse the same documents
# (and ijson, whose cost grows with the square of the depth, never sees a deeper one).
MAX_DEPTH = 1024


class _IntegerOverflow(Exception):
    """yajl met an integer beyond 64 bits: read again with ijson's pure-Python backend."""


def _python_backend() -> Any:
    return ijson.get_backend("python")


def _like_orjson(value: Any) -> Any:
    """Integers outside orjson's range (-2**63 … 2**64-1) become floats, as orjson decodes them."""
    stack = [value]
    while stack:
        node = stack.pop()
        items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
        for k, v in items:
            if type(v) is int and not -(2**63) <= v < 2**64:
                node[k] = float(v)
            elif isinstance(v, (dict, list)):
                stack.append(v)
    if type(value) is int and not -(2**63) <= value < 2**64:
        return float(value)
    return value


class _Guarded:
    """A read-only stream wrapper for ijson: tracks the position (for error messages) and refuses a
    document nested deeper than MAX_DEPTH before ijson's per-level prefix strings, whose memory and
    time grow with the square of the depth, can run away.

    The depth is followed at C speed: escape pairs are removed, `bytes.translate` keeps only quotes
    and brackets, adjacent quote pairs (strings without brackets) are dropped without changing any
    bracket's inside-or-outside-a-string parity, and brackets outside strings are counted.
    """

    def __init__(self, raw: IO[bytes], source: str) -> None:
        self._raw = raw
        self._source = source
        self._lines_before = 0  # newlines before the current chunk
        self._col_base = 0  # bytes between the last newline before the chunk and the chunk
        self._chunk = b""
        self._offset = 0
        self._first = True
        self._depth = 0  # nesting depth at the end of the chunks read so far
        self._in_string = False  # ... and whether that end is inside a string
        self._carry = b""  # trailing backslashes of the last chunk (an escape cut by the boundary)

    def read(self, n: int = -1) -> bytes:
        prev = self._chunk
        self._lines_before += prev.count(b"\n")
        nl = prev.rfind(b"\n")
        self._col_base = len(prev) - nl - 1 if nl >= 0 else self._col_base + len(prev)
        self._offset += len(prev)
        data = self._raw.read(n)
        if self._first and n != 0:  # ijson probes the stream with read(0) first
            self._first = False
            if data.startswith(codecs.BOM_UTF8):
                data = data[len(codecs.BOM_UTF8) :]
        self._chunk = data
        if data:
            self._track_depth(data)
        return data

    def _track_depth(self, data: bytes) -> None:
        carried = self._carry
        text = carried + data if carried else data
        self._carry = b""
        if text.endswith(b"\\"):
            body = text.rstrip(b"\\")
            self._carry = text[len(body) :]
            text = body
        if b"\\" in text:
            text = _ESCAPE.sub(b"", text)  # every escape pair, left to right, as JSON reads them
        marks = text.translate(None, _NOT_STRUCTURE).replace(b'""', b"")
        in_string = self._in_string
        if in_string or b'"' in marks:
            parts = marks.split(b'"')
            marks = b"".join(parts[1::2] if in_string else parts[::2])
            if len(parts) % 2 == 0:
                self._in_string = not in_string
        opens = marks.count(b"[") + marks.count(b"{")
        if self._depth + opens > MAX_DEPTH and _exceeds(marks, self._depth):
            offset = _too_deep_at(data, self._depth, in_string, len(carried) % 2 == 1)
            line, column = self._position(offset + 1)  # just past the bracket, as orjson reports
            raise StateFormatError(
                f"invalid JSON: nested deeper than {MAX_DEPTH} levels",
                source=self._source,
                line=line,
                column=column,
            )
        self._depth += 2 * opens - len(marks)

    def position_of_error(self, message: str | bytes = "") -> tuple[int | None, int | None]:
        """(line, column) of a streaming parse error.

        yajl's verbose message shows up to 30 bytes either side of the error with a caret under it
        at column 40; that context is located in the chunk being parsed to get the exact offset.
        Without a usable context, the end of the chunk is reported.
        """
        chunk = self._chunk
        offset = len(chunk)
        raw = message if isinstance(message, bytes) else message.encode("utf-8", "surrogateescape")
        lines = raw.split(b"\n")  # in bytes: the window and the caret column count bytes
        if len(lines) >= 3 and lines[2].rstrip().endswith(b"^") and len(lines[1]) >= 40:
            caret = lines[2].rstrip().rfind(b"^")
            before = lines[1][:caret].lstrip(b" ")
            needle = before + lines[1][caret:]
            # yajl blanks out CR and LF (not tabs). The first match: parsing stopped at the error, and
            # the corrupt text itself usually makes the window unique.
            flat = chunk.replace(b"\n", b" ").replace(b"\r", b" ")
            hit = flat.find(needle) if needle.strip() else -1
            if hit >= 0:
                offset = hit + len(before)
        return self._position(offset)

    def position_of_bad_utf8(self) -> tuple[int | None, int | None]:
        """(line, column) of the first byte of the chunk that is not UTF-8 (past a character cut by
        the chunk's start)."""
        chunk = self._chunk
        skip = 0
        while skip < min(3, len(chunk)) and 0x80 <= chunk[skip] <= 0xBF:
            skip += 1
        try:
            chunk[skip:].decode("utf-8")
        except UnicodeDecodeError as exc:
            return self._position(skip + exc.start)
        return self.position_of_error()  # pragma: no cover - yajl found one: so does Python

    def position_in_token(self, token: bytes, inner: int) -> tuple[int | None, int | None]:
        """(line, column) of byte `inner` of a string token found in the chunk being parsed."""
        at = self._chunk.find(token) if token else -1
        return self.position_of_error() if at < 0 else self._position(at + inner)

    def _position(self, offset: int) -> tuple[int, int]:
        """1-based (line, column) of byte `offset` of the current chunk; the column counts bytes."""
        head = self._chunk[:offset]
        line = self._lines_before + head.count(b"\n") + 1
        last_nl = head.rfind(b"\n")
        column = offset - last_nl if last_nl >= 0 else self._col_base + offset + 1
        return line, column


_ESCAPE = re.compile(rb"\\.", re.DOTALL)
_NOT_STRUCTURE = bytes(b for b in range(256) if b not in b'"[]{}')  # deleted by translate
_STEP = bytes(2 if b in b"[{" else 0 for b in range(256))  # an opening bracket → 2, closing → 0


def _exceeds(marks: bytes, depth: int) -> bool:
    """Whether a run of brackets entered at `depth` goes past MAX_DEPTH. Blocks whose bracket count
    cannot reach the limit are skipped; the exact peak is computed only for the others."""
    for i in range(0, len(marks), 512):
        block = marks[i : i + 512]
        opens = block.count(b"[") + block.count(b"{")
        if depth + opens > MAX_DEPTH and depth + _peak(block) > MAX_DEPTH:
            return True
        depth += 2 * opens - len(block)
    return False


def _peak(marks: bytes) -> int:
    """The highest depth reached along a run of brackets, relative to its start (C-speed)."""
    steps = itertools.accumulate(marks.translate(_STEP))
    return int(max(map(operator.sub, steps, itertools.count(1)), default=0))


def _too_deep_at(data: bytes, depth: int, in_string: bool, escaped: bool) -> int:
    """Offset in `data` of the bracket that goes past MAX_DEPTH (a byte-by-byte scan, errors only)."""
    for i, b in enumerate(data):
        if in_string:
            if escaped:
                escaped = False
            elif b == 0x5C:  # backslash
                escaped = True
            elif b == 0x22:
                in_string = False
        elif b == 0x22:
            in_string = True
        elif b in (0x5B, 0x7B):
            depth += 1
            if depth > MAX_DEPTH:
                return i
        elif b in (0x5D, 0x7D):
            depth -= 1
    return len(data)  # pragma: no cover - only called when the chunk does go past the limit

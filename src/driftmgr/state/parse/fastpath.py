"""Fast path for states laid out the way Terraform and OpenTofu write them.

Terraform writes state with Go's `json.MarshalIndent(…, "", "  ")`: the top-level `"resources"` key
sits at two spaces and each resource object opens with `\\n    {` and closes with `\\n    }`. JSON
strings cannot hold a raw newline, so in such a file those byte sequences appear only at element
boundaries. This reader cuts the array at those boundaries and decodes each element with orjson
(several times faster than building objects event by event), holding one block at a time.

Nothing is trusted: every slice must decode on its own as a JSON object (then, JSON's grammar being
unambiguous, the slices are exactly the array's elements), and the rest of the document, with the
array emptied, must decode with that empty array as its top-level "resources". Any other layout or
any failure raises NotFastPath, and the caller falls back to the general streaming reader, skipping
the elements already delivered.
"""

from __future__ import annotations

import codecs
from collections.abc import Iterator
from typing import IO, Any

import orjson

BLOCK = 1024 * 1024
START = b'\n  "resources": ['
SEP = b"\n    },\n    {"
END = b"\n    }\n  ]"


class NotFastPath(Exception):
    """The file is not in Terraform's layout (or is invalid): use the general reader."""


def iter_resources(fh: IO[bytes], trailer: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Yield the resource objects; on success `trailer` receives the rest of the document."""
    buf = fh.read(BLOCK)
    if buf.startswith(codecs.BOM_UTF8):
        buf = buf[len(codecs.BOM_UTF8) :]
    start = buf.find(START)
    if start < 0:
        raise NotFastPath("no top-level resources key in the first block")
    head = buf[:start] + START  # ends with '['
    pos = start + len(START)
    rest = buf[pos:].lstrip(b" \r\n\t")
    if rest.startswith(b"]"):  # `"resources": []`
        trailer.update(_check_document(head, rest, fh))
        return
    if buf.find(b"\n    {", pos) != pos:
        raise NotFastPath("resources array not laid out by Terraform")
    yield from iter_elements(fh, buf, pos + len(b"\n    "), 0, None, head, trailer)


def array_start(fh: IO[bytes]) -> int:
    """Absolute offset of the first element's `{` (no BOM), or raise NotFastPath."""
    buf = fh.read(BLOCK)
    start = buf.find(START)
    if start < 0 or buf.startswith(codecs.BOM_UTF8):
        raise NotFastPath("no top-level resources key in the first block")
    pos = start + len(START)
    if buf.find(b"\n    {", pos) != pos:
        raise NotFastPath("resources array not laid out by Terraform")
    return pos + len(b"\n    ")


def next_boundary(fh: IO[bytes], offset: int) -> int | None:
    """The offset of the first element start (`{` after a separator) at or after `offset`."""
    fh.seek(offset)
    carry = b""
    base = offset
    while True:
        block = fh.read(BLOCK)
        if not block:
            return None
        buf = carry + block
        i = buf.find(SEP)
        if i >= 0:
            return base + i + len(SEP) - 1
        keep = len(SEP) - 1
        carry = buf[-keep:]
        base += len(buf) - keep


def iter_elements(
    fh: IO[bytes],
    buf: bytes,
    pos: int,
    base: int,
    stop: int | None,
    head: bytes | None,
    trailer: dict[str, Any],
) -> Iterator[dict[str, Any]]:
    """Elements from `buf[pos]` (an element's `{`; `base` is buf[0]'s file offset) until the element
    starting at absolute offset `stop`, or until the end of the array (then, with `head`, the whole
    document is checked and `trailer` filled)."""
    eof = False
    while True:
        sep = buf.find(SEP, pos)
        end = buf.find(END, pos, sep + len(END) if sep >= 0 else len(buf))
        if sep >= 0 and (end < 0 or sep < end):
            yield _element(buf[pos : sep + 6])
            pos = sep + len(SEP) - 1  # at the next '{'
            if stop is not None and base + pos >= stop:
                if base + pos != stop:
                    raise NotFastPath("split point is not an element boundary")
                return
            continue
        if end >= 0:
            if stop is not None:
                raise NotFastPath("array ended before the split point")
            yield _element(buf[pos : end + 6])
            tail = buf[end + len(END) - 1 :]  # from ']'
            if head is not None:
                trailer.update(_check_document(head, tail, fh))
            else:
                trailer["tail"] = tail + fh.read()
            return
        if eof:
            raise NotFastPath("unterminated resources array")
        more = fh.read(BLOCK)
        if not more:
            eof = True
        base += pos
        buf = buf[pos:] + more
        pos = 0


def _element(raw: bytes) -> dict[str, Any]:
    # Decoded two levels down, where an element sits in the document (top object, resources array),
    # so orjson's nesting limit (1024) counts from the document's top as on the whole-file path; a
    # slice too deep sends the caller to the general reader, which reports it precisely. `[[x]]`
    # with one element in each array proves the slice is exactly one JSON value.
    try:
        outer = orjson.loads(b"".join((b"[[", raw, b"]]")))
    except orjson.JSONDecodeError:
        raise NotFastPath("a slice is not a JSON value") from None
    if len(outer) != 1 or len(outer[0]) != 1 or not isinstance(outer[0][0], dict):
        raise NotFastPath("a slice is not one object")
    value: dict[str, Any] = outer[0][0]
    return value


def _check_document(head: bytes, tail: bytes, fh: IO[bytes]) -> dict[str, Any]:
    remaining = fh.read()
    try:
        doc = orjson.loads(head + tail + remaining)
    except orjson.JSONDecodeError:
        raise NotFastPath("the document around the resources array is not valid JSON") from None
    if not isinstance(doc, dict) or doc.get("resources") != []:
        raise NotFastPath("the resources array found is not the top-level one")
    return doc


def read_head(fh: IO[bytes]) -> dict[str, Any]:
    """The top-level fields written before "resources" (version, serial, lineage, outputs…)."""
    buf = fh.read(BLOCK)
    if buf.startswith(codecs.BOM_UTF8):
        buf = buf[len(codecs.BOM_UTF8) :]
    start = buf.find(START)
    if start < 0:
        raise NotFastPath("no top-level resources key in the first block")
    try:
        doc = orjson.loads(buf[:start] + START + b"]}")
    except orjson.JSONDecodeError:
        raise NotFastPath("the head is not Terraform's layout") from None
    if not isinstance(doc, dict):  # pragma: no cover - a text ending with "}" is an object or invalid
        raise NotFastPath("not an object")
    return doc

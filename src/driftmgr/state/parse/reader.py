"""Read Terraform/OpenTofu state snapshots (format 3 and 4), streaming large ones.

Small files (≤ SMALL_FILE_BYTES) are decoded at once with orjson, which gives exact line/column for
syntax errors and refuses nesting deeper than 1024 levels. Larger files stream through ijson's C
backend: one resource object at a time is built, so memory stays flat whatever the file size, and
the rest of the document is still checked to its last byte. Both paths feed the same validation
(`_resource_instances`), so they cannot disagree.

Every problem with the content raises StateFormatError naming the source and what is wrong. A
consumer that must not show partial output buffers until iteration ends: errors may be found at the
end of the file (truncation), after many instances were already yielded.
"""

from __future__ import annotations

import codecs
import io
import itertools
import operator
import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import ijson
import orjson

from driftmgr.errors import StateFormatError
from driftmgr.models import CheckResult, StateHeader, StateInstance, StateOutput
from driftmgr.state.parse import fastpath
from driftmgr.state.parse.address import normalize_provider, quote_key
from driftmgr.state.parse.flatmap import unflatten

SMALL_FILE_BYTES = 32 * 1024 * 1024
SUPPORTED_VERSIONS = (3, 4)
# ijson's read size. yajl re-scans a token cut by a chunk boundary from its start on every chunk,
# so a long string costs (length² / chunk): 1 MiB chunks keep a 32 MiB string under a second.
STREAM_CHUNK = 1024 * 1024
# orjson's nesting limit, enforced on the streaming path too so both paths refuse the same documents
# (and ijson, whose cost grows with the square of the depth, never sees a deeper one).
MAX_DEPTH = 1024

Opener = Callable[[], IO[bytes]]


@dataclass(slots=True)
class ParsedState:
    header: StateHeader
    instances: list[StateInstance]
    outputs: list[StateOutput] = field(default_factory=list)
    check_results: list[CheckResult] = field(default_factory=list)


class StateReader:
    """Reads one state snapshot. `opener` must return a fresh binary stream on every call."""

    def __init__(self, opener: Opener, source: str, size: int | None = None) -> None:
        self._open = opener
        self.source = source
        self.size = size
        self._doc: dict[str, Any] | None = None  # whole document, small-file path
        self._header: StateHeader | None = None
        self._outputs: list[StateOutput] | None = None
        self._checks: list[CheckResult] | None = None
        self._resources_kind: str | None = None  # JSON event that opened "resources" (streaming)
        self._fast = False  # Terraform's own layout: the fast path applies

    # --- constructors ----------------------------------------------------------------------
    @classmethod
    def from_path(cls, path: str | os.PathLike[str], source: str | None = None) -> StateReader:
        p = Path(path)
        src = source or str(p)
        try:
            size = p.stat().st_size
        except FileNotFoundError:
            raise StateFormatError("no such file", source=src) from None
        except PermissionError:
            raise StateFormatError("permission denied", source=src) from None
        except OSError as exc:  # a path through a file, a symlink loop, a name too long...
            raise StateFormatError(f"cannot read the file: {exc.strerror or exc}", source=src) from None
        if p.is_dir():
            raise StateFormatError("is a directory, not a state file", source=src)

        def opener() -> IO[bytes]:
            try:
                return open(p, "rb")
            except PermissionError:
                raise StateFormatError("permission denied reading the file", source=src) from None
            except OSError as exc:
                raise StateFormatError(f"cannot read the file: {exc.strerror or exc}", source=src) from None

        return cls(opener, src, size)

    @classmethod
    def from_bytes(cls, data: bytes, source: str) -> StateReader:
        return cls(lambda: io.BytesIO(data), source, len(data))

    # --- public API ------------------------------------------------------------------------
    @property
    def streaming(self) -> bool:
        return self.size is None or self.size > SMALL_FILE_BYTES

    def header(self) -> StateHeader:
        if self._header is None:
            self._load_header()
        assert self._header is not None
        return self._header

    def iter_instances(self) -> Iterator[StateInstance]:
        """Every resource instance object (current and deposed), in file order."""
        header = self.header()
        if self._doc is not None:
            resources = self._doc.get("resources")
            for i, res in enumerate(resources or []):
                yield from _resource_instances(res, i, self.source)
            return
        if header.version != 4:  # pragma: no cover - v3 always takes the whole-document path
            raise StateFormatError(f"unsupported state format version {header.version}", source=self.source)
        if self._resources_kind is None:
            return  # no "resources" key: an empty state
        done = 0
        if self._fast:
            trailer: dict[str, Any] = {}
            try:
                with self._open() as fh:
                    for res in fastpath.iter_resources(fh, trailer):
                        yield from _resource_instances(res, done, self.source)
                        done += 1
                if self._outputs is None:
                    self._outputs = _outputs(trailer.get("outputs"), self.source)
                if self._checks is None:
                    self._checks = _check_results(trailer.get("check_results"), self.source)
                return
            except fastpath.NotFastPath:
                self._fast = False  # fall through: the general reader, skipping what was delivered
        with self._open() as raw:
            stream = _Guarded(raw, self.source)
            items = ijson.items(stream, "resources.item", use_float=True, buf_size=STREAM_CHUNK)
            index = 0
            while True:
                try:
                    res = next(items)
                except StopIteration:
                    break
                except ijson.JSONError as exc:
                    raise self._json_error(exc, stream) from None
                if index >= done:
                    yield from _resource_instances(res, index, self.source)
                index += 1

    def instances(self) -> list[StateInstance]:
        return list(self.iter_instances())

    def outputs(self) -> list[StateOutput]:
        if self._outputs is None:
            self.header()
            if self._outputs is None:  # streaming and "outputs" came after "resources"
                self._outputs = _outputs(self._scan_value("outputs"), self.source)
        return self._outputs

    def check_results(self) -> list[CheckResult]:
        if self._checks is None:
            self.header()
            if self._checks is None:
                self._checks = _check_results(self._scan_value("check_results"), self.source)
        return self._checks

    def read(self) -> ParsedState:
        instances = self.instances()
        return ParsedState(self.header(), instances, self.outputs(), self.check_results())

    # --- internals -------------------------------------------------------------------------
    def _load_header(self) -> None:
        with self._open() as fh:
            head = fh.read(65536)
        _sniff(head, self.source)
        if not self.streaming:
            self._load_document()
            return
        self._stream_header()

    def _load_document(self) -> None:
        with self._open() as fh:
            data = fh.read()
        if data.startswith(codecs.BOM_UTF8):
            data = data[len(codecs.BOM_UTF8) :]
        try:
            doc = orjson.loads(data)
        except orjson.JSONDecodeError as exc:
            msg = str(exc.msg) if hasattr(exc, "msg") else str(exc)
            if "recursion" in msg.lower() or "depth limit" in msg.lower():
                raise StateFormatError(
                    f"invalid JSON: nested deeper than {MAX_DEPTH} levels",
                    source=self.source,
                    line=exc.lineno,
                    column=exc.colno,
                ) from None
            raise StateFormatError(
                f"invalid JSON: {_clean_json_msg(msg)}", source=self.source, line=exc.lineno, column=exc.colno
            ) from None
        if not isinstance(doc, dict):
            raise StateFormatError(
                f"expected a JSON object at the top level, got {_kind(doc)}", source=self.source
            )
        version = _version(doc.get("version"), self.source)
        if version == 3:
            from driftmgr.state.parse.v3 import upgrade_v3

            doc = upgrade_v3(doc, self.source)
        resources = doc.get("resources")
        if resources is not None and not isinstance(resources, list):
            raise StateFormatError(f"'resources' must be a list, got {_kind(resources)}", source=self.source)
        self._doc = doc
        self._header = _header(doc, self.source, upgraded_from=3 if version == 3 else None)
        self._outputs = _outputs(doc.get("outputs"), self.source)
        self._checks = _check_results(doc.get("check_results"), self.source)

    def _stream_header(self) -> None:
        """Read top-level scalars (and outputs) up to the start of "resources"."""
        try:
            with self._open() as fh:
                head = fastpath.read_head(fh)
        except fastpath.NotFastPath:
            pass
        else:
            if "version" not in head:
                head["version"] = self._scan_value("version")
            version = _version(head.get("version"), self.source)
            if version == 4 and "modules" not in head:
                self._fast = True
                self._resources_kind = "start_array"
                self._finish_header(head)
                return
        self._slow_stream_header()

    def _finish_header(self, top: dict[str, Any]) -> None:
        """The header from the top-level fields before "resources" (where Terraform writes them
        all); a field written after it is looked up with an extra pass, outputs and check results
        lazily (or from the fast path's trailer)."""
        for key in ("terraform_version", "serial", "lineage"):
            if key not in top:
                top[key] = self._scan_value(key)
        self._header = _header(top, self.source, upgraded_from=None)
        if "outputs" in top:
            self._outputs = _outputs(top["outputs"], self.source)
        if "check_results" in top:
            self._checks = _check_results(top["check_results"], self.source)

    def _slow_stream_header(self) -> None:
        """Read top-level scalars (and outputs) up to the start of "resources", event by event."""
        top: dict[str, Any] = {}
        builder: ijson.ObjectBuilder | None = None
        building = ""
        with self._open() as raw:
            stream = _Guarded(raw, self.source)
            try:
                for prefix, event, value in ijson.parse(stream, use_float=True, buf_size=STREAM_CHUNK):
                    if builder is not None:
                        if prefix == building and event in ("end_map", "end_array"):
                            builder.event(event, value)
                            top[building] = builder.value
                            builder = None
                        else:
                            builder.event(event, value)
                        continue
                    if prefix == "" or "." in prefix:
                        if prefix == "" and event == "start_map":
                            continue
                        if prefix == "" and event in ("start_array", "string", "number", "boolean", "null"):
                            raise StateFormatError(
                                f"expected a JSON object at the top level, got {event.replace('start_', '')}",
                                source=self.source,
                            )
                        continue
                    if prefix == "resources":
                        if event == "null":  # as Terraform reads it: no resources
                            continue
                        self._resources_kind = event
                        break
                    if event in ("start_map", "start_array"):
                        builder = ijson.ObjectBuilder()
                        building = prefix
                        builder.event(event, value)
                    elif event not in ("map_key", "end_map", "end_array"):
                        top[prefix] = value
            except ijson.JSONError as exc:
                raise self._json_error(exc, stream) from None
        if "version" not in top:
            top["version"] = self._scan_value("version")
        version = _version(top.get("version"), self.source)
        if version == 3 or "modules" in top:
            # Format 3 (Terraform 0.11) has no "resources" list to stream: decode it whole.
            self._load_document()
            return
        if self._resources_kind not in (None, "start_array"):
            kind = {"start_map": "object", "string": "string", "number": "number", "boolean": "boolean"}
            raise StateFormatError(
                f"'resources' must be a list, got {kind.get(self._resources_kind or '', 'null')}",
                source=self.source,
            )
        if self._resources_kind is None:  # the whole document was read: every field is in `top`
            for key in ("terraform_version", "serial", "lineage", "outputs", "check_results"):
                top.setdefault(key, None)
        self._finish_header(top)

    def _scan_value(self, key: str) -> Any:
        """One top-level value found anywhere in the document (a C-speed pass)."""
        if self._doc is not None:
            return self._doc.get(key)
        with self._open() as raw:
            stream = _Guarded(raw, self.source)
            try:
                for value in ijson.items(stream, key, use_float=True, buf_size=STREAM_CHUNK):
                    return value
            except ijson.JSONError as exc:
                raise self._json_error(exc, stream) from None
        return None

    def _json_error(self, exc: Exception, stream: _Guarded) -> StateFormatError:
        msg = str(exc).split("\n", 1)[0].strip() or "invalid JSON"
        line, column = stream.position_of_error(str(exc))
        if "premature EOF" in msg:
            msg = "unexpected end of file (truncated?)"
        return StateFormatError(f"invalid JSON: {msg}", source=self.source, line=line, column=column)


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
        if self._first:
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

    def position_of_error(self, message: str = "") -> tuple[int | None, int | None]:
        """(line, column) of a streaming parse error.

        yajl's verbose message shows up to 30 bytes either side of the error with a caret under it
        at column 40; that context is located in the chunk being parsed to get the exact offset.
        Without a usable context, the end of the chunk is reported.
        """
        chunk = self._chunk
        offset = len(chunk)
        lines = message.split("\n")
        if len(lines) >= 3 and lines[2].rstrip().endswith("^") and len(lines[1]) >= 40:
            caret = lines[2].rstrip().rfind("^")
            before = lines[1][:caret].lstrip(" ")
            after = lines[1][caret:]
            needle = (before + after).encode("utf-8", "surrogateescape")
            flat = chunk.replace(b"\n", b" ").replace(b"\r", b" ").replace(b"\t", b" ")
            hit = flat.rfind(needle) if needle.strip() else -1
            if hit >= 0:
                offset = hit + len(before.encode("utf-8", "surrogateescape"))
        return self._position(offset)

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


# --- validation shared by both paths ---------------------------------------------------------


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "list"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def _clean_json_msg(msg: str) -> str:
    return msg.split(":", 1)[0] if msg.startswith("unexpected character") else msg


def _sniff(head: bytes, source: str) -> None:
    if not head.strip():
        raise StateFormatError(
            "empty file, not a state" if not head else "file holds only whitespace", source=source
        )
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise StateFormatError(
            "UTF-16 text (as PowerShell's '>' writes it): save the state as UTF-8", source=source
        )
    if b"\x00" in head:
        raise StateFormatError("binary data, not a JSON state file", source=source)
    sample = head[:4096]
    try:
        sample.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(sample) - 4:  # not just a multi-byte character cut at the sample's end
            raise StateFormatError(
                "binary data (not UTF-8 text), not a JSON state file", source=source
            ) from None
    first = head.lstrip(codecs.BOM_UTF8 + b" \t\r\n")[:1]
    if first != b"{":
        what = "a JSON array" if first == b"[" else "JSON"
        if first == b"[":
            raise StateFormatError(
                f"expected a JSON object at the top level, got {what}", source=source, line=1, column=1
            )
        raise StateFormatError("not JSON: a state file starts with '{'", source=source, line=1, column=1)


def _version(value: Any, source: str) -> int:
    if value is None:
        raise StateFormatError("missing 'version': not a Terraform state file", source=source)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or int(value) != value:
        raise StateFormatError(f"'version' must be an integer, got {_kind(value)} {value!r}", source=source)
    v = int(value)
    if v not in SUPPORTED_VERSIONS:
        raise StateFormatError(
            f"unsupported state format version {v} (DriftMgr reads versions 3 and 4)", source=source
        )
    return v


def _header(doc: dict[str, Any], source: str, upgraded_from: int | None) -> StateHeader:
    warnings: list[str] = []
    tfv = doc.get("terraform_version")
    if tfv is not None and not isinstance(tfv, str):
        raise StateFormatError(f"'terraform_version' must be a string, got {_kind(tfv)}", source=source)
    serial = doc.get("serial")
    if serial is not None and (isinstance(serial, bool) or not isinstance(serial, (int, float))):
        raise StateFormatError(f"'serial' must be a number, got {_kind(serial)}", source=source)
    lineage = doc.get("lineage")
    if lineage is not None and not isinstance(lineage, str):
        raise StateFormatError(f"'lineage' must be a string, got {_kind(lineage)}", source=source)
    if tfv is not None and not _looks_like_version(tfv):
        warnings.append(f"terraform_version {tfv!r} is not a version number")
    return StateHeader(
        version=4 if upgraded_from else int(doc.get("version", 4)),
        terraform_version=tfv,
        serial=int(serial) if serial is not None else None,
        lineage=lineage,
        source=source,
        upgraded_from=upgraded_from,
        warnings=warnings,
    )


def _looks_like_version(v: str) -> bool:
    core = v.split("-", 1)[0].split("+", 1)[0]
    parts = core.split(".")
    return len(parts) >= 2 and all(p.isdigit() for p in parts)


def _outputs(raw: Any, source: str) -> list[StateOutput]:
    if raw is None:
        return []
    if not isinstance(raw, dict):
        raise StateFormatError(f"'outputs' must be an object, got {_kind(raw)}", source=source)
    out = []
    for name, o in raw.items():
        if not isinstance(o, dict):
            raise StateFormatError(f"outputs.{name} must be an object, got {_kind(o)}", source=source)
        out.append(
            StateOutput(
                name=name, value=o.get("value"), type=o.get("type"), sensitive=bool(o.get("sensitive"))
            )
        )
    return out


def _check_results(raw: Any, source: str) -> list[CheckResult]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise StateFormatError(f"'check_results' must be a list, got {_kind(raw)}", source=source)
    out = []
    for i, c in enumerate(raw):
        if not isinstance(c, dict):
            raise StateFormatError(f"check_results[{i}] must be an object, got {_kind(c)}", source=source)
        objects = c.get("objects") or []
        if not isinstance(objects, list):
            raise StateFormatError(f"check_results[{i}].objects must be a list", source=source)
        out.append(
            CheckResult(
                object_kind=str(c.get("object_kind", "")),
                config_addr=str(c.get("config_addr", "")),
                status=str(c.get("status", "unknown")),
                objects=[o for o in objects if isinstance(o, dict)],
            )
        )
    return out


def _str_field(
    res: dict[str, Any], key: str, where: str, source: str, *, required: bool = True
) -> str | None:
    value = res.get(key)
    if value is None:
        if required:
            raise StateFormatError(f"{where}: missing '{key}'", source=source)
        return None
    if not isinstance(value, str) or (required and not value):
        raise StateFormatError(f"{where}.{key} must be a non-empty string, got {_kind(value)}", source=source)
    return value


def _resource_instances(res: Any, index: int, source: str) -> Iterator[StateInstance]:
    where = f"resources[{index}]"
    if not isinstance(res, dict):
        raise StateFormatError(f"{where} must be an object, got {_kind(res)}", source=source)
    mode = _str_field(res, "mode", where, source) or ""
    if mode not in ("managed", "data"):
        raise StateFormatError(f"{where}.mode must be 'managed' or 'data', got {mode!r}", source=source)
    rtype = _str_field(res, "type", where, source) or ""
    name = _str_field(res, "name", where, source) or ""
    module = _str_field(res, "module", where, source, required=False) or None
    if module is not None and not module.startswith("module."):
        raise StateFormatError(
            f"{where}.module must be a module address like 'module.x', got {module!r}", source=source
        )
    raw_provider = res.get("provider") or ""
    if not isinstance(raw_provider, str):
        raise StateFormatError(f"{where}.provider must be a string, got {_kind(raw_provider)}", source=source)
    provider, provider_name = normalize_provider(raw_provider, rtype)
    instances = res.get("instances")
    if instances is None:
        return
    if not isinstance(instances, list):
        raise StateFormatError(f"{where}.instances must be a list, got {_kind(instances)}", source=source)
    prefix = f"{module}." if module else ""
    base = f"{prefix}data.{rtype}.{name}" if mode == "data" else f"{prefix}{rtype}.{name}"
    for j, inst in enumerate(instances):
        if type(inst) is not dict:
            raise StateFormatError(
                f"{where}.instances[{j}] must be an object, got {_kind(inst)}", source=source
            )
        key = inst.get("index_key")
        if key is None:
            address = base
        elif type(key) is int:
            address = f"{base}[{key}]"
        elif type(key) is str:
            address = f"{base}[{quote_key(key)}]"
        elif type(key) is float and key.is_integer():
            key = int(key)
            address = f"{base}[{key}]"
        else:
            raise StateFormatError(
                f"{where}.instances[{j}].index_key must be an integer or a string, got {_kind(key)} {key!r}",
                source=source,
            )
        attrs = inst.get("attributes")
        if type(attrs) is not dict:
            attrs = _odd_attributes(inst, f"{where}.instances[{j}]", source)
        rid = attrs.get("id")
        if rid is not None and type(rid) is not str:
            rid = str(rid) if isinstance(rid, (int, float)) and not isinstance(rid, bool) else None
        deposed = inst.get("deposed")
        status = inst.get("status")
        sens = inst.get("sensitive_attributes")
        deps = inst.get("dependencies")
        schema_version = inst.get("schema_version")
        if schema_version is None:  # absent or null: Terraform reads 0
            schema_version = 0
        if (
            (deposed is not None and type(deposed) is not str)
            or (sens is not None and type(sens) is not list)
            or (deps is not None and (type(deps) is not list or not all(type(d) is str for d in deps)))
            or type(schema_version) is not int
        ):
            _instance_field_error(inst, f"{where}.instances[{j}]", source)
            schema_version = int(schema_version)
        yield StateInstance(
            address,
            mode,
            rtype,
            name,
            module,
            key,
            provider,
            provider_name,
            rid,
            attrs,
            sens or [],
            deps or [],
            schema_version,
            status if type(status) is str else None,
            deposed,
            bool(inst.get("create_before_destroy")),
            source,
        )


def _odd_attributes(inst: dict[str, Any], where: str, source: str) -> dict[str, Any]:
    """Attributes that are not a plain object: legacy flatmap, absent, or wrong."""
    attrs = inst.get("attributes")
    if attrs is None and inst.get("attributes_flat") is not None:
        flat = inst["attributes_flat"]
        if not isinstance(flat, dict):
            raise StateFormatError(
                f"{where}.attributes_flat must be an object, got {_kind(flat)}", source=source
            )
        return unflatten(flat)
    if attrs is None:
        return {}
    raise StateFormatError(f"{where}.attributes must be an object, got {_kind(attrs)}", source=source)


def _instance_field_error(inst: dict[str, Any], where: str, source: str) -> None:
    deposed = inst.get("deposed")
    if deposed is not None and not isinstance(deposed, str):
        raise StateFormatError(f"{where}.deposed must be a string, got {_kind(deposed)}", source=source)
    sens = inst.get("sensitive_attributes")
    if sens is not None and not isinstance(sens, list):
        raise StateFormatError(
            f"{where}.sensitive_attributes must be a list, got {_kind(sens)}", source=source
        )
    deps = inst.get("dependencies")
    if deps is not None and (not isinstance(deps, list) or not all(isinstance(d, str) for d in deps)):
        raise StateFormatError(f"{where}.dependencies must be a list of addresses", source=source)
    sv = inst.get("schema_version")
    if isinstance(sv, float) and sv.is_integer():
        return
    raise StateFormatError(f"{where}.schema_version must be an integer, got {_kind(sv)}", source=source)

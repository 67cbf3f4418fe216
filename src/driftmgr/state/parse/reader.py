"""Read Terraform/OpenTofu state snapshots (format 3 and 4), streaming large ones.

Small files (≤ SMALL_FILE_BYTES) are decoded at once with orjson, which gives exact line/column for
syntax errors and refuses nesting deeper than 1024 levels. Larger files stream: in Terraform's own
layout through the fast path (fastpath.py), otherwise through ijson's C backend; one resource object
at a time is built, so memory stays flat whatever the file size, and the rest of the document is
still checked to its last byte. Both paths feed the same validation (`_resource_instances`) and
refuse the same nesting depth (`_Guarded` follows it ahead of ijson), so they cannot disagree; the
tests read every state on both.

Every problem with the content raises StateFormatError naming the source and what is wrong. A
consumer that must not show partial output buffers until iteration ends: errors may be found at the
end of the file (truncation), after many instances were already yielded.
"""

from __future__ import annotations

import codecs
import contextlib
import io
import os
import shutil
import tempfile
import weakref
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import ijson
import orjson

from driftmgr.errors import StateFormatError
from driftmgr.models import CheckResult, StateHeader, StateInstance, StateOutput
from driftmgr.state.parse import fastpath
from driftmgr.state.parse.stream import MAX_DEPTH, _Guarded, _IntegerOverflow, _like_orjson, _python_backend
from driftmgr.state.parse.validate import (
    _check_results,
    _clean_json_msg,
    _header,
    _kind,
    _outputs,
    _resource_instances,
    _sniff,
    _utf8_error_position,
    _version,
)

__all__ = ["SMALL_FILE_BYTES", "STREAM_CHUNK", "ParsedState", "StateReader", "_resource_instances"]

SMALL_FILE_BYTES = 32 * 1024 * 1024
# ijson's read size. yajl re-scans a token cut by a chunk boundary from its start on every chunk,
# so a long string costs (length² / chunk): 1 MiB chunks keep a 32 MiB string under a second.
STREAM_CHUNK = 1024 * 1024

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
        self._backend: Any = ijson  # ijson's C backend; its pure-Python one for integers over 64 bits

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

        if not p.is_file():  # a pipe: `--state <(terraform state pull)`, /dev/stdin
            return cls._spooled(opener, src)
        return cls(opener, src, size)

    @classmethod
    def _spooled(cls, opener: Opener, source: str) -> StateReader:
        """A stream that can be read only once, copied to a temporary file (removed with the reader)
        so that it can be opened again. A head that is no JSON state fails before anything is copied."""
        fd, tmp = tempfile.mkstemp(prefix="driftmgr-spool-", suffix=".tfstate")
        try:
            with opener() as fh, os.fdopen(fd, "wb") as out:
                head = fh.read(65536)
                _sniff(head, source)
                out.write(head)
                shutil.copyfileobj(fh, out, 1 << 20)
            reader = cls.from_path(tmp, source=source)
        except BaseException:
            os.unlink(tmp)
            raise
        weakref.finalize(reader, _unlink_quietly, tmp)
        return reader

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
        while True:
            try:
                for index, res in enumerate(self._items("resources.item", skip=done), start=done):
                    yield from _resource_instances(res, index, self.source)
                    done = index + 1
                return
            except _IntegerOverflow:
                self._backend = _python_backend()  # read again, skipping what was delivered

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
            line, column = exc.lineno, exc.colno
            if "UTF-8" in msg:  # orjson checks the encoding first and reports no position
                msg, (line, column) = "invalid UTF-8 text", _utf8_error_position(data)
            raise StateFormatError(
                f"invalid JSON: {_clean_json_msg(msg)}", source=self.source, line=line, column=column
            ) from None
        if not isinstance(doc, dict):  # pragma: no cover - _sniff let only '{' through
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
        try:
            top = self._top_fields()
        except _IntegerOverflow:
            self._backend = _python_backend()
            top = self._top_fields()
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

    def _top_fields(self) -> dict[str, Any]:
        """The top-level fields before "resources" (all of them when there is none)."""
        top: dict[str, Any] = {}
        self._resources_kind = None
        builder: ijson.ObjectBuilder | None = None
        building = ""
        with self._open() as raw:
            stream = _Guarded(raw, self.source)
            try:
                for prefix, event, value in self._backend.parse(
                    stream, use_float=True, buf_size=STREAM_CHUNK
                ):
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
                        if prefix == "" and event in _NOT_AN_OBJECT:  # pragma: no cover - _sniff saw '{'
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
            except (ijson.JSONError, UnicodeDecodeError) as exc:
                raise self._json_error(exc, stream) from None
        return top if self._backend is ijson else _like_orjson(top)

    def _scan_value(self, key: str) -> Any:
        """One top-level value found anywhere in the document (a C-speed pass)."""
        if self._doc is not None:  # pragma: no cover - the whole-file path has every field already
            return self._doc.get(key)
        try:
            for value in self._items(key):
                return value
        except _IntegerOverflow:
            self._backend = _python_backend()
            for value in self._items(key):
                return value
        return None

    def _items(self, prefix: str, skip: int = 0) -> Iterator[Any]:
        """`ijson.items(document, prefix)` after the first `skip`, with exact positions on errors.

        yajl cannot hold an integer beyond 64 bits: such a document raises _IntegerOverflow, and the
        caller reads it again with ijson's pure-Python backend (slower), whose values are then made
        what orjson gives (a float beyond 64 bits), so both paths agree.
        """
        backend = self._backend
        with self._open() as raw:
            stream = _Guarded(raw, self.source)
            items = backend.items(stream, prefix, use_float=True, buf_size=STREAM_CHUNK)
            index = 0
            while True:
                try:
                    value = next(items)
                except StopIteration:
                    return
                except (ijson.JSONError, UnicodeDecodeError) as exc:
                    raise self._json_error(exc, stream) from None
                if index >= skip:
                    yield value if backend is ijson else _like_orjson(value)
                index += 1

    def _json_error(self, exc: Exception, stream: _Guarded) -> StateFormatError:
        if isinstance(exc, UnicodeDecodeError):  # yajl lets UTF-8-encoded surrogates through
            line, column = stream.position_in_token(exc.object, exc.start)
            msg = "invalid JSON: invalid UTF-8 text"
            return StateFormatError(msg, source=self.source, line=line, column=column)
        text = exc.args[0] if exc.args and isinstance(exc.args[0], (str, bytes)) else str(exc)
        if self._backend is ijson and "integer overflow" in str(text):
            raise _IntegerOverflow from None
        line, column = stream.position_of_error(text)
        if isinstance(text, bytes):  # ijson passes yajl's message as bytes when it is not UTF-8
            text = text.decode("utf-8", "replace")
        if "invalid bytes in UTF8 string" in text:  # as the whole-file path says it, and where
            line, column = stream.position_of_bad_utf8()
            text = "invalid UTF-8 text"
        msg = text.split("\n", 1)[0].strip() or "invalid JSON"
        if "premature EOF" in msg:
            msg = "unexpected end of file (truncated?)"
        return StateFormatError(f"invalid JSON: {msg}", source=self.source, line=line, column=column)


_NOT_AN_OBJECT = ("start_array", "string", "number", "boolean", "null")


def _unlink_quietly(path: str) -> None:
    with contextlib.suppress(OSError):
        os.unlink(path)

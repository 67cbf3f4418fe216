"""StateService: every read and write of Terraform state goes through here.

SRC strings (DESIGN §3) are a local path, a directory, a glob, or a backend URL. Remote states are
spooled to a temporary file first, so the streaming reader can make several passes without holding
the state in memory and without a second download.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from driftmgr.errors import StateNotFoundError, UsageError
from driftmgr.models import StateHeader, StateInstance
from driftmgr.state.analysis import (
    DependencyGraph,
    MigrateResult,
    PushResult,
    StateDiff,
    StateSummary,
    build_graph,
    diff_states,
    instance_details,
    migrate_state,
    push_state,
    summarize,
    validate_state,
)
from driftmgr.state.backends import Backend, get_backend
from driftmgr.state.backends.base import scheme_of
from driftmgr.state.parse import StateReader, parallel
from driftmgr.state.parse.fastpath import NotFastPath

if TYPE_CHECKING:
    from driftmgr.platform.cache.base import Cache
    from driftmgr.state.locate import LocateResult

_GLOB_CHARS = set("*?[")


@dataclass(slots=True)
class ResolvedSource:
    """One concrete state: its display name and the backend that serves it."""

    display: str
    backend: Backend


def expand_sources(srcs: list[str]) -> list[str]:
    """Expand directories and globs among SRC strings into concrete state SRCs, in a stable order.

    A directory yields its `*.tfstate` files (recursively, skipping `.terraform/`) and workspace
    states; a glob yields its matches. A directory or glob that matches nothing is an error: a typo
    must not look like an empty estate.
    """
    out: list[str] = []
    for src in srcs:
        if scheme_of(src) != "file":
            out.append(src)
            continue
        path = Path(src).expanduser()
        if _GLOB_CHARS & set(src) and not path.exists():
            matches = sorted(glob.glob(os.path.expanduser(src), recursive=True))
            files = [m for m in matches if Path(m).is_file()]
            if not files:
                raise UsageError("the glob matches no state file", source=src)
            out.extend(files)
        elif path.is_dir():
            files = sorted(
                str(p)
                for p in path.rglob("*.tfstate")
                if p.is_file() and ".terraform" not in p.relative_to(path).parts
            )
            if not files:
                raise UsageError("the directory holds no *.tfstate file", source=src)
            out.extend(files)
        else:
            out.append(src)
    seen: set[str] = set()
    unique = []
    for s in out:
        if s not in seen:
            seen.add(s)
            unique.append(s)
    return unique


class StateService:
    """Reading, writing and analysing states; holds no global state of its own."""

    def __init__(
        self, tmp_dir: str | None = None, cache: Cache | None = None, cache_ttl: float = 300.0
    ) -> None:
        self.tmp_dir = tmp_dir
        self.cache = cache  # parsed states, tagged `state:<SRC>` (invalidated by `state.imported`)
        self.cache_ttl = cache_ttl

    def backend(self, src: str) -> Backend:
        return get_backend(src)

    @contextlib.contextmanager
    def open_reader(self, src: str) -> Iterator[StateReader]:
        """A StateReader over one SRC; remote content is spooled to a temp file and removed after."""
        backend = get_backend(src)
        local_path = getattr(backend, "path", None)
        if isinstance(local_path, Path):
            if not local_path.exists():
                raise StateNotFoundError("no such file", source=str(local_path))
            yield StateReader.from_path(local_path, source=str(local_path))
            return
        fd, tmp = tempfile.mkstemp(prefix="driftmgr-state-", suffix=".tfstate", dir=self.tmp_dir)
        try:
            with os.fdopen(fd, "wb") as out, backend.open() as body:
                shutil.copyfileobj(body, out, 1024 * 1024)
            yield StateReader.from_path(tmp, source=backend.display_url)
        finally:
            with contextlib.suppress(OSError):
                os.unlink(tmp)

    def iter_converted(
        self,
        src: str,
        convert: Callable[[StateInstance], bytes | None],
        warn: Callable[[str], None] | None = None,
    ) -> Iterator[bytes]:
        """`convert(instance)` for every instance of one SRC, in file order, skipping None results.

        Yields blocks of converted records joined by newlines (so a record must not contain a raw
        newline, as compact JSON never does). A large local state in Terraform's own layout is
        converted on two cores (see state/parse/parallel.py); anything else, and any failure
        there, is read sequentially.
        """
        with self.open_reader(src) as reader:
            header = reader.header()  # validates the head and reports a bad file before any work
            if warn is not None:
                for w in header.warnings:
                    warn(f"{reader.source}: {w}")
            path = Path(reader.source)
            if reader.size is not None and parallel.available(reader.size) and path.is_file():
                try:
                    mine, theirs = parallel.convert_file(path, reader.source, convert)
                except NotFastPath:
                    pass
                else:
                    try:
                        for part in (mine, theirs):
                            yield from _blocks_of_file(part)
                    finally:
                        for part in (mine, theirs):
                            with contextlib.suppress(OSError):
                                os.unlink(part)
                    return
            batch: list[bytes] = []
            for inst in reader.iter_instances():
                rec = convert(inst)
                if rec is not None:
                    batch.append(rec)
                    if len(batch) >= 1024:
                        yield b"\n".join(batch)
                        batch.clear()
            if batch:
                yield b"\n".join(batch)

    # --- analysis and moves (issue 2 points 6 and 7) -------------------------------------------
    def instances(
        self, src: str, *, serial: int | None = None, lineage: str | None = None, ttl: float | None = None
    ) -> list[StateInstance]:
        """Every instance of one state, parsed — through the cache when this service has one.

        Cached under the SRC (plus serial and lineage when the caller knows them, e.g. from the
        registered source) with the tag `state:<SRC>`: a `state.imported` event for that SRC (a new
        version) invalidates it, so the next call parses the new content.
        """
        resolved = self.resolve_one(src)

        def parse() -> list[StateInstance]:
            with self.open_reader(resolved) as reader:
                return list(reader.iter_instances())

        if self.cache is None:
            return parse()
        key = f"state:instances:{resolved}"
        if serial is not None or lineage is not None:
            key += f"@{lineage or ''}:{serial if serial is not None else ''}"
        cached = self.cache.get(key)
        if isinstance(cached, list):
            return [StateInstance(**item) for item in cached]
        found = parse()
        self.cache.set(key, found, self.cache_ttl if ttl is None else ttl, tags=[f"state:{resolved}"])
        return found

    def resolve_one(self, src: str) -> str:
        """The single concrete state a SRC names; a directory or glob matching several is an error."""
        sources = expand_sources([src])
        if len(sources) != 1:
            raise UsageError(f"names {len(sources)} states; give exactly one", source=src)
        return sources[0]

    def show(self, src: str) -> StateSummary:
        with self.open_reader(self.resolve_one(src)) as reader:
            return summarize(reader)

    def show_instances(self, src: str, address: str) -> list[dict[str, Any]]:
        """The objects at an instance or resource address, attributes masked; StateNotFoundError if none."""
        with self.open_reader(self.resolve_one(src)) as reader:
            found = instance_details(reader, address)
            source = reader.source
        if not found:
            raise StateNotFoundError(f"no instance at address {address}", source=source)
        return found

    def graph(self, src: str) -> DependencyGraph:
        with self.open_reader(self.resolve_one(src)) as reader:
            return build_graph(reader)

    def diff(self, a: str, b: str) -> StateDiff:
        with self.open_reader(self.resolve_one(a)) as ra, self.open_reader(self.resolve_one(b)) as rb:
            return diff_states(ra, rb)

    @contextlib.contextmanager
    def open_validated(self, src: str) -> Iterator[tuple[IO[bytes], StateHeader]]:
        """The raw bytes of a state (a binary stream) after the whole state was validated."""
        with self._local_copy(self.resolve_one(src)) as (path, display):
            header = validate_state(StateReader.from_path(path, source=display))
            with open(path, "rb") as raw:
                yield raw, header

    @contextlib.contextmanager
    def _local_copy(self, src: str) -> Iterator[tuple[Path, str]]:
        """A local file holding the state (the file itself for local SRCs) and its display name."""
        backend = get_backend(src)
        local_path = getattr(backend, "path", None)
        if isinstance(local_path, Path):
            if not local_path.exists():
                raise StateNotFoundError("no such file", source=str(local_path))
            yield local_path, str(local_path)
            return
        fd, tmp = tempfile.mkstemp(prefix="driftmgr-state-", suffix=".tfstate", dir=self.tmp_dir)
        try:
            with os.fdopen(fd, "wb") as out, backend.open() as body:
                shutil.copyfileobj(body, out, 1024 * 1024)
            yield Path(tmp), backend.display_url
        finally:
            with contextlib.suppress(OSError):
                os.unlink(tmp)

    def push(self, dst: str, data: bytes, *, force: bool = False, source: str = "FILE") -> PushResult:
        return push_state(data, get_backend(dst), force=force, source=source)

    def migrate(
        self,
        src: str,
        dst: str,
        *,
        force: bool = False,
        backup: str | None = None,
        workdir: Path | None = None,
    ) -> MigrateResult:
        return migrate_state(get_backend(src), get_backend(dst), force=force, backup=backup, workdir=workdir)

    def discover(self, path_or_prefix: str, *, recursive: bool = True) -> LocateResult:
        from driftmgr.state.locate import locate

        return locate(path_or_prefix, recursive=recursive)


def _blocks_of_file(path: str, size: int = 1 << 20) -> Iterator[bytes]:
    """Blocks of whole newline-terminated records from a file, without the final newline."""
    with open(path, "rb") as fh:
        carry = b""
        while chunk := fh.read(size):
            chunk = carry + chunk
            cut = chunk.rfind(b"\n")
            if cut >= 0:
                if cut > 0:
                    yield chunk[:cut]
                carry = chunk[cut + 1 :]
            else:
                carry = chunk
        if carry:
            yield carry

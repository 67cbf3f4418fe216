"""`locate()`: every state a directory, file, glob or bucket prefix points at."""

from __future__ import annotations

import glob
import os
from dataclasses import dataclass, field
from pathlib import Path

from driftmgr.errors import StateNotFoundError
from driftmgr.models import StateLocation
from driftmgr.state.backends.base import Backend, get_backend, scheme_of
from driftmgr.state.locate.terraform import ModuleDir, local_workspace_dirs, module_locations
from driftmgr.state.locate.terragrunt import UNIT_FILE, Terragrunt

SKIP_DIRS = frozenset({".git", "node_modules", ".terragrunt-cache", ".terraform"})
WORKSPACES_DIR = "terraform.tfstate.d"


@dataclass
class LocateResult:
    """The locations found (sorted by URL, no duplicates) and what could not be resolved."""

    locations: list[StateLocation] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


class _Collector:
    def __init__(self) -> None:
        self.by_url: dict[str, StateLocation] = {}

    def add(self, loc: StateLocation) -> None:
        old = self.by_url.get(loc.url)
        if old is None:
            self.by_url[loc.url] = loc
            return
        if old.workspace == "default" and loc.workspace != "default":
            old.workspace = loc.workspace
        if loc.exists and not old.exists:
            old.exists = True

    def sorted(self) -> list[StateLocation]:
        return sorted(self.by_url.values(), key=lambda loc: (loc.url, loc.workspace))


def locate(path_or_url: str, *, recursive: bool = True) -> LocateResult:
    """Find the states `path_or_url` points at.

    A directory is walked (skipping .git, node_modules, .terragrunt-cache and .terraform, whose
    backend settings file is still read); a file is read for what it is (a state, a `*.tf`, a
    `terragrunt.hcl`); a glob expands to its matches; a bucket/container URL is a prefix whose
    `*.tfstate` objects the backend lists. Problems that leave a location unresolved are
    warnings; a path that does not exist raises StateNotFoundError.
    """
    if scheme_of(path_or_url) != "file":
        return _locate_url(path_or_url, recursive=recursive)
    raw = path_or_url[len("file://") :] if path_or_url.startswith("file://") else path_or_url
    raw = os.path.expanduser(raw)
    if os.path.exists(raw):
        paths = [raw]
    elif glob.has_magic(raw):
        paths = sorted(glob.glob(raw, recursive=True))
        if not paths:
            raise StateNotFoundError("the pattern matches nothing", source=path_or_url)
    else:
        raise StateNotFoundError("no such file or directory", source=path_or_url)
    result = LocateResult()
    collector = _Collector()
    for path in paths:
        _locate_path(path, collector, result.warnings, recursive=recursive)
    result.locations = collector.sorted()
    return result


def _locate_url(url: str, *, recursive: bool) -> LocateResult:
    backend = get_backend(url)
    if type(backend).list_states is Backend.list_states:  # names one state: nothing to list
        return LocateResult(
            [StateLocation(url=url, kind=backend.kind, workspace=backend.workspace, origin=url)]
        )
    urls = backend.list_states()
    if not recursive:
        prefix = url.split("?", 1)[0]
        urls = [u for u in urls if "/" not in u.split("?", 1)[0][len(prefix) :].strip("/")]
    collector = _Collector()
    for found in urls:
        workspace = get_backend(found).workspace  # the backend's own reading of the object
        collector.add(
            StateLocation(url=found, kind=backend.kind, workspace=workspace, origin=url, exists=True)
        )
    return LocateResult(collector.sorted())


def _locate_path(path: str, collector: _Collector, warnings: list[str], *, recursive: bool) -> None:
    if os.path.isdir(path):
        _walk(path, collector, warnings, recursive=recursive)
        return
    name = os.path.basename(path)
    dirpath = os.path.dirname(os.path.normpath(path)) or "."
    if name == UNIT_FILE:
        _terragrunt(Terragrunt(warnings), [Path(path)], collector, warnings)
    elif name.endswith(".tf"):
        module = ModuleDir(dirpath, _tf_files(dirpath), warnings)
        module.tf_files = [name] + [n for n in module.tf_files if n != name]
        for loc in module_locations(module):
            collector.add(loc)
    else:  # any other file is taken as a state file
        collector.add(_state_file(path))


def _walk(top: str, collector: _Collector, warnings: list[str], *, recursive: bool) -> None:
    units: list[Path] = []
    for walked, dirnames, filenames in os.walk(top, onerror=lambda e: warnings.append(_walk_error(e))):
        dirpath = os.path.normpath(walked)
        dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS) if recursive else []
        filenames.sort()
        tf_files = [n for n in filenames if n.endswith(".tf")]
        if tf_files or os.path.isfile(os.path.join(dirpath, ".terraform", "terraform.tfstate")):
            module = ModuleDir(dirpath, tf_files, warnings)
            for loc in module_locations(module):
                collector.add(loc)
            for loc in local_workspace_dirs(module):
                collector.add(loc)
        for name in filenames:
            if name.endswith(".tfstate"):
                collector.add(_state_file(os.path.join(dirpath, name)))
        if UNIT_FILE in filenames:
            units.append(Path(dirpath, UNIT_FILE))
    if units:
        _terragrunt(Terragrunt(warnings), units, collector, warnings)


def _walk_error(exc: OSError) -> str:
    return f"{exc.filename}: cannot list: {exc.strerror or exc}"


def _terragrunt(tg: Terragrunt, candidates: list[Path], collector: _Collector, warnings: list[str]) -> None:
    for unit in tg.units(candidates):
        loc = tg.location(unit)
        if loc is not None:
            collector.add(loc)


def _state_file(path: str) -> StateLocation:
    parent = Path(path).parent
    workspace = parent.name if parent.parent.name == WORKSPACES_DIR else "default"
    return StateLocation(
        url=os.path.normpath(path),
        kind="local",
        workspace=workspace,
        origin=os.path.normpath(path),
        exists=True,
    )


def _tf_files(dirpath: str) -> list[str]:
    try:
        return sorted(n for n in os.listdir(dirpath) if n.endswith(".tf"))
    except OSError:
        return []

"""Use both halves of a two-core machine on one large state in Terraform's layout.

The parent process converts the first half of the resources array while a forked child converts
the second half into a temporary file; the split point is a resource boundary found by the fast
path's separator and proven by the same checks (every slice decodes alone, the document around the
array decodes). Any problem at all — another layout, invalid content, a failed child — raises
NotFastPath and the caller reads the file sequentially, which reports errors precisely.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from driftmgr.errors import DriftMgrError
from driftmgr.models import StateInstance
from driftmgr.state.parse import fastpath
from driftmgr.state.parse.fastpath import NotFastPath

PARALLEL_MIN_BYTES = 32 * 1024 * 1024
Convert = Callable[[StateInstance], bytes | None]


def available(size: int) -> bool:
    return size >= PARALLEL_MIN_BYTES and hasattr(os, "fork") and (os.cpu_count() or 1) >= 2


def convert_file(path: Path, source: str, convert: Convert) -> tuple[str, str]:
    """Return the paths of two files holding the converted records of each half, one a line.

    The caller deletes both files. Records are in file order: the parent's, then the child's.
    """
    from driftmgr.state.parse.reader import _resource_instances

    with open(path, "rb") as fh:
        first = fastpath.array_start(fh)
        size = os.fstat(fh.fileno()).st_size
        split = fastpath.next_boundary(fh, first + (size - first) // 2)
        if split is None:
            raise NotFastPath("no boundary in the second half")
        fh.seek(0)
        head_block = fh.read(fastpath.BLOCK)
    start = head_block.find(fastpath.START)
    head = head_block[:start] + fastpath.START

    fd, out_path = tempfile.mkstemp(prefix="driftmgr-part-")
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the forked child exits with os._exit; its output is asserted
        status = b"err"
        try:
            os.close(read_end)
            with open(path, "rb") as fh, os.fdopen(fd, "wb", buffering=1 << 20) as out:
                fh.seek(split)
                buf = fh.read(fastpath.BLOCK)
                trailer: dict[str, Any] = {}
                for res in fastpath.iter_elements(fh, buf, 0, split, None, head, trailer):
                    for inst in _resource_instances(res, -1, source):
                        rec = convert(inst)
                        if rec is not None:
                            out.write(rec)
                            out.write(b"\n")
            status = b"ok"
        except BaseException:  # noqa: BLE001 - reported to the parent, which falls back
            status = b"err"
        finally:
            with contextlib.suppress(OSError):
                os.write(write_end, status)
            os._exit(0)
    os.close(fd)
    os.close(write_end)
    # Records go to a file, not a list: short-lived parsed resources interleaved with long-lived
    # small objects would pin the allocator's arenas and grow RSS by the size of the state.
    pfd, parent_path = tempfile.mkstemp(prefix="driftmgr-part-")
    ok = False
    try:
        with open(path, "rb") as fh, os.fdopen(pfd, "wb", buffering=1 << 20) as parent_out:
            fh.seek(first)
            buf = fh.read(fastpath.BLOCK)
            for res in fastpath.iter_elements(fh, buf, 0, first, split, None, {}):
                for inst in _resource_instances(res, -1, source):
                    rec = convert(inst)
                    if rec is not None:
                        parent_out.write(rec)
                        parent_out.write(b"\n")
        ok = True
    except (NotFastPath, DriftMgrError):
        ok = False
    finally:
        if not ok:
            with contextlib.suppress(OSError):
                os.kill(pid, 9)
        os.waitpid(pid, 0)
        with os.fdopen(read_end, "rb") as r:
            status = r.read()
    if not ok or status != b"ok":
        for p in (out_path, parent_path):
            with contextlib.suppress(OSError):
                os.unlink(p)
        raise NotFastPath("parallel conversion failed")
    return parent_path, out_path

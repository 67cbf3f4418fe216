"""A Rich progress bar on stderr when it is a terminal; silent otherwise (CI logs, pipes)."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator

from driftmgr.providers.base import ProgressFn


@contextlib.contextmanager
def progress_bar(description: str) -> Iterator[ProgressFn | None]:
    if not sys.stderr.isatty():
        yield None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.fields[last]}"),
        console=Console(stderr=True),
        transient=True,
    ) as bar:
        task = bar.add_task(description, total=None, last="")

        def update(done: int, total: int, message: str) -> None:
            bar.update(task, completed=done, total=total, last=message)

        yield update

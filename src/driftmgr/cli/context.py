"""What every command needs from its environment, in one object tests can build (STYLE 7)."""

from __future__ import annotations

import contextlib
import enum
import os
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING

from rich.console import Console

if TYPE_CHECKING:
    from driftmgr.config import Settings


class ExitStatus(enum.IntEnum):
    """As `terraform plan -detailed-exitcode`: 0 nothing to report, 1 error, 2 drift/changes found."""

    OK = 0
    ERROR = 1
    CHANGES = 2


@dataclass
class Env:
    debug: bool = False
    stdout: IO[str] = field(default_factory=lambda: sys.stdout)
    stderr: IO[str] = field(default_factory=lambda: sys.stderr)
    config_file: str | None = None  # --config (else DRIFTMGR_CONFIG)
    _settings: Settings | None = field(default=None, repr=False)

    @property
    def settings(self) -> Settings:
        """DRIFTMGR_* environment over the --config YAML file, loaded once."""
        if self._settings is None:
            from driftmgr.config import load_settings

            self._settings = load_settings(self.config_file)
        return self._settings

    @property
    def console(self) -> Console:
        return Console(file=self.stdout, soft_wrap=False, width=None if self.stdout.isatty() else 160)

    @property
    def err_console(self) -> Console:
        return Console(file=self.stderr, soft_wrap=True, highlight=False)

    def warn(self, message: str) -> None:
        print(f"warning: {message}", file=self.stderr)

    @contextlib.contextmanager
    def output(self, path: str | None) -> Iterator[IO[bytes]]:
        """A binary sink that appears whole or not at all.

        Output is staged in a temporary file and copied to stdout (or renamed over `path`) only when
        the block finishes without error, so a failure midway never leaves a partial listing.
        """
        target_dir = Path(path).expanduser().resolve().parent if path else None
        if target_dir is not None and not target_dir.is_dir():
            from driftmgr.errors import UsageError

            raise UsageError("the output directory does not exist", source=str(target_dir))
        with tempfile.NamedTemporaryFile(
            "w+b", dir=target_dir, prefix=".driftmgr-out-", delete=False
        ) as staged:
            try:
                yield staged
                staged.flush()
            except BaseException:
                staged.close()
                os.unlink(staged.name)
                raise
        if path:
            os.replace(staged.name, Path(path).expanduser())
            return
        try:
            self.stdout.flush()
            out = getattr(self.stdout, "buffer", None)
            with open(staged.name, "rb") as fh:
                if out is not None:
                    while chunk := fh.read(1 << 20):
                        out.write(chunk)
                    out.flush()
                else:  # a text-only stream (tests' CliRunner without a buffer)
                    self.stdout.write(fh.read().decode("utf-8"))
        finally:
            os.unlink(staged.name)

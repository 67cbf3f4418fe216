"""The state backend contract and the scheme registry.

A backend reads and writes one Terraform state (one workspace of one configured backend). Every
backend is addressed by a SRC string (DESIGN §3): a local path or a URL whose scheme selects the
backend class. Options that Terraform puts in the backend block travel as URL query parameters
(`s3://bucket/key?region=eu-west-1&dynamodb_table=locks&workspace=dev`).
"""

from __future__ import annotations

import abc
import getpass
import socket
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from importlib.metadata import entry_points
from typing import IO, ClassVar, TypeVar
from urllib.parse import parse_qs, urlsplit

from driftmgr.errors import BackendError, UsageError
from driftmgr.models import LockInfo, StateVersion

ENTRY_POINT_GROUP = "driftmgr.backends.v1"


class Backend(abc.ABC):
    """One state in one backend. Subclasses register a URL scheme with `@register("s3")`."""

    kind: ClassVar[str] = ""
    supports_lock: ClassVar[bool] = False
    supports_versions: ClassVar[bool] = False
    supports_workspaces: ClassVar[bool] = False

    def __init__(self, url: str) -> None:
        self.url = url
        parts = urlsplit(url)
        self.options: dict[str, str] = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        self.workspace = self.options.get("workspace", "default")

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.display_url!r})"

    @property
    def display_url(self) -> str:
        """The URL with any credentials removed: safe to print and store."""
        return redact_url(self.url)

    # --- reading ---------------------------------------------------------------------------
    @abc.abstractmethod
    def open(self) -> IO[bytes]:
        """Open the current state for streaming reads. Raise StateNotFoundError when absent."""

    def read(self) -> bytes:
        with self.open() as fh:
            return fh.read()

    def exists(self) -> bool:
        from driftmgr.errors import StateNotFoundError

        try:
            with self.open():
                return True
        except StateNotFoundError:
            return False

    # --- writing ---------------------------------------------------------------------------
    @abc.abstractmethod
    def write(self, data: bytes, *, lock_id: str | None = None) -> None:
        """Replace the current state with `data` (already validated by the caller)."""

    # --- locking ---------------------------------------------------------------------------
    def lock(self, info: LockInfo) -> str:
        """Take the state lock; return the lock id. Raise LockError (with the holder) when held."""
        raise BackendError(f"the {self.kind} backend does not support locking", source=self.display_url)

    def unlock(self, lock_id: str) -> None:
        raise BackendError(f"the {self.kind} backend does not support locking", source=self.display_url)

    # --- workspaces and versions -----------------------------------------------------------
    def workspaces(self) -> list[str]:
        return ["default"]

    def versions(self) -> list[StateVersion]:
        raise BackendError(f"the {self.kind} backend keeps no state versions", source=self.display_url)

    def read_version(self, version_id: str) -> bytes:
        raise BackendError(f"the {self.kind} backend keeps no state versions", source=self.display_url)

    # --- listing ---------------------------------------------------------------------------
    def list_states(self) -> list[str]:
        """Treating the URL as a prefix, list the SRC URLs of `*.tfstate` objects under it."""
        raise BackendError(f"the {self.kind} backend cannot list states", source=self.display_url)


B = TypeVar("B", bound=type[Backend])

_REGISTRY: dict[str, type[Backend]] = {}
_PLUGINS_LOADED = False


def register(*schemes: str) -> Callable[[B], B]:
    """Class decorator: make a backend class answer for the given URL schemes."""

    def deco(cls: B) -> B:
        for scheme in schemes:
            _REGISTRY[scheme] = cls
        return cls

    return deco


# Built-in backends by URL scheme, imported only when a SRC uses them (their SDKs are heavy).
BUILTIN_MODULES: dict[str, str] = {
    "file": "local",
    "s3": "s3",
    "azurerm": "azurerm",
    "gs": "gcs",
    "gcs": "gcs",
    "http": "http",
    "https": "http",
    "tfc": "remote",
    "remote": "remote",
    "pg": "pg",
}


def _load_builtin(scheme: str) -> None:
    module = BUILTIN_MODULES.get(scheme)
    if module is None or scheme in _REGISTRY:
        return
    try:
        __import__(f"driftmgr.state.backends.{module}")
    except ModuleNotFoundError as exc:  # a backend not built yet, or its SDK not installed
        if exc.name and exc.name.startswith("driftmgr.state.backends"):
            return
        raise UsageError(
            f"the {module} backend needs the Python package '{exc.name}', which is not installed"
        ) from None


def _load_builtins() -> None:
    for scheme in BUILTIN_MODULES:
        _load_builtin(scheme)


def _load_plugins() -> None:
    global _PLUGINS_LOADED
    if _PLUGINS_LOADED:
        return
    _PLUGINS_LOADED = True
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        cls = ep.load()
        if isinstance(cls, type) and issubclass(cls, Backend):
            _REGISTRY.setdefault(ep.name, cls)


def registered_schemes() -> dict[str, type[Backend]]:
    """Every known scheme (this imports every backend's SDK: use get_backend for one SRC)."""
    _load_builtins()
    _load_plugins()
    return dict(_REGISTRY)


def scheme_of(src: str) -> str:
    """`s3://b/k` → "s3"; a path (including `C:\\x` and `./a:b`) → "file"."""
    head, sep, _ = src.partition("://")
    if sep and head and head.isascii() and head.replace("+", "").replace("-", "").isalnum():
        return head.lower()
    return "file"


def get_backend(src: str) -> Backend:
    """Return the backend for a SRC string, or raise UsageError naming the unknown scheme."""
    scheme = scheme_of(src)
    _load_builtin(scheme)
    cls = _REGISTRY.get(scheme)
    if cls is None:
        _load_plugins()
        cls = _REGISTRY.get(scheme)
    if cls is None:
        known = ", ".join(sorted(s for s in set(BUILTIN_MODULES) | set(_REGISTRY) if s != "file"))
        raise UsageError(
            f"unknown state URL scheme '{scheme}://' (known: {known}, or a local path)", source=src
        )
    return cls(src)


def redact_url(url: str) -> str:
    """Drop user info and secret-looking query values from a URL for display."""
    if "://" not in url:
        return url
    parts = urlsplit(url)
    netloc = parts.netloc.rsplit("@", 1)[-1]
    query = parts.query
    if query:
        kept = []
        for item in query.split("&"):
            key, _, value = item.partition("=")
            if _secret_param(key):
                value = "REDACTED"
            kept.append(f"{key}={value}" if _ else key)
        query = "&".join(kept)
    return parts._replace(netloc=netloc, query=query).geturl()


_SECRET_WORDS = ("password", "passwd", "secret", "token", "credential", "signature")
_SECRET_NAMES = {
    "key",
    "sig",
    "sas",
    "access_key",
    "account_key",
    "secret_key",
    "sas_token",
    "api_key",
    "auth",
}


def _secret_param(name: str) -> bool:
    """Whether a query parameter name looks like it carries a secret (`workspace_key_prefix` does not)."""
    n = name.lower()
    return n in _SECRET_NAMES or n.endswith("_key") or any(w in n for w in _SECRET_WORDS)


def new_lock_info(operation: str, path: str, info: str = "") -> LockInfo:
    """A lock info document like the one Terraform writes."""
    from driftmgr import __version__

    try:
        who = f"{getpass.getuser()}@{socket.gethostname()}"
    except (KeyError, OSError):
        who = socket.gethostname()
    return LockInfo(
        id=str(uuid.uuid4()),
        operation=operation,
        info=info,
        who=who,
        version=f"driftmgr {__version__}",
        created=datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        path=path,
    )

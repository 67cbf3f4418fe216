"""The secret store contract and the `Secret` wrapper.

`SecretStore.get(name)` returns a `Secret`: its repr and str are `***`, it refuses to be pickled
and is not JSON-serializable, so a secret reaches logs, reprs, API responses or the database only
through an explicit `reveal()`. Names are `path` or `path#key`: with `#key` the stored value is
a JSON object and the key's value is returned (Vault's KV data is always an object: without a key,
its `value` entry is read).
"""

from __future__ import annotations

import hmac
import json
from typing import Any, Protocol, runtime_checkable

from driftmgr.errors import BackendError, UsageError


class Secret:
    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    def __str__(self) -> str:
        return "***"

    def __format__(self, spec: str) -> str:
        return "***"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Secret):
            return NotImplemented
        return hmac.compare_digest(self._value.encode("utf-8"), other._value.encode("utf-8"))

    def __hash__(self) -> int:
        raise TypeError("a Secret is not hashable")

    def __reduce__(self) -> Any:
        raise TypeError("a Secret cannot be pickled")

    def __len__(self) -> int:
        return len(self._value)


class SecretNotFoundError(BackendError):
    code = "secret_not_found"


@runtime_checkable
class SecretStore(Protocol):
    name: str

    def get(self, name: str) -> Secret:
        """The secret `name` (`path` or `path#key`); SecretNotFoundError, AccessDeniedError or
        BackendError (unreachable) otherwise — messages name the secret, never its value."""
        ...


def split_name(name: str) -> tuple[str, str | None]:
    if not name or len(name) > 512 or any(c in name for c in "\r\n\x00"):
        raise UsageError("a secret name is 1 to 512 characters on one line", source=name[:80])
    path, sep, key = name.partition("#")
    if not path or (sep and not key):
        raise UsageError("a secret name is `path` or `path#key`", source=name)
    return path, (key if sep else None)


def pick_key(raw: str, key: str | None, *, source: str) -> Secret:
    """`raw` itself, or the `key` entry of `raw` read as a JSON object."""
    if key is None:
        return Secret(raw)
    try:
        data = json.loads(raw)
    except ValueError:
        raise SecretNotFoundError(
            f"the secret is not a JSON object, so it has no key {key!r}", source=source
        ) from None
    if not isinstance(data, dict) or key not in data:
        raise SecretNotFoundError(f"the secret has no key {key!r}", source=source)
    value = data[key]
    return Secret(value if isinstance(value, str) else json.dumps(value))

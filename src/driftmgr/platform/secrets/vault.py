"""HashiCorp Vault, KV version 2, through hvac.

`path#key` reads `key` of the secret at `path`; a bare `path` reads its `value` key. The token comes
from the constructor or VAULT_TOKEN (never a DriftMgr setting); VAULT_NAMESPACE is honoured.
"""

from __future__ import annotations

import os
from typing import Any

from driftmgr.errors import AccessDeniedError, BackendError, UsageError
from driftmgr.platform.secrets.base import Secret, SecretNotFoundError, split_name


class VaultSecretStore:
    name = "vault"

    def __init__(
        self,
        url: str,
        *,
        token: str | None = None,
        mount: str = "secret",
        namespace: str | None = None,
        verify: bool | str = True,
        timeout: int = 10,
        prefix: str = "",
    ) -> None:
        if not url.startswith(("http://", "https://")):
            raise UsageError(
                "the Vault URL must start with https:// (or http:// for a dev server)", source=url
            )
        self.url = url.rstrip("/")
        self.mount = mount.strip("/")
        self.prefix = prefix
        self._token = token
        self._namespace = namespace if namespace is not None else os.environ.get("VAULT_NAMESPACE")
        self._verify = verify
        self._timeout = timeout
        self._client: Any = None

    def __repr__(self) -> str:
        return f"VaultSecretStore(url={self.url!r}, mount={self.mount!r})"

    def _hvac(self) -> Any:
        if self._client is None:
            import hvac

            token = self._token or os.environ.get("VAULT_TOKEN")
            if not token:
                raise UsageError("no Vault token: set VAULT_TOKEN", source=self.url)
            self._client = hvac.Client(
                url=self.url,
                token=token,
                namespace=self._namespace,
                verify=self._verify,
                timeout=self._timeout,
            )
        return self._client

    def get(self, name: str) -> Secret:
        import hvac.exceptions
        import requests

        path, key = split_name(self.prefix + name)
        where = f"vault:{self.mount}/{path}"
        try:
            resp = self._hvac().secrets.kv.v2.read_secret_version(
                path=path, mount_point=self.mount, raise_on_deleted_version=True
            )
        except hvac.exceptions.InvalidPath:
            raise SecretNotFoundError("no such secret", source=where) from None
        except (hvac.exceptions.Forbidden, hvac.exceptions.Unauthorized):
            raise AccessDeniedError(
                "Vault denied reading the secret (check the token's policy)", source=where
            ) from None
        except hvac.exceptions.VaultError as exc:
            raise BackendError(f"Vault answered with an error: {type(exc).__name__}", source=where) from None
        except requests.exceptions.RequestException as exc:
            raise BackendError(f"cannot reach Vault: {type(exc).__name__}", source=self.url) from None
        try:
            data = resp["data"]["data"]
        except (KeyError, TypeError):
            raise BackendError("Vault's answer is not a KV version 2 secret", source=where) from None
        field = key or "value"
        if not isinstance(data, dict) or field not in data:
            raise SecretNotFoundError(f"the secret has no key {field!r}", source=where)
        value = data[field]
        return Secret(value if isinstance(value, str) else str(value))

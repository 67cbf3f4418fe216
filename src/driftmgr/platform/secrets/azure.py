"""Azure Key Vault secrets through azure-keyvault-secrets (DefaultAzureCredential unless given).

Key Vault names allow letters, digits and '-': `db-password`, or `app-config#user` for a JSON value.
"""

from __future__ import annotations

from typing import Any

from driftmgr.errors import AccessDeniedError, BackendError, UsageError
from driftmgr.platform.secrets.base import Secret, SecretNotFoundError, pick_key, split_name


class AzureSecretStore:
    name = "azure"

    def __init__(
        self, vault_url: str, *, credential: Any = None, prefix: str = "", **client_options: Any
    ) -> None:
        if not vault_url.startswith("https://"):
            raise UsageError("the Key Vault URL must start with https://", source=vault_url)
        self.vault_url = vault_url.rstrip("/")
        self.prefix = prefix
        self._credential = credential
        self._options = client_options
        self._client: Any = None

    def __repr__(self) -> str:
        return f"AzureSecretStore(vault_url={self.vault_url!r})"

    def _kv(self) -> Any:
        if self._client is None:
            from azure.keyvault.secrets import SecretClient

            credential = self._credential
            if credential is None:
                from azure.identity import DefaultAzureCredential

                credential = DefaultAzureCredential()
            self._client = SecretClient(vault_url=self.vault_url, credential=credential, **self._options)
        return self._client

    def get(self, name: str) -> Secret:
        from azure.core.exceptions import (
            ClientAuthenticationError,
            HttpResponseError,
            ResourceNotFoundError,
            ServiceRequestError,
        )

        path, key = split_name(self.prefix + name)
        where = f"{self.vault_url}/secrets/{path}"
        try:
            value = self._kv().get_secret(path).value
        except ResourceNotFoundError:
            raise SecretNotFoundError("no such secret", source=where) from None
        except ClientAuthenticationError:
            raise AccessDeniedError("Azure did not accept the credential", source=where) from None
        except HttpResponseError as exc:
            if exc.status_code in (401, 403):
                raise AccessDeniedError("Key Vault denied reading the secret", source=where) from None
            raise BackendError(f"Key Vault answered HTTP {exc.status_code}", source=where) from None
        except ServiceRequestError as exc:
            raise BackendError(f"cannot reach Key Vault: {type(exc).__name__}", source=where) from None
        if value is None:
            raise SecretNotFoundError("the secret has no value", source=where)
        return pick_key(str(value), key, source=where)

"""Secrets for provider credentials: environment, HashiCorp Vault, AWS Secrets Manager, Azure Key Vault.

`build_secret_store(settings)` picks the backend of `secrets_backend`; nothing connects until the
first `get`.
"""

from __future__ import annotations

from driftmgr.config import Settings
from driftmgr.errors import UsageError
from driftmgr.platform.secrets.base import Secret, SecretNotFoundError, SecretStore

__all__ = ["Secret", "SecretNotFoundError", "SecretStore", "build_secret_store"]


def build_secret_store(settings: Settings) -> SecretStore:
    backend = settings.secrets_backend
    prefix = settings.secrets_prefix
    if backend == "env":
        from driftmgr.platform.secrets.env import EnvSecretStore

        return EnvSecretStore(prefix=prefix)
    if backend == "vault":
        from driftmgr.platform.secrets.vault import VaultSecretStore

        if not settings.vault_url:
            raise UsageError("secrets_backend is vault: set DRIFTMGR_VAULT_URL")
        return VaultSecretStore(settings.vault_url, mount=settings.vault_mount, prefix=prefix)
    if backend == "aws":
        from driftmgr.platform.secrets.aws import AwsSecretStore

        return AwsSecretStore(prefix=prefix)
    from driftmgr.platform.secrets.azure import AzureSecretStore

    if not settings.azure_vault_url:
        raise UsageError("secrets_backend is azure: set DRIFTMGR_AZURE_VAULT_URL")
    return AzureSecretStore(settings.azure_vault_url, prefix=prefix)

"""Settings: DRIFTMGR_* environment variables, optionally a YAML file (`--config` / DRIFTMGR_CONFIG)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

from platformdirs import user_data_dir
from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from driftmgr.errors import UsageError


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="DRIFTMGR_", extra="forbid")

    data_dir: Path = Field(default_factory=lambda: Path(user_data_dir("driftmgr", appauthor=False)))
    database_url: str | None = None  # default: SQLite in data_dir (issue 4)
    redis_url: str | None = None  # set: scaled-out mode (cache, events, jobs on Redis/Celery)
    # the in-process job pool (embedded mode); retries and timeouts apply to Celery too
    jobs_max_workers: int = Field(default=2, ge=1, le=64)
    jobs_queue_size: int = Field(default=1000, ge=1)
    jobs_retry_attempts: int = Field(default=3, ge=1, le=20)
    jobs_retry_delay: float = Field(default=2.0, ge=0)  # seconds, doubled per attempt, with jitter
    jobs_timeout: float = Field(default=3600.0, gt=0)  # seconds per job
    # a running job's heartbeat lease: a job whose worker died runs again once it lapses
    jobs_lease: float = Field(default=30.0, ge=1)
    job_plugins: str | None = None  # "module:function,…": each called with the queue to register kinds
    cache_ttl: float = Field(default=300.0, ge=0)  # default TTL of cached queries, seconds
    scheduler_interval: float = Field(default=30.0, gt=0)  # seconds between checks for due schedules
    # security (issue 5, docs/security.md). No secret has a default: an unset secret_key is generated
    # into data_dir/secret_key (mode 0600) on first use in embedded mode, and required when scaled out.
    secret_key: SecretStr | None = None
    password_min_length: int = Field(default=12, ge=8, le=256)
    session_ttl: float = Field(default=43200.0, gt=0)  # seconds a GUI session lives at most
    session_idle: float = Field(default=3600.0, gt=0)  # seconds without a request that end a session
    login_max_failures: int = Field(default=5, ge=1)  # per user name within login_window …
    login_max_failures_ip: int = Field(default=20, ge=1)  # … and per client address
    login_window: float = Field(default=900.0, gt=0)  # seconds
    login_lockout: float = Field(default=900.0, gt=0)  # seconds locked after too many failures
    audit_mode: Literal["standard", "soc2", "hipaa", "pci-dss"] = "standard"
    secrets_backend: Literal["env", "vault", "aws", "azure"] = "env"
    secrets_prefix: str = ""  # prepended to every secret name (e.g. "driftmgr/")
    vault_url: str | None = None  # token from VAULT_TOKEN, never a setting
    vault_mount: str = "secret"  # the KV v2 mount point
    azure_vault_url: str | None = None  # https://<vault>.vault.azure.net
    # remediation (issue 6, docs/remediation.md): plans at or above this risk need an approver who
    # is not their creator; plans expire unapplied after plan_ttl seconds; at most max_actions each
    remediation_approval_risk: Literal["low", "medium", "high", "critical"] = "medium"
    remediation_plan_ttl: float = Field(default=7 * 86400.0, gt=0)
    remediation_max_actions: int = Field(default=50, ge=1, le=10000)
    remediation_protect_tag: str = "driftmgr:protected=true"  # "key=value" (or "key"); "" disables it
    remediation_protect: str = ""  # comma-separated globs of addresses, ids or types never remediated

    @field_validator("data_dir")
    @classmethod
    def _expand(cls, v: Path) -> Path:
        return v.expanduser()

    @property
    def scaled(self) -> bool:
        return bool(self.redis_url)


def load_settings(config_file: str | None = None) -> Settings:
    """Settings from the environment, over the YAML file given (or DRIFTMGR_CONFIG)."""
    path = config_file or os.environ.get("DRIFTMGR_CONFIG")
    values: dict[str, Any] = {}
    if path:
        import yaml

        try:
            loaded = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
        except OSError as exc:
            raise UsageError(f"cannot read the config file: {exc.strerror or exc}", source=path) from None
        except yaml.YAMLError as exc:
            raise UsageError(f"the config file is not valid YAML: {exc}", source=path) from None
        if loaded is None:
            loaded = {}
        if not isinstance(loaded, dict):
            raise UsageError("the config file must hold a mapping of settings", source=path)
        values = {k: v for k, v in loaded.items() if f"DRIFTMGR_{str(k).upper()}" not in os.environ}
    try:
        return Settings(**values)
    except ValidationError as exc:  # one line naming the setting
        raise UsageError(f"invalid settings: {str(exc).splitlines()[0]}", source=path) from None


def redacted_service_url(url: str | None) -> str | None:
    """A service URL (database, Redis) fit to print: its password replaced, everything else kept."""
    if not url:
        return url
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.netloc.rsplit("@", 1)[-1]
    return parts._replace(netloc=f"{parts.username or ''}:REDACTED@{host}").geturl()

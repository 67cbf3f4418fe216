"""Settings: DRIFTMGR_* environment variables, optionally a YAML file (`--config` / DRIFTMGR_CONFIG)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from platformdirs import user_data_dir
from pydantic import Field, ValidationError, field_validator
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
    cache_ttl: float = Field(default=300.0, ge=0)  # default TTL of cached queries, seconds

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

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from driftmgr.config import Settings
from driftmgr.errors import UsageError
from driftmgr.security.secret_key import secret_key


def test_generated_once_with_mode_0600_and_reused(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data")
    k1 = secret_key(settings)
    path = tmp_path / "data" / "secret_key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len(k1) >= 32 and secret_key(settings) == k1
    assert secret_key(Settings(data_dir=tmp_path / "other")) != k1  # random, not a fixed default


def test_a_key_file_readable_by_others_is_refused(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    secret_key(settings)
    os.chmod(tmp_path / "secret_key", 0o644)
    with pytest.raises(UsageError, match="chmod 600"):
        secret_key(settings)


def test_the_setting_wins_and_must_be_long(tmp_path: Path) -> None:
    assert secret_key(Settings(data_dir=tmp_path, secret_key="s" * 40)) == b"s" * 40
    assert not (tmp_path / "secret_key").exists()
    with pytest.raises(UsageError, match="too short"):
        secret_key(Settings(data_dir=tmp_path, secret_key="short"))


def test_scaled_out_mode_requires_the_setting(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="DRIFTMGR_SECRET_KEY is required"):
        secret_key(Settings(data_dir=tmp_path, redis_url="redis://127.0.0.1:6379/0"))
    assert not (tmp_path / "secret_key").exists()


def test_the_setting_is_redacted_in_dumps(tmp_path: Path) -> None:
    s = Settings(data_dir=tmp_path, secret_key="s" * 40)
    assert "s" * 40 not in repr(s) and "s" * 40 not in str(s.model_dump(mode="json"))

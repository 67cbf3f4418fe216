"""A cheap argon2 profile for tests: the production profile costs ~1 s per hash on a busy 2-core box.

Import the `fast_hashing` fixture into a test module (or use it by name) to swap it in.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from argon2 import PasswordHasher

from driftmgr.security import passwords

FAST = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


@pytest.fixture
def fast_hashing(monkeypatch: pytest.MonkeyPatch) -> Iterator[PasswordHasher]:
    monkeypatch.setattr(passwords, "_hasher", FAST)
    monkeypatch.setattr(passwords, "_dummy_hash", None)
    yield FAST

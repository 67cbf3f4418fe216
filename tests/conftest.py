"""Shared test configuration. Fixtures that start emulators and servers live in tests/fixtures/."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

# Shared machines (CI, 2 cores, parallel workers) make generation timing meaningless: no deadlines,
# no "too slow" health check. Example counts stay as each test sets them.
settings.register_profile("driftmgr", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("driftmgr")

pytest_plugins = [
    "tests.fixtures.moto_server",
    "tests.fixtures.postgres",
    "tests.fixtures.db",
    "tests.fixtures.redis",
    "tests.fixtures.azurite",
    "tests.fixtures.fake_gcs",
    "tests.fixtures.http_backend",
    "tests.fixtures.terraform",
]

REPO = Path(__file__).resolve().parent.parent


def corpus_dir() -> Path | None:
    """../shared/corpus next to the checkout (or DRIFTMGR_CORPUS), when present."""
    env = os.environ.get("DRIFTMGR_CORPUS")
    candidates = [Path(env)] if env else []
    candidates += [REPO.parent / "shared" / "corpus"]
    for c in candidates:
        if c.is_dir():
            return c
    return None


@pytest.fixture(scope="session")
def corpus() -> Path:
    d = corpus_dir()
    if d is None:
        pytest.skip("../shared/corpus is not present next to the checkout (set DRIFTMGR_CORPUS)")
    return d

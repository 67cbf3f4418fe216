"""Commands validate before they change anything and roll back what a failure left; queries cache."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from driftmgr.errors import UsageError
from driftmgr.platform.db.engine import Database
from driftmgr.platform.db.models import StateSource
from driftmgr.services.base import Query, run_command, run_query
from driftmgr.services.config import AddSource


class _Boom(AddSource):
    def execute(self) -> Any:
        super().execute()
        raise RuntimeError("failed after the insert")


def _count(db: Database) -> int:
    with db.session() as s:
        return int(s.scalar(select(func.count()).select_from(StateSource)) or 0)


def test_a_failed_execute_is_rolled_back(database: Database) -> None:
    with pytest.raises(RuntimeError):
        run_command(_Boom(database, "prod", "s3://b/k"))
    assert _count(database) == 0


def test_validation_fails_before_anything_is_stored(database: Database) -> None:
    with pytest.raises(UsageError):
        run_command(AddSource(database, "bad name!", "s3://b/k"))
    assert _count(database) == 0


class _DictCache:
    def __init__(self) -> None:
        self.data: dict[str, Any] = {}
        self.ttls: dict[str, float] = {}

    def get(self, key: str) -> Any | None:
        return self.data.get(key)

    def set(self, key: str, value: Any, ttl: float, *, tags: list[str] | None = None) -> None:
        self.data[key] = value
        self.ttls[key] = ttl

    def delete(self, key: str) -> None:
        self.data.pop(key, None)

    def invalidate_tag(self, tag: str) -> int:
        return 0

    def clear(self) -> int:
        n = len(self.data)
        self.data.clear()
        return n

    def stats(self) -> dict[str, Any]:
        return {}

    def close(self) -> None:
        pass


def test_a_query_with_a_duration_is_computed_once() -> None:
    calls: list[int] = []
    cache = _DictCache()

    def compute() -> int:
        calls.append(1)
        return 42

    q = Query("k", compute, ttl=30)
    assert run_query(q, cache) == 42
    assert run_query(q, cache) == 42
    assert calls == [1]
    assert cache.ttls == {"k": 30}
    run_query(Query("n", compute, ttl=0), cache)
    run_query(Query("n", compute, ttl=0), cache)
    assert len(calls) == 3

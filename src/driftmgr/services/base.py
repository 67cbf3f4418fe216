"""Commands and queries: the two shapes of service-layer operations.

A write is a `Command`: `validate()` checks its input before anything changes, `execute()` does it,
`rollback()` undoes what a failed `execute()` left behind. `run_command` runs the three in order, so
a bad input never reaches storage and a failure midway leaves nothing half-done.
A read is a `Query`: a key, a duration it may be cached for, and the function computing it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Generic, Protocol, TypeVar

from driftmgr.platform.cache.base import Cache

T = TypeVar("T")
T_co = TypeVar("T_co", covariant=True)


class Command(Protocol[T_co]):
    def validate(self) -> None: ...

    def execute(self) -> T_co: ...

    def rollback(self) -> None: ...


def run_command(cmd: Command[T]) -> T:
    cmd.validate()
    try:
        return cmd.execute()
    except BaseException:
        cmd.rollback()
        raise


@dataclass
class Query(Generic[T]):
    key: str
    compute: Callable[[], T]
    ttl: float = 0.0  # seconds it may be served from cache; 0: never cached
    tags: list[str] = field(default_factory=list)


def run_query(query: Query[T], cache: Cache | None = None) -> T:
    if cache is None or query.ttl <= 0:
        return query.compute()
    hit: Any = cache.get(query.key)
    if hit is not None:
        return hit  # type: ignore[no-any-return]
    value = query.compute()
    cache.set(query.key, value, query.ttl, tags=query.tags)
    return value

"""StateService.instances through the cache: a new state version (`state.imported`) is re-parsed."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from driftmgr.platform.cache import TieredCache, build_cache
from driftmgr.platform.db.engine import Database
from driftmgr.platform.events import MemoryEventBus
from driftmgr.services.state import StateService
from tests.fixtures.db import settings_for
from tests.platform.test_events import wait_for


def write_state(path: Path, instance_type: str, *, serial: int = 1) -> None:
    state: dict[str, Any] = {
        "version": 4,
        "terraform_version": "1.6.0",
        "serial": serial,
        "lineage": "6f1c2a3e-0000-4000-8000-000000000001",
        "outputs": {},
        "resources": [
            {
                "mode": "managed",
                "type": "aws_instance",
                "name": "web",
                "provider": 'provider["registry.terraform.io/hashicorp/aws"]',
                "instances": [
                    {
                        "schema_version": 1,
                        "attributes": {
                            "id": "i-0abc",
                            "instance_type": instance_type,
                            "tags": {"env": "prod"},
                        },
                        "sensitive_attributes": [],
                    }
                ],
            }
        ],
    }
    path.write_bytes(orjson.dumps(state))


@pytest.fixture
def bus(database: Database) -> Iterator[MemoryEventBus]:
    b = MemoryEventBus(database)
    yield b
    b.close()


@pytest.fixture
def cache(database: Database, bus: MemoryEventBus, tmp_path: Path) -> Iterator[TieredCache]:
    c = build_cache(settings_for(database, tmp_path), database, bus)
    yield c
    c.close()


def test_parsed_state_is_cached_until_a_new_version_is_imported(
    cache: TieredCache, bus: MemoryEventBus, tmp_path: Path
) -> None:
    src = str(tmp_path / "prod.tfstate")
    write_state(Path(src), "t3.micro")
    service = StateService(cache=cache, cache_ttl=300)

    first = service.instances(src)
    assert [(i.address, i.attributes["instance_type"]) for i in first] == [("aws_instance.web", "t3.micro")]
    write_state(Path(src), "t3.large")  # changed behind the cache's back, same serial
    again = service.instances(src)
    assert again == first  # served from the cache: equal objects, not re-parsed
    assert (cache.hits, cache.misses) == (1, 1)

    bus.publish("state.imported", {"serial": 2}, source=src)
    assert wait_for(lambda: cache.stats()["levels"]["database"]["entries"] == 0)
    fresh = service.instances(src)
    assert [i.attributes["instance_type"] for i in fresh] == ["t3.large"]
    assert (cache.hits, cache.misses) == (1, 2)
    assert fresh[0].source == first[0].source and fresh[0].type == "aws_instance"


def test_a_known_serial_is_part_of_the_key(cache: TieredCache, tmp_path: Path) -> None:
    src = str(tmp_path / "prod.tfstate")
    write_state(Path(src), "t3.micro", serial=1)
    service = StateService(cache=cache)
    assert service.instances(src, serial=1)[0].attributes["instance_type"] == "t3.micro"
    write_state(Path(src), "t3.large", serial=2)
    assert service.instances(src, serial=2)[0].attributes["instance_type"] == "t3.large"
    assert service.instances(src, serial=1)[0].attributes["instance_type"] == "t3.micro"  # still cached


def test_without_a_cache_every_call_parses(tmp_path: Path) -> None:
    src = str(tmp_path / "prod.tfstate")
    write_state(Path(src), "t3.micro")
    service = StateService()
    assert service.instances(src)[0].attributes["instance_type"] == "t3.micro"
    write_state(Path(src), "t3.large")
    assert service.instances(src)[0].attributes["instance_type"] == "t3.large"

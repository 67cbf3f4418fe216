"""schemathesis against our own OpenAPI spec: no 5xx, every response matches its schema.

Run as an admin (every route reachable) on a fresh embedded platform in a temp dir; hypothesis
generates the requests from the spec. Generated writes land in that throwaway database only. The
app is built when the spec is loaded (collection), its platform when the first test runs.
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from driftmgr.api.app import create_app
from driftmgr.config import Settings
from driftmgr.platform.runtime import Platform, build_platform
from driftmgr.security import passwords
from driftmgr.services.access import AccessService, Actor
from tests.security.hashing import FAST

_TMP = Path(tempfile.mkdtemp(prefix="driftmgr-schemathesis-"))
atexit.register(shutil.rmtree, _TMP, ignore_errors=True)
_CFG = Settings(data_dir=_TMP / "data", secret_key="z" * 48)
_APP = create_app(_CFG)
_STATE: dict[str, Any] = {}


def _admin_token() -> str:
    """Build the platform once (first test), with an admin and their token."""
    if "token" not in _STATE:
        passwords._hasher = FAST  # cheap hashing for this throwaway database
        platform: Platform = build_platform(_CFG)
        atexit.register(platform.close)
        _APP.state.platform = platform
        from driftmgr.services.workflow import WorkflowService

        _APP.state.access = access = AccessService(_CFG, platform.db)
        _APP.state.workflow = WorkflowService(platform)
        access.create_admin("admin", "correct horse battery staple")
        admin = next(u for u in access.list_users(Actor.cli()) if u.username == "admin")
        actor = Actor(username="admin", roles=frozenset({"admin"}), user_id=admin.id, via="password")
        _STATE["token"] = access.create_token(actor, "schemathesis").token
    return str(_STATE["token"])


@pytest.fixture(autouse=True, scope="module")
def _real_hasher_afterwards() -> Iterator[None]:
    """The fast test hasher is set for this module's database only: later modules get the real one."""
    original = passwords._hasher
    yield
    passwords._hasher = original


schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", _APP)
# the acceptance: no 5xx, and every status, content type, header and body as the spec says. (Not
# "every schema-valid request succeeds": an unknown name is a valid string and a 404.)
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


@schema.parametrize()
@settings(max_examples=20, deadline=None, suppress_health_check=list(HealthCheck))
def test_api_conforms_to_its_spec(case: Any) -> None:
    case.call_and_validate(headers={"Authorization": f"Bearer {_admin_token()}"}, checks=CHECKS)

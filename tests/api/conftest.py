"""An API app on a fresh SQLite platform, with one user (and API token) per role."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from driftmgr.api.app import create_app
from driftmgr.config import Settings
from driftmgr.platform.runtime import Platform, build_platform
from driftmgr.security import passwords
from driftmgr.security.rbac import ROLES
from driftmgr.services.access import AccessService, Actor
from tests.security.hashing import FAST

PASSWORD = "correct horse battery staple"


@dataclass
class Api:
    client: TestClient
    platform: Platform
    tokens: dict[str, str]  # role → bearer token

    def as_role(self, role: str | None) -> dict[str, str]:
        return {} if role is None else {"Authorization": f"Bearer {self.tokens[role]}"}


@pytest.fixture
def api(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Api]:
    monkeypatch.setattr(passwords, "_hasher", FAST)  # production argon2 costs ~1 s per hash
    monkeypatch.setattr(passwords, "_dummy_hash", None)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")  # /health asks the AWS provider
    settings = Settings(data_dir=tmp_path / "data", secret_key="k" * 48)
    platform = build_platform(settings, start_workers=False)
    access = AccessService(settings, platform.db)
    cli = Actor.cli()
    tokens: dict[str, str] = {}
    for role in ROLES:
        if role == "admin":
            access.create_admin("admin", PASSWORD)
        else:
            access.add_user(cli, role, PASSWORD, [role])
        admin = Actor(username=role, roles=frozenset({role}), user_id=_user_id(access, role), via="password")
        tokens[role] = access.create_token(admin, "test").token
    app = create_app(settings, platform=platform)
    with TestClient(app) as client:
        yield Api(client, platform, tokens)
    platform.close()


def _user_id(access: AccessService, username: str) -> str:
    return next(u.id for u in access.list_users(Actor.cli()) if u.username == username)

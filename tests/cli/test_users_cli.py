"""`driftmgr users …` and `driftmgr tokens …` end to end (in-process), on SQLite and PostgreSQL."""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from driftmgr.cli.app import app
from driftmgr.config import Settings
from driftmgr.platform.db.engine import Database
from driftmgr.services.access import AccessService
from tests.cli.helpers import run
from tests.security.hashing import fast_hashing

__all__ = ["fast_hashing"]
pytestmark = pytest.mark.usefixtures("fast_hashing")
PW = "correct horse battery"


@pytest.fixture
def env(database: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Database:
    monkeypatch.setenv("DRIFTMGR_DATABASE_URL", database.url)
    monkeypatch.setenv("DRIFTMGR_DATA_DIR", str(tmp_path / "data"))
    return database


def _stdin(monkeypatch: pytest.MonkeyPatch, text: str) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO(text))


def test_create_admin_from_stdin_then_refused(
    env: Database, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _stdin(monkeypatch, PW + "\n")
    assert run(capsys, "users", "create-admin", "alice", "--password-stdin") == (
        0,
        "admin alice is ready\n",
        "",
    )
    _stdin(monkeypatch, PW + "\n")
    rc, out, err = run(capsys, "users", "create-admin", "bob", "--password-stdin")
    assert rc == 1 and out == ""
    assert err.startswith("error: an admin already exists (alice)") and err.count("\n") == 1
    _stdin(monkeypatch, "short\n")
    rc, _, err = run(capsys, "users", "create-admin", "bob", "--password-stdin", "--force")
    assert rc == 1 and "too short" in err
    _stdin(monkeypatch, "")
    rc, _, err = run(capsys, "users", "create-admin", "bob", "--password-stdin", "--force")
    assert rc == 1 and "stdin is empty" in err
    signed = AccessService(Settings(database_url=env.url), env).sign_in("alice", PW, session=False)
    assert signed.actor.roles == {"admin"}


def test_create_admin_prompts_twice_without_echo(env: Database) -> None:
    result = CliRunner().invoke(app, ["users", "create-admin", "alice"], input=f"{PW}\n{PW}\n")
    assert result.exit_code == 0, result.output
    assert PW not in result.output and "admin alice is ready" in result.output
    mismatch = CliRunner().invoke(
        app, ["users", "create-admin", "bob", "--force"], input=f"{PW}\nother words here\n{PW}\n{PW}\n"
    )
    assert "do not match" in mismatch.output.lower() and mismatch.exit_code == 0


def test_users_add_list_grant_revoke_disable(
    env: Database, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _stdin(monkeypatch, PW + "\n")
    run(capsys, "users", "create-admin", "alice", "--password-stdin")
    _stdin(monkeypatch, PW + "\n")
    rc, out, _ = run(capsys, "users", "add", "Bob", "--role", "operator", "-r", "viewer", "--password-stdin")
    assert (rc, out) == (0, "user bob added (operator, viewer)\n")
    assert run(capsys, "users", "grant", "bob", "approver")[:2] == (0, "bob: approver, operator, viewer\n")
    assert run(capsys, "users", "revoke", "bob", "operator")[:2] == (0, "bob: approver, viewer\n")
    rc, _, err = run(capsys, "users", "grant", "bob", "root")
    assert rc == 1 and "root: unknown role" in err
    assert run(capsys, "users", "disable", "bob")[:2] == (0, "user bob disabled\n")
    rc, _, err = run(capsys, "users", "disable", "alice")
    assert rc == 1 and "last active admin" in err
    rc, out, _ = run(capsys, "users", "list", "--json")
    users = {u["username"]: (u["active"], u["roles"]) for u in json.loads(out)["users"]}
    assert users == {"alice": (True, ["admin"]), "bob": (False, ["approver", "viewer"])}
    rc, out, _ = run(capsys, "users", "list")
    assert rc == 0 and "bob" in out.splitlines()[2] and " no " in out.splitlines()[2]
    rc, _, err = run(capsys, "users", "add", "carol")
    assert rc == 1 and "--role" in err


def test_tokens_create_list_revoke(
    env: Database, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _stdin(monkeypatch, PW + "\n")
    run(capsys, "users", "add", "ci", "--role", "operator", "--password-stdin")
    rc, out, err = run(
        capsys, "tokens", "create", "--user", "ci", "--name", "pipeline", "--expires-in", "30d"
    )
    token = out.strip()
    assert rc == 0 and out.count("\n") == 1 and token.startswith("dm_")
    assert "not shown again" in err and token not in err
    service = AccessService(Settings(database_url=env.url), env)
    assert service.authenticate_token(token).username == "ci"
    rc, out, _ = run(capsys, "tokens", "list", "--json")
    [listed] = json.loads(out)["tokens"]
    assert listed["status"] == "active" and token not in out and listed["prefix"] == token[:11]
    rc, _, err = run(capsys, "tokens", "create", "--user", "ci", "--name", "x", "--expires-in", "forever")
    assert rc == 1 and "forever" in err
    assert run(capsys, "tokens", "revoke", listed["prefix"])[:2] == (
        0,
        f"token {listed['prefix']} of ci revoked\n",
    )
    rc, out, _ = run(capsys, "tokens", "list", "--user", "ci")
    assert "revoked" in out
    rc, _, err = run(capsys, "tokens", "revoke", "dm_nothere0")
    assert rc == 1 and "no such token" in err

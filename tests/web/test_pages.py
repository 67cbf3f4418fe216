"""The GUI's pages over HTTP (no browser): sign-in and its cookie, CSRF on forms, HTML errors for
browsers and JSON for API clients, redaction, hidden actions, and the server-side trend chart."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from driftmgr.api.app import create_app
from driftmgr.config import Settings
from driftmgr.platform import notify
from driftmgr.platform.runtime import build_platform
from driftmgr.security import passwords
from driftmgr.services.access import AccessService, Actor
from driftmgr.web.render import trend_svg
from tests.security.hashing import FAST

PASSWORD = "correct horse battery staple"
HTML = {"Accept": "text/html,application/xhtml+xml"}


@pytest.fixture
def client(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    monkeypatch.setattr(passwords, "_hasher", FAST)
    monkeypatch.setattr(passwords, "_dummy_hash", None)
    settings = Settings(data_dir=tmp_path / "data", secret_key="p" * 48)
    platform = build_platform(settings, start_workers=False)
    access = AccessService(settings, platform.db)
    access.create_admin("admin", PASSWORD)
    access.add_user(Actor.cli(), "vic", PASSWORD, ["viewer"])
    notify.add_channel(platform.db, "team", "slack://T0SECRETA/B0SECRETB/C0SECRETC")
    with TestClient(create_app(settings, platform=platform), follow_redirects=False) as c:
        yield c
    platform.close()


def _sign_in(client: TestClient, user: str) -> str:
    r = client.post("/login", data={"username": user, "password": PASSWORD, "next": "/sources"}, headers=HTML)
    assert r.status_code == 303 and r.headers["location"] == "/sources"
    page = client.get("/sources", headers=HTML)
    assert page.status_code == 200
    match = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert match, "no CSRF token on the page"
    return match.group(1)


def test_anonymous_browsers_are_sent_to_sign_in_and_api_clients_get_json(client: TestClient) -> None:
    r = client.get("/scans", headers=HTML)
    assert r.status_code == 303 and r.headers["location"] == "/login?next=/scans"
    r = client.get("/scans")
    assert r.status_code == 401 and r.json()["error"]["code"] == "unauthenticated"
    assert client.get("/login", headers=HTML).status_code == 200
    assert client.get("/static/app.css").status_code == 200


def test_sign_in_sets_a_strict_cookie_and_refuses_a_wrong_password(client: TestClient) -> None:
    r = client.post("/login", data={"username": "admin", "password": "wrong"}, headers=HTML)
    assert r.status_code == 401 and "driftmgr_session" not in r.headers.get("set-cookie", "")
    assert 'role="alert"' in r.text
    r = client.post("/login", data={"username": "", "password": ""}, headers=HTML)
    assert r.status_code == 400
    r = client.post("/login", data={"username": "admin", "password": PASSWORD, "next": "//evil.example/"})
    assert r.status_code == 303 and r.headers["location"] == "/"  # no open redirect
    cookie = r.headers["set-cookie"].lower()
    assert "driftmgr_session=" in cookie and "httponly" in cookie and "samesite=lax" in cookie
    assert client.get("/", headers=HTML).status_code == 200


def test_forms_need_the_csrf_token(client: TestClient) -> None:
    csrf = _sign_in(client, "admin")
    form = {"name": "prod", "url": "/nonexistent/prod.tfstate"}
    r = client.post("/sources", data=form, headers=HTML)
    assert r.status_code == 403 and "CSRF" in r.text.upper()
    r = client.post("/sources", data={**form, "csrf_token": "forged"}, headers=HTML)
    assert r.status_code == 403
    assert "prod" not in client.get("/sources", headers=HTML).text.split("<main", 1)[1].split("<form")[0]
    r = client.post("/sources", data={**form, "csrf_token": csrf}, headers=HTML)
    assert r.status_code == 303, r.text
    assert "/nonexistent/prod.tfstate" in client.get("/sources", headers=HTML).text
    r = client.post("/logout", data={"csrf_token": csrf}, headers=HTML)
    assert r.status_code == 303 and r.headers["location"] == "/login"
    assert client.get("/", headers=HTML).status_code == 303  # the session is over


def test_a_viewer_sees_no_actions_and_is_refused_with_a_page(client: TestClient) -> None:
    csrf = _sign_in(client, "vic")
    sources = client.get("/sources", headers=HTML).text
    assert 'action="/sources"' not in sources and 'href="/users"' not in sources
    assert 'action="/scans"' not in client.get("/scans", headers=HTML).text
    r = client.post("/scans", data={"csrf_token": csrf, "sources": "prod"}, headers=HTML)
    assert r.status_code == 403 and "scans:run" in r.text and "<h1>Not allowed" in r.text
    r = client.get("/audit", headers=HTML)
    assert r.status_code == 403


def test_pages_show_errors_and_redact_secrets(client: TestClient) -> None:
    _sign_in(client, "admin")
    r = client.get("/scans/nope", headers=HTML)
    assert r.status_code == 404 and "no scan" in r.text
    page = client.get("/notifications", headers=HTML).text
    assert "team" in page and "SECRET" not in page
    r = client.post("/scans", data={"csrf_token": "x"}, headers=HTML)
    assert r.status_code == 403  # the CSRF check comes before the form is read
    audit = client.get("/audit?verify=true", headers=HTML).text
    assert "Chain intact" in audit and "login" in audit


def test_the_trend_chart_is_inline_svg_with_escaped_names() -> None:
    t = datetime(2026, 1, 1, tzinfo=UTC)
    svg = str(trend_svg([("<b>prod</b>", [(t, 3), (t + timedelta(days=1), 1)]), ("dev", [(t, 0)])]))
    assert svg.startswith("<svg") and svg.count("<polyline") == 2 and svg.count("<circle") == 3
    assert "<b>" not in svg and "&lt;b&gt;prod&lt;/b&gt;" in svg
    assert "No scans yet" in str(trend_svg([]))


def test_admin_forms_create_a_user_a_schedule_and_revoke_a_token(client: TestClient, tmp_path: Path) -> None:
    csrf = _sign_in(client, "admin")
    r = client.post("/users", data={"csrf_token": csrf, "username": "opal", "password": PASSWORD,
                                    "role": "operator"}, headers=HTML)  # fmt: skip
    assert r.status_code == 303, r.text
    assert re.search(r"<td>opal</td><td>operator</td>", client.get("/users", headers=HTML).text)
    r = client.post("/users", data={"csrf_token": csrf, "username": "x", "password": "p", "role": "emperor"},
                    headers=HTML)  # fmt: skip
    assert r.status_code == 400 and "emperor" in r.text
    # change opal's roles and take away sign-in; the last admin keeps the admin role
    r = client.post("/users/opal", data={"csrf_token": csrf, "roles": ["viewer", "approver"]}, headers=HTML)
    assert r.status_code == 303, r.text
    users = client.get("/users", headers=HTML).text
    assert re.search(r"<td>opal</td><td>approver, viewer</td><td>no</td>", users)
    demote = {"csrf_token": csrf, "roles": ["viewer"], "active": "yes"}
    r = client.post("/users/admin", data=demote, headers=HTML)
    assert r.status_code == 409 and "last active admin" in r.text
    assert client.post("/users/opal", data={"roles": ["admin"]}, headers=HTML).status_code == 403  # no CSRF
    assert client.post("/users/nobody", data={"csrf_token": csrf}, headers=HTML).status_code == 404

    state = tmp_path / "prod.tfstate"
    state.write_text('{"version": 4, "serial": 1, "lineage": "l", "resources": []}')
    client.post("/sources", data={"csrf_token": csrf, "name": "prod", "url": str(state)}, headers=HTML)
    bad = client.post("/schedules", data={"csrf_token": csrf, "name": "hourly", "cron": "every hour",
                                          "sources": "prod"}, headers=HTML)  # fmt: skip
    assert bad.status_code == 400
    r = client.post("/schedules", data={"csrf_token": csrf, "name": "hourly", "cron": "0 * * * *",
                                        "sources": "prod"}, headers=HTML)  # fmt: skip
    assert r.status_code == 303, r.text
    assert "<code>0 * * * *</code>" in client.get("/schedules", headers=HTML).text

    r = client.post("/tokens", data={"csrf_token": csrf, "name": "ci", "days": "7"}, headers=HTML)
    assert r.status_code == 201
    token = re.search(r'id="new-token"[^>]*>(dm_[^<]+)<', r.text)
    assert token
    assert (
        client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token.group(1)}"}).status_code
        == 200
    )
    token_id = re.search(r'action="/tokens/([^/"]+)/revoke"', r.text)
    assert token_id
    r = client.post(f"/tokens/{token_id.group(1)}/revoke", data={"csrf_token": csrf}, headers=HTML)
    assert r.status_code == 303
    assert "<td>revoked</td>" in client.get("/tokens", headers=HTML).text
    assert (
        client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token.group(1)}"}).status_code
        == 401
    )

"""The events WebSocket: authenticated, permission-checked, wildcard subscriptions, live job events."""

from __future__ import annotations

import pytest
from starlette.testclient import WebSocketDisconnect

from tests.api.conftest import PASSWORD, Api


def test_anonymous_and_bad_tokens_are_closed_4401(api: Api) -> None:
    with api.client.websocket_connect("/api/v1/ws") as ws:
        ws.send_text('{"token": "dm_nope_nope"}')
        with pytest.raises(WebSocketDisconnect) as info:
            ws.receive_text()
    assert info.value.code == 4401


def test_a_token_in_the_first_message_subscribes_and_receives_matching_events(api: Api) -> None:
    with api.client.websocket_connect("/api/v1/ws") as ws:
        ws.send_json({"token": api.tokens["viewer"]})
        assert ws.receive_json() == {"type": "welcome", "user": "viewer"}
        ws.send_json({"subscribe": ["job.*", "drift.drift_found"]})
        assert ws.receive_json() == {"type": "subscribed", "patterns": ["drift.drift_found", "job.*"]}
        bus = api.platform.events
        bus.publish("discovery.started", {"n": 0})  # not subscribed: never arrives
        bus.publish("job.progress", {"n": 1}, job_id="j1")
        bus.publish("drift.drift_found", {"n": 2}, severity="high", source="s3://b/k")
        first, second = ws.receive_json(), ws.receive_json()
    assert (first["type"], first["payload"], first["job_id"]) == ("job.progress", {"n": 1}, "j1")
    assert (second["type"], second["severity"], second["source"]) == ("drift.drift_found", "high", "s3://b/k")


def test_the_header_token_works_and_bad_messages_close_4400(api: Api) -> None:
    headers = api.as_role("operator")
    with api.client.websocket_connect("/api/v1/ws", headers=headers) as ws:
        assert ws.receive_json()["type"] == "welcome"
        ws.send_text("subscribe please")
        assert "error" in ws.receive_json()
        with pytest.raises(WebSocketDisconnect) as info:
            ws.receive_text()
    assert info.value.code == 4400


def test_unsubscribe_stops_delivery(api: Api) -> None:
    with api.client.websocket_connect("/api/v1/ws", headers=api.as_role("admin")) as ws:
        ws.receive_json()
        ws.send_json({"subscribe": ["job.*", "cache.*"]})
        ws.receive_json()
        ws.send_json({"unsubscribe": ["job.*"]})
        assert ws.receive_json()["patterns"] == ["cache.*"]
        api.platform.events.publish("job.progress", {"n": 1})
        api.platform.events.publish("cache.invalidated", {"n": 2})
        assert ws.receive_json()["type"] == "cache.invalidated"


def test_a_session_cookie_from_another_sites_page_is_refused(api: Api) -> None:
    r = api.client.post("/api/v1/auth/login", json={"username": "viewer", "password": PASSWORD})
    assert r.status_code == 200, r.text
    evil = {"Origin": "https://evil.example"}
    with api.client.websocket_connect("/api/v1/ws", headers=evil) as ws:
        ws.send_text("{}")  # no token either: the cookie alone must not authenticate
        with pytest.raises(WebSocketDisconnect) as info:
            ws.receive_text()
    assert info.value.code == 4401
    own = {"Origin": "http://testserver"}
    with api.client.websocket_connect("/api/v1/ws", headers=own) as ws:
        assert ws.receive_json() == {"type": "welcome", "user": "viewer"}

"""Notifications end to end: event bus → rules → deliveries → a real HTTP receiver and SMTP server."""

from __future__ import annotations

import email
import logging
import sys
from collections.abc import Iterator
from email.message import Message
from pathlib import Path

import pytest
from sqlalchemy import select

from driftmgr.platform.db.engine import Database
from driftmgr.platform.db.models import NotificationChannel
from driftmgr.platform.events import build_bus
from driftmgr.platform.events.base import Event, EventBus
from driftmgr.platform.notify import Notifier, RetryPolicy, add_channel, add_rule, rule_matches
from tests.fixtures.db import settings_for
from tests.platform.notify_support import (
    HTTPReceiver,
    SMTPReceiver,
    deliveries,
    free_port,
    http_receiver,
    smtp_receiver,
    wait_for,
    wait_status,
)

__all__ = ["http_receiver", "smtp_receiver"]  # fixtures, imported to register them

FAST = RetryPolicy(max_attempts=3, base_delay=0.05, max_delay=0.2, jitter=0.2)
SECRET_PW = "Pw-9f8e7d6c5b4a"
SECRET_PATH = "PathTok3nZZ8812"
SECRET_HEADER = "HdrS3cretQQ771"

DRIFT_PAYLOAD = {
    "summary": {"total": 10, "in_sync": 6, "drifted": 3, "missing": 1, "unmanaged": 0},
    "resources": [
        {
            "address": "aws_instance.web",
            "status": "drifted",
            "severity": "high",
            "changes": [{"path": "instance_type", "expected": "t3.micro", "actual": "t3.large"}],
        },
        {
            "address": "aws_db_instance.main",
            "status": "drifted",
            "severity": "critical",
            "changes": [{"path": "password", "expected": "old", "actual": "DbPassw0rd-never-shown"}],
        },
        {"address": "aws_s3_bucket.logs", "status": "drifted", "severity": "medium", "changes": []},
        {"address": "aws_iam_role.ci", "status": "missing", "severity": "high"},
        {"address": "aws_vpc.main", "status": "in_sync"},
    ],
}


@pytest.fixture
def bus(database: Database, tmp_path: Path) -> Iterator[EventBus]:
    b = build_bus(settings_for(database, tmp_path), database)
    yield b
    b.close()


@pytest.fixture
def notifier(database: Database, bus: EventBus) -> Iterator[Notifier]:
    n = Notifier(database, bus, policy=FAST, send_timeout=10, poll_interval=0.2).start()
    yield n
    n.close()


def _publish_drift(
    bus: EventBus, *, severity: str = "high", source: str = "s3://bucket/env/prod.tfstate"
) -> Event:
    return bus.publish("drift.drift_found", DRIFT_PAYLOAD, source=source, severity=severity)


def test_drift_event_is_delivered_to_a_json_webhook(
    database: Database, bus: EventBus, notifier: Notifier, http_receiver: HTTPReceiver
) -> None:
    add_channel(database, "hook", http_receiver.url("/hooks/drift"))
    add_rule(database, "hook", ["drift.*"])
    event = _publish_drift(bus)

    [row] = wait_status(database, "delivered")
    assert row.event_id == event.id and row.attempts == 1 and row.last_error is None
    assert row.delivered_at is not None
    [body] = http_receiver.bodies()
    assert http_receiver.requests[0]["path"] == "/hooks/drift"
    assert body["title"] == "Drift found: 3 drifted, 1 missing in s3://bucket/env/prod.tfstate"
    assert body["type"] == "warning"
    message = body["message"]
    assert "Severity: high" in message
    assert "- aws_instance.web (drifted, high): instance_type" in message
    assert "- aws_iam_role.ci (missing, high)" in message
    assert "aws_vpc.main" not in message  # in sync: not news
    assert "DbPassw0rd-never-shown" not in message and "t3.large" not in message  # values never sent


def test_drift_event_is_delivered_by_email(
    database: Database, bus: EventBus, notifier: Notifier, smtp_receiver: SMTPReceiver
) -> None:
    url = (
        f"mailto://alice:{smtp_receiver.password}@127.0.0.1:{smtp_receiver.port}"
        "?from=driftmgr@example.com&to=ops@example.com"
    )
    add_channel(database, "mail", url)
    add_rule(database, "mail", ["drift.drift_found"], min_severity="medium")
    _publish_drift(bus)

    wait_status(database, "delivered")
    [mail] = smtp_receiver.messages
    assert mail["from"] == "driftmgr@example.com" and mail["to"] == ["ops@example.com"]
    msg: Message = email.message_from_bytes(mail["content"])
    assert msg["Subject"] == "Drift found: 3 drifted, 1 missing in s3://bucket/env/prod.tfstate"
    parts = [p for p in msg.walk() if p.get_content_type() == "text/plain"]
    payload = parts[0].get_payload(decode=True)
    assert isinstance(payload, bytes)
    text = payload.decode()
    assert "aws_instance.web (drifted, high)" in text and "Summary: 3 drifted, 1 missing" in text


def test_email_with_a_wrong_password_goes_dead_without_leaking_it(
    database: Database, bus: EventBus, notifier: Notifier, smtp_receiver: SMTPReceiver
) -> None:
    wrong = "Wr0ng-Mail-Secret-551"
    url = (
        f"mailto://alice:{wrong}@127.0.0.1:{smtp_receiver.port}?from=driftmgr@example.com&to=ops@example.com"
    )
    add_channel(database, "mail", url)
    add_rule(database, "mail", ["drift.*"])
    _publish_drift(bus)
    [row] = wait_status(database, "dead")
    assert row.attempts == FAST.max_attempts
    assert row.last_error and wrong not in row.last_error
    assert smtp_receiver.messages == []


def test_receiver_failing_twice_then_recovering_is_delivered_after_retries(
    database: Database, bus: EventBus, notifier: Notifier, http_receiver: HTTPReceiver
) -> None:
    http_receiver.fail_first = 2
    add_channel(database, "hook", http_receiver.url())
    add_rule(database, "hook", ["drift.*"])
    _publish_drift(bus)

    [row] = wait_status(database, "delivered")
    assert row.attempts == 3
    assert http_receiver.hits == 3
    assert [r["status"] for r in http_receiver.requests] == [500, 500, 200]
    assert len(http_receiver.bodies()) == 1


def test_receiver_that_never_recovers_leaves_a_redacted_dead_letter(
    database: Database,
    bus: EventBus,
    http_receiver: HTTPReceiver,
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    http_receiver.always_fail = True
    url = http_receiver.url(f"/hooks/{SECRET_PATH}", auth=f"bot:{SECRET_PW}@") + f"?+X-Token={SECRET_HEADER}"
    add_channel(database, "hook", url)
    add_rule(database, "hook", ["drift.*"])
    # the application logs everything, at DEBUG, to stderr: apprise's and urllib3's records included
    stream = logging.StreamHandler(sys.stderr)
    root = logging.getLogger()
    root.addHandler(stream)
    caplog.set_level(logging.DEBUG)
    for name in ("apprise", "urllib3", "driftmgr"):
        logging.getLogger(name).setLevel(logging.DEBUG)
    try:
        with Notifier(database, bus, policy=FAST, send_timeout=10, poll_interval=0.2).start():
            _publish_drift(bus)
            [row] = wait_status(database, "dead")
    finally:
        root.removeHandler(stream)
        for name in ("apprise", "urllib3", "driftmgr"):
            logging.getLogger(name).setLevel(logging.NOTSET)

    assert row.attempts == FAST.max_attempts == http_receiver.hits
    assert all(r["headers"].get("X-Token") == SECRET_HEADER for r in http_receiver.requests)  # it was sent
    assert row.last_error and "500" in row.last_error
    out, err = capfd.readouterr()
    logged = caplog.text + out + err + "\n".join(r.getMessage() for r in caplog.records)
    # the test can fail: apprise and urllib3 did log the request URL at DEBUG, with the secrets masked
    assert any(r.name == "apprise" and "/hooks/****" in r.getMessage() for r in caplog.records), caplog.text
    assert any(r.name.startswith("urllib3") for r in caplog.records)
    assert "is dead after 3 attempts" in logged
    for secret in (SECRET_PW, SECRET_PATH, SECRET_HEADER):
        assert secret not in row.last_error
        assert secret not in logged


def test_unreachable_receiver_dead_letter_names_the_failure(database: Database, bus: EventBus) -> None:
    port = free_port()  # nothing listens here
    add_channel(database, "down", f"jsons://u:{SECRET_PW}@127.0.0.1:{port}/x/{SECRET_PATH}")
    add_rule(database, "down", ["drift.*"])
    n = Notifier(database, bus, policy=RetryPolicy(max_attempts=2, base_delay=0.01), send_timeout=5)
    assert n.handle(Event("drift.drift_found", DRIFT_PAYLOAD, source="x", severity="low")) == 1
    while n.dispatch_due():
        wait_for(lambda: False, timeout=0.05)
    [row] = deliveries(database)
    assert row.status == "dead" and row.attempts == 2
    assert row.last_error and SECRET_PW not in row.last_error and SECRET_PATH not in row.last_error


def test_same_event_seen_twice_is_recorded_once(database: Database, http_receiver: HTTPReceiver) -> None:
    add_channel(database, "hook", http_receiver.url())
    add_rule(database, "hook", ["drift.*"])
    add_rule(database, "hook", ["*"])  # two rules, one channel: still one delivery
    event = Event("drift.drift_found", DRIFT_PAYLOAD, source="s", severity="high")
    first, second = Notifier(database), Notifier(database)  # e.g. two replicas on the Redis bus
    assert first.handle(event) == 1
    assert second.handle(event) == 0
    assert first.handle(event) == 0
    assert len(deliveries(database)) == 1


def test_pending_deliveries_survive_a_restart(database: Database, http_receiver: HTTPReceiver) -> None:
    add_channel(database, "hook", http_receiver.url())
    add_rule(database, "hook", ["job.failed"])
    before = Notifier(database)  # records, never dispatches: the process "dies" here
    before.handle(Event("job.failed", {"kind": "drift", "error": "boom"}, job_id="j1"))
    before.close()
    assert http_receiver.hits == 0 and deliveries(database)[0].status == "pending"

    with Notifier(database, policy=FAST, poll_interval=0.1).start():
        [row] = wait_status(database, "delivered")
    assert row.attempts == 1
    [body] = http_receiver.bodies()
    assert body["title"] == "Job failed" and "error: boom" in body["message"] and "Job: j1" in body["message"]


def test_a_claim_abandoned_by_a_dead_process_is_retried_after_its_lease(
    database: Database, http_receiver: HTTPReceiver
) -> None:
    add_channel(database, "hook", http_receiver.url())
    add_rule(database, "hook", ["drift.*"])
    crashed = Notifier(database, lease=0.3)
    crashed.handle(Event("drift.drift_found", DRIFT_PAYLOAD, source="s", severity="high"))
    [row] = deliveries(database)
    assert crashed._claim(row.id, 0) is not None  # claimed, then the process died before sending
    other = Notifier(database, policy=FAST)
    assert other.dispatch_due() == 0  # leased: not touched, not sent twice
    assert wait_for(lambda: other.dispatch_due() == 1, timeout=5)
    [row] = deliveries(database)
    assert row.status == "delivered" and row.attempts == 2 and http_receiver.hits == 1


@pytest.mark.parametrize(
    ("pattern", "min_severity", "sources", "event_type", "severity", "source", "expected"),
    [
        ("drift.*", None, (), "drift.drift_found", "high", "s3://x/y", 1),
        ("job.*", None, (), "drift.drift_found", "high", "s3://x/y", 0),
        ("drift.drift_found", "high", (), "drift.drift_found", "medium", "s3://x/y", 0),
        ("drift.drift_found", "high", (), "drift.drift_found", "high", "s3://x/y", 1),
        ("drift.drift_found", "high", (), "drift.drift_found", "critical", "s3://x/y", 1),
        ("drift.drift_found", "low", (), "drift.drift_found", None, "s3://x/y", 0),
        ("*", None, ("s3://bucket/prod/*",), "drift.drift_found", "high", "s3://bucket/dev/a.tfstate", 0),
        ("*", None, ("s3://bucket/prod/*",), "drift.drift_found", "high", "s3://bucket/prod/a.tfstate", 1),
        ("*", None, ("s3://bucket/prod/*",), "drift.drift_found", "high", None, 0),
        ("*", None, ("./a.tfstate", "s3://x/y"), "job.failed", None, "s3://x/y", 1),
    ],
)
def test_rules_select_by_pattern_severity_and_source(
    pattern: str,
    min_severity: str | None,
    sources: tuple[str, ...],
    event_type: str,
    severity: str | None,
    source: str | None,
    expected: int,
) -> None:
    event = Event(event_type, {}, source=source, severity=severity)
    assert rule_matches([pattern], min_severity, list(sources), event) is bool(expected)


def test_handle_records_only_for_channels_whose_rules_match(database: Database) -> None:
    for name in ("all-drift", "critical-only", "prod-only"):
        add_channel(database, name, f"json://127.0.0.1:9/{name}")
    add_rule(database, "all-drift", ["drift.*"])
    add_rule(database, "critical-only", ["*"], min_severity="critical")
    add_rule(database, "prod-only", ["drift.drift_found", "job.failed"], sources=["s3://bucket/prod/*"])
    notifier = Notifier(database)
    cases = [
        (Event("drift.drift_found", {}, source="s3://bucket/prod/a", severity="high"), 2),
        (Event("drift.drift_found", {}, source="s3://bucket/dev/a", severity="critical"), 2),
        (Event("job.failed", {}, source="s3://bucket/dev/a", severity="high"), 0),
        (Event("job.failed", {}, source="s3://bucket/prod/a"), 1),
    ]
    assert [notifier.handle(e) for e, _ in cases] == [n for _, n in cases]
    with database.session() as s:
        names = dict(s.execute(select(NotificationChannel.id, NotificationChannel.name)).all())
    got = sorted((d.event_type, names[d.channel_id]) for d in deliveries(database))
    assert got == [
        ("drift.drift_found", "all-drift"),
        ("drift.drift_found", "all-drift"),
        ("drift.drift_found", "critical-only"),
        ("drift.drift_found", "prod-only"),
        ("job.failed", "prod-only"),
    ]

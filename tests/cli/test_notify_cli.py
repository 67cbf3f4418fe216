"""`driftmgr notify ...` in-process: channels, rules, test sends and deliveries; secrets never printed."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from driftmgr.platform.db.engine import Database
from driftmgr.platform.events.base import Event
from driftmgr.platform.notify import Notifier, RetryPolicy
from tests.cli.helpers import run
from tests.platform.notify_support import HTTPReceiver, http_receiver

__all__ = ["http_receiver"]

TOKEN = "Tok3nSl4ck9988xyz"
PASSWORD = "M4il-Passw0rd-7766"


@pytest.fixture
def env(database: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Database:
    monkeypatch.delenv("DRIFTMGR_CONFIG", raising=False)
    monkeypatch.delenv("DRIFTMGR_REDIS_URL", raising=False)
    monkeypatch.setenv("DRIFTMGR_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("DRIFTMGR_DATABASE_URL", database.url)
    return database


def test_channel_add_list_remove_never_print_secrets(
    env: Database, capsys: pytest.CaptureFixture[str]
) -> None:
    slack = f"slack://T1JJ3T3L2/A1BRTD4JD/{TOKEN}/#ops"
    mail = f"mailtos://alice:{PASSWORD}@smtp.example.com?to=ops@example.com"
    rc, out, err = run(capsys, "notify", "channel", "add", "ops-slack", slack)
    assert rc == 0 and err == ""
    assert "added channel ops-slack" in out and TOKEN not in out
    rc, out, err = run(capsys, "notify", "channel", "add", "ops-mail", mail)
    assert rc == 0 and PASSWORD not in out and "mailtos://alice:****@smtp.example.com" in out

    rc, out, _ = run(capsys, "notify", "channel", "list")
    assert rc == 0 and "ops-slack" in out and "ops-mail" in out
    assert TOKEN not in out and PASSWORD not in out and "T1JJ3T3L2" not in out
    rc, out, _ = run(capsys, "notify", "channel", "list", "--format", "json")
    channels = {c["name"]: c for c in orjson.loads(out)["channels"]}
    assert channels["ops-slack"]["scheme"] == "slack" and channels["ops-mail"]["scheme"] == "mailtos"
    assert TOKEN not in out and PASSWORD not in out

    rc, out, _ = run(capsys, "notify", "channel", "remove", "ops-slack")
    assert rc == 0
    rc, out, _ = run(capsys, "notify", "channel", "list", "--format", "json")
    assert [c["name"] for c in orjson.loads(out)["channels"]] == ["ops-mail"]


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (f"foo://user:{PASSWORD}@host/x", "unknown notification scheme foo://"),
        ("slack://", "apprise rejects this slack:// URL"),
        (f"pagerduty://{TOKEN}", "apprise rejects this pagerduty:// URL"),
        (f"just-a-{TOKEN}", "not an apprise URL"),
    ],
)
def test_bad_channel_url_is_one_line_naming_the_channel(
    env: Database, capsys: pytest.CaptureFixture[str], url: str, expected: str
) -> None:
    rc, out, err = run(capsys, "notify", "channel", "add", "bad", url)
    assert rc == 1 and out == ""
    assert err.count("\n") == 1 and err.startswith("error: channel bad: ") and expected in err
    assert TOKEN not in err and PASSWORD not in err and "Traceback" not in err
    rc, out, _ = run(capsys, "notify", "channel", "list", "--format", "json")
    assert orjson.loads(out)["channels"] == []  # nothing stored


def test_duplicate_channel_name_is_refused(env: Database, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "notify", "channel", "add", "hook", "json://127.0.0.1:9/a")[0] == 0
    rc, _, err = run(capsys, "notify", "channel", "add", "hook", "json://127.0.0.1:9/b")
    assert rc == 1 and "already exists" in err


def test_channel_test_sends_now_and_fails_clearly(
    env: Database, capsys: pytest.CaptureFixture[str], http_receiver: HTTPReceiver
) -> None:
    ok_url = http_receiver.url("/ok", auth=f"bot:{PASSWORD}@")
    assert run(capsys, "notify", "channel", "add", "hook", ok_url)[0] == 0
    rc, out, err = run(capsys, "notify", "channel", "test", "hook")
    assert rc == 0 and "delivered" in out and err == ""
    [body] = http_receiver.bodies()
    assert body["title"] == "DriftMgr test notification" and "'hook'" in body["message"]

    http_receiver.always_fail = True
    rc, out, err = run(capsys, "notify", "channel", "test", "hook", "--timeout", "5")
    assert rc == 1 and out == ""
    assert err.startswith("error: channel hook: test notification failed") and "500" in err
    assert PASSWORD not in err and err.count("\n") == 1

    rc, _, err = run(capsys, "notify", "channel", "test", "nope")
    assert rc == 1 and "no such notification channel" in err


def test_rules_add_list_remove_and_validation(env: Database, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "notify", "channel", "add", "hook", "json://127.0.0.1:9/a")[0] == 0
    rc, out, err = run(
        capsys, "notify", "rule", "add", "--channel", "hook", "--event", "drift.*", "--event", "job.failed",
        "--min-severity", "HIGH", "--source", "s3://bucket/prod/*",
    )  # fmt: skip
    assert rc == 0, err
    rc, out, _ = run(capsys, "notify", "rule", "list", "--format", "json")
    [rule] = orjson.loads(out)["rules"]
    assert rule["channel"] == "hook" and rule["events"] == ["drift.*", "job.failed"]
    assert rule["min_severity"] == "high" and rule["sources"] == ["s3://bucket/prod/*"]
    rc, out, _ = run(capsys, "notify", "rule", "list")
    assert rule["id"] in out and "drift.*, job.failed" in out

    for args, message in [
        (["--channel", "hook", "--event", "drift.found"], "matches no event type"),
        (["--channel", "hook", "--event", "drift.*", "--min-severity", "urgent"], "--min-severity must be"),
        (["--channel", "nope", "--event", "drift.*"], "no such notification channel"),
    ]:
        rc, out, err = run(capsys, "notify", "rule", "add", *args)
        assert rc == 1 and message in err and err.count("\n") == 1

    rc, _, err = run(capsys, "notify", "rule", "remove", "ffffff")
    assert rc == 1 and "no such notification rule" in err
    rc, out, _ = run(capsys, "notify", "rule", "remove", rule["id"][:8])
    assert rc == 0 and rule["id"] in out
    rc, out, _ = run(capsys, "notify", "rule", "list", "--format", "json")
    assert orjson.loads(out)["rules"] == []


def test_deliveries_lists_dead_letters_redacted(
    env: Database, capsys: pytest.CaptureFixture[str], http_receiver: HTTPReceiver
) -> None:
    http_receiver.always_fail = True
    url = http_receiver.url(f"/hooks/{TOKEN}", auth=f"bot:{PASSWORD}@")
    assert run(capsys, "notify", "channel", "add", "hook", url)[0] == 0
    assert run(capsys, "notify", "rule", "add", "--channel", "hook", "--event", "drift.*")[0] == 0
    notifier = Notifier(env, policy=RetryPolicy(max_attempts=2, base_delay=0.0))
    assert (
        notifier.handle(Event("drift.drift_found", {"drifted": 2}, source="s3://b/k", severity="high")) == 1
    )
    while notifier.dispatch_due():
        pass

    rc, out, _ = run(capsys, "notify", "deliveries", "--status", "dead", "--format", "json")
    [row] = orjson.loads(out)["deliveries"]
    assert row["status"] == "dead" and row["attempts"] == 2 and row["channel"] == "hook"
    assert row["title"] == "Drift found: 2 drifted in s3://b/k"
    assert "500" in row["last_error"] and TOKEN not in out and PASSWORD not in out
    rc, out, _ = run(capsys, "notify", "deliveries")
    assert rc == 0 and "dead" in out and TOKEN not in out
    rc, out, _ = run(capsys, "notify", "deliveries", "--status", "delivered")
    assert rc == 0 and "no delivered deliveries" in out
    rc, _, err = run(capsys, "notify", "deliveries", "--status", "lost")
    assert rc == 1 and "--status must be one of" in err

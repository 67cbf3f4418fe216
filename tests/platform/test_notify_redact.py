"""Channel URL redaction, the apprise log guard and message rendering (no database, no network)."""

from __future__ import annotations

import logging

import pytest

from driftmgr.errors import UsageError
from driftmgr.platform.events.base import Event
from driftmgr.platform.notify.message import body_for, title_for
from driftmgr.platform.notify.redact import inspect_url, scrub
from driftmgr.platform.notify.store import validate_channel_url

CASES = [
    # (url, secrets that must not be shown, what the display keeps)
    (
        "slack://T1JJ3T3L2/A1BRTD4JD/TIiajkdnlazkcOXrIdevi7FQ/#general",
        (
            "TIiajkdnlazkcOXrIdevi7FQ",
            "T1JJ3T3L2",
        ),
        "slack://",
    ),
    (
        "https://hooks.slack.com/services/T1JJ3T3L2/A1BRTD4JD/TIiajkdnlazkcOXrIdevi7FQ",
        (
            "TIiajkdnlazkcOXrIdevi7FQ",
            "A1BRTD4JD",
        ),
        "slack://",
    ),
    (
        "workflows://prod-01.westus.logic.azure.com:443/a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6/Sig9XyZabc123DEF456ghi789",
        (
            "a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6",
            "Sig9XyZabc123DEF456ghi789",
        ),
        "workflow://prod-01.westus.logic.azure.com:443/",
    ),
    (
        "pagerduty://INTEGRATIONKEY123abc@APIKEY456def",
        (
            "INTEGRATIONKEY123abc",
            "APIKEY456def",
        ),
        "pagerduty://",
    ),
    (
        "mailtos://alice:Sup3rS3cret@smtp.example.com?to=ops@example.com",
        ("Sup3rS3cret",),
        "alice:****@smtp.example.com",
    ),
    (
        "mailto://alice:p%40ss%2Fw0rd@127.0.0.1:2525?from=d@example.com",
        (
            "p@ss/w0rd",
            "p%40ss%2Fw0rd",
        ),
        "127.0.0.1:2525",
    ),
    (
        "jsons://hooks.example.com/x/AbC123TokenXyz?+Authorization=Bearer%20tok9876",
        (
            "AbC123TokenXyz",
            "tok9876",
        ),
        "jsons://hooks.example.com/x/****?%2BAuthorization=****",
    ),
    (
        "json://u:pw123456@127.0.0.1:8080/hooks/PATHSECRET9?+X-Token=HDR5ECRET",
        (
            "pw123456",
            "PATHSECRET9",
            "HDR5ECRET",
        ),
        "/hooks/****",
    ),
    ("form://127.0.0.1:8080/notify", (), "form://127.0.0.1:8080/notify"),
    ("foo://user:topsecret@bar", ("topsecret",), "foo://****"),
]


@pytest.mark.parametrize(("url", "secrets", "shown"), CASES)
def test_display_hides_every_secret_and_scrub_removes_them(
    url: str, secrets: tuple[str, ...], shown: str
) -> None:
    info = inspect_url(url)
    assert shown in info.display
    for secret in secrets:
        assert secret not in info.display
        assert secret not in info.scrub(f"error posting to {url}: token {secret} refused")


def test_scrub_masks_passwords_of_any_url_in_text() -> None:
    assert scrub("cannot reach pg://admin:hunter2@db:5432/x") == "cannot reach pg://admin:****@db:5432/x"


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("foo://user:topsecret@bar", "unknown notification scheme foo://"),
        ("slack://topsecret", "apprise rejects this slack:// URL"),
        ("mailto://", "apprise rejects this mailto:// URL"),
        ("topsecret", "not an apprise URL"),
        ("   ", "the apprise URL is empty"),
    ],
)
def test_bad_urls_raise_one_usage_error_without_the_secret(url: str, message: str) -> None:
    with pytest.raises(UsageError) as err:
        validate_channel_url("ops", url)
    assert str(err.value).startswith("channel ops: ") and message in str(err.value)
    assert "topsecret" not in str(err.value)


def test_apprise_parsing_logs_nothing_with_the_secret(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    logging.getLogger("apprise").setLevel(logging.DEBUG)
    try:
        for url in (
            "json://u:Xy9SecretPw@127.0.0.1/h/Tk9Tok3nAbc",
            "slack://Xy9SecretPw",
            "foo://Xy9SecretPw",
        ):
            inspect_url(url)
        # after parsing, apprise logging the URL itself is scrubbed too
        logging.getLogger("apprise").debug("POST URL: http://127.0.0.1/h/Tk9Tok3nAbc")
    finally:
        logging.getLogger("apprise").setLevel(logging.NOTSET)
    assert "POST URL: http://127.0.0.1/h/****" in caplog.text
    assert "Xy9SecretPw" not in caplog.text and "Tk9Tok3nAbc" not in caplog.text


def test_titles_and_bodies_are_readable_and_carry_no_values() -> None:
    event = Event(
        "drift.drift_found",
        {
            "summary": {"drifted": 12, "missing": 0, "unmanaged": 2},
            "resources": [
                {
                    "address": f"aws_instance.w{i}",
                    "status": "drifted",
                    "severity": "low",
                    "changes": [
                        {"path": "user_data", "expected": "a", "actual": "curl http://x?token=S3cretVal"}
                    ],
                }
                for i in range(12)
            ],
            "api_token": "S3cretVal",
            "note": "see pg://admin:hunter2@db/x",
        },
        source="s3://bucket/prod.tfstate",
        severity="low",
    )
    assert title_for(event) == "Drift found: 12 drifted, 2 unmanaged in s3://bucket/prod.tfstate"
    body = body_for(event)
    assert "- aws_instance.w0 (drifted, low): user_data" in body
    assert "… and 2 more" in body and "aws_instance.w11" not in body
    assert "S3cretVal" not in body and "hunter2" not in body and "note: see pg://admin:****@db/x" in body
    job = Event("job.failed", {"kind": "drift_detection", "error": "timeout after 30s"}, job_id="abc")
    assert title_for(job) == "Job failed"
    assert "error: timeout after 30s" in body_for(job) and "Job: abc" in body_for(job)
    other = Event("state.imported", {"serial": 4}, source="./terraform.tfstate")
    assert title_for(other) == "State: imported in ./terraform.tfstate"

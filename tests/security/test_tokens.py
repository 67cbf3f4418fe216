from __future__ import annotations

from datetime import timedelta

import pytest

from driftmgr.errors import UsageError
from driftmgr.security import tokens


def test_generated_tokens_have_the_documented_form_and_differ() -> None:
    a, b = tokens.generate(), tokens.generate()
    assert tokens.looks_like_token(a.plaintext) and tokens.looks_like_token(b.plaintext)
    assert a.plaintext.startswith(a.prefix + "_") and len(a.prefix) == 11
    assert a.plaintext != b.plaintext and a.token_hash != b.token_hash
    assert a.token_hash == tokens.hash_token(a.plaintext) and len(a.token_hash) == 64
    assert a.plaintext not in repr(a)


@pytest.mark.parametrize(
    "bad", ["", "dm_", "dm_ABCDEFGH_" + "x" * 43, "xx_abcdefgh_" + "x" * 43, "dm_abcdefgh_short"]
)
def test_malformed_tokens_are_recognized(bad: str) -> None:
    assert not tokens.looks_like_token(bad)


@pytest.mark.parametrize(
    ("text", "expected"),
    [("30d", timedelta(days=30)), ("12h", timedelta(hours=12)), ("90m", timedelta(minutes=90)),
     ("2w", timedelta(weeks=2)), ("1y", timedelta(days=365))],
)  # fmt: skip
def test_parse_duration(text: str, expected: timedelta) -> None:
    assert tokens.parse_duration(text) == expected


@pytest.mark.parametrize("bad", ["", "30", "d", "-1d", "1.5d", "0m", "6y", "thirty days"])
def test_parse_duration_refuses(bad: str) -> None:
    with pytest.raises(UsageError):
        tokens.parse_duration(bad)


def test_parse_duration_without_a_maximum() -> None:
    assert tokens.parse_duration("7y", maximum=None) == timedelta(days=7 * 365)

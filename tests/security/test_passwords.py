from __future__ import annotations

import pytest
from argon2 import PasswordHasher

from driftmgr.errors import UsageError
from driftmgr.security import passwords


def test_hash_is_argon2id_and_verifies_only_the_right_password() -> None:
    h = passwords.hash_password("correct horse battery")
    assert h.startswith("$argon2id$")
    assert "correct horse" not in h
    assert passwords.verify_password(h, "correct horse battery") == (True, None)
    assert passwords.verify_password(h, "correct horse batterY") == (False, None)


def test_two_hashes_of_one_password_differ() -> None:
    assert passwords.hash_password("correct horse battery") != passwords.hash_password(
        "correct horse battery"
    )


def test_an_outdated_hash_is_upgraded_on_verify() -> None:
    weak = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1).hash("correct horse battery")
    ok, new = passwords.verify_password(weak, "correct horse battery")
    assert ok and new is not None and new != weak
    assert PasswordHasher().check_needs_rehash(new) is False
    assert passwords.verify_password(weak, "wrong password here") == (False, None)


def test_no_stored_hash_or_garbage_never_verifies() -> None:
    assert passwords.verify_password(None, "anything at all") == (False, None)
    assert passwords.verify_password("not-a-hash", "anything at all") == (False, None)


@pytest.mark.parametrize(
    ("pw", "msg"),
    [
        ("short", "too short"),
        ("x" * 1025, "too long"),
        (" " * 20, "only spaces"),
        ("alice.example", "user name"),
    ],
)
def test_policy_refusals(pw: str, msg: str) -> None:
    with pytest.raises(UsageError, match=msg):
        passwords.check_policy(pw, username="alice.example", min_length=12)


def test_policy_accepts_a_long_passphrase_without_composition_rules() -> None:
    passwords.check_policy("all lower case words here", username="alice", min_length=12)
    with pytest.raises(UsageError):
        passwords.check_policy("eleven char", min_length=12)


def test_the_production_profile_is_argon2id_with_at_least_rfc9106_low_memory_costs() -> None:
    h = passwords._hasher
    assert (h.time_cost, h.memory_cost, h.parallelism) >= (3, 65536, 4)

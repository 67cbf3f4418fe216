"""The permission matrix, role × permission, written out independently of the code's table."""

from __future__ import annotations

import pytest

from driftmgr.security import rbac
from driftmgr.security.errors import PermissionDeniedError

READS = {
    "sources:read",
    "inventory:read",
    "scans:read",
    "jobs:read",
    "events:read",
    "schedules:read",
    "notifications:read",
    "remediation:read",
    "tokens:manage_own",
}
EXPECTED: dict[str, set[str]] = {
    "admin": set(rbac.PERMISSIONS),
    "operator": READS
    | {
        "sources:write",
        "discovery:run",
        "scans:run",
        "jobs:cancel",
        "schedules:write",
        "remediation:create",
        "remediation:execute",
    },
    "viewer": READS,
    "approver": READS | {"remediation:approve"},
}
ADMIN_ONLY = {
    "users:read",
    "users:manage",
    "tokens:manage_all",
    "audit:read",
    "audit:purge",
    "cache:clear",
    "notifications:write",
}

CASES = [(role, perm) for role in EXPECTED for perm in sorted(rbac.PERMISSIONS)]


@pytest.mark.parametrize(("role", "permission"), CASES)
def test_matrix(role: str, permission: str) -> None:
    allowed = permission in EXPECTED[role]
    assert rbac.has_permission([role], permission) is allowed
    if allowed:
        rbac.require([role], permission)
    else:
        with pytest.raises(PermissionDeniedError) as err:
            rbac.require([role], permission)
        assert err.value.permission == permission
        assert permission in str(err.value)


def test_every_role_is_in_the_expected_table_and_admin_only_rights_stay_with_admin() -> None:
    assert set(rbac.ROLES) == set(EXPECTED) == set(rbac.ROLE_DESCRIPTIONS)
    for role in ("operator", "viewer", "approver"):
        assert not (rbac.ROLES[role] & ADMIN_ONLY), role


def test_viewer_cannot_change_anything() -> None:
    writes = {p for p in rbac.PERMISSIONS if not p.endswith(":read")} - {"tokens:manage_own"}
    assert not any(rbac.has_permission(["viewer"], p) for p in writes)


def test_roles_combine_as_a_union_and_unknown_roles_grant_nothing() -> None:
    assert rbac.has_permission(["viewer", "approver"], "remediation:approve")
    assert rbac.permissions_for(["viewer", "operator"]) == rbac.ROLES["operator"]
    assert rbac.permissions_for(["root"]) == frozenset()
    assert rbac.permissions_for([]) == frozenset()


def test_an_unknown_permission_is_a_programming_error_not_a_denial() -> None:
    with pytest.raises(ValueError, match="scans:delete"):
        rbac.has_permission(["admin"], "scans:delete")


@pytest.mark.parametrize(
    ("user", "roles", "creator", "expected"),
    [
        ("ann", ("approver",), "bob", True),
        ("ann", ("approver",), "ann", False),  # never one's own plan
        ("ann", ("admin",), "ann", False),  # not even as admin
        ("ann", ("admin",), "bob", True),
        ("ann", ("operator",), "bob", False),
        ("ann", ("viewer",), "bob", False),
        ("ann", ("approver",), None, False),  # unknown creator: four eyes cannot be shown
    ],
)
def test_can_approve(user: str, roles: tuple[str, ...], creator: str | None, expected: bool) -> None:
    assert rbac.can_approve(user, roles, creator) is expected


def test_check_role_names_the_bad_role() -> None:
    from driftmgr.errors import UsageError

    with pytest.raises(UsageError, match="superuser"):
        rbac.check_role("superuser")

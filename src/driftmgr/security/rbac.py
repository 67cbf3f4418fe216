"""Roles and permissions as data: the matrix the API, the GUI and the WebSocket enforce.

A user holds any set of roles; their permissions are the union. `require` raises
`PermissionDeniedError` naming the permission; `can_approve` adds the four-eyes rule of remediation.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from driftmgr.security.errors import PermissionDeniedError

# permission → what it allows (shown by `driftmgr users roles` and the API's role listing)
PERMISSIONS: Mapping[str, str] = {
    "sources:read": "list state sources, their versions and diffs",
    "sources:write": "register, upload and remove state sources",
    "discovery:run": "start cloud discovery",
    "inventory:read": "read discovered inventory",
    "scans:run": "start drift scans",
    "scans:read": "read drift reports, items, history and trends",
    "jobs:read": "list jobs and follow their progress",
    "jobs:cancel": "cancel running or queued jobs",
    "events:read": "read and subscribe to events",
    "schedules:read": "list schedules",
    "schedules:write": "create, change and delete schedules",
    "notifications:read": "list notification channels and rules (URLs redacted)",
    "notifications:write": "create, change and delete notification channels and rules",
    "cache:clear": "clear cached queries",
    "users:read": "list users and their roles",
    "users:manage": "create, disable and change users and their roles",
    "tokens:manage_own": "create, list and revoke one's own API tokens",
    "tokens:manage_all": "list and revoke anyone's API tokens",
    "audit:read": "read, verify and export the audit log",
    "audit:purge": "purge audit records older than the retention of the audit mode",
    "remediation:read": "read remediation plans",
    "remediation:create": "create remediation plans",
    "remediation:approve": "approve or reject remediation plans of others",
    "remediation:execute": "execute approved remediation plans and roll them back",
}

_READ = frozenset(
    {
        "sources:read",
        "inventory:read",
        "scans:read",
        "jobs:read",
        "events:read",
        "schedules:read",
        "notifications:read",
        "remediation:read",
        "tokens:manage_own",  # a token carries its owner's roles, so a viewer's token only reads
    }
)

ROLES: Mapping[str, frozenset[str]] = {
    "admin": frozenset(PERMISSIONS),
    "operator": _READ
    | {
        "sources:write",
        "discovery:run",
        "scans:run",
        "jobs:cancel",
        "schedules:write",
        "remediation:create",
        "remediation:execute",
    },
    "viewer": _READ,
    "approver": _READ | {"remediation:approve"},
}

ROLE_DESCRIPTIONS: Mapping[str, str] = {
    "admin": "everything, including users, notification channels, cache and the audit log",
    "operator": "runs discovery and scans, manages state sources and schedules, creates and executes plans",
    "viewer": "reads sources, inventory, reports, jobs and schedules",
    "approver": "reads like a viewer and approves or rejects remediation plans created by others",
}


def check_role(role: str) -> str:
    from driftmgr.errors import UsageError

    if role not in ROLES:
        raise UsageError(f"unknown role (expected one of: {', '.join(ROLES)})", source=role)
    return role


def permissions_for(roles: Iterable[str]) -> frozenset[str]:
    """The union of the permissions of `roles`; unknown role names grant nothing."""
    out: set[str] = set()
    for role in roles:
        out |= ROLES.get(role, frozenset())
    return frozenset(out)


def has_permission(roles: Iterable[str], permission: str) -> bool:
    if permission not in PERMISSIONS:
        raise ValueError(f"unknown permission {permission!r}")  # a typo in a route must not pass silently
    return permission in permissions_for(roles)


def require(roles: Iterable[str], permission: str) -> None:
    """Return when one of `roles` grants `permission`; else raise PermissionDeniedError."""
    if not has_permission(roles, permission):
        raise PermissionDeniedError(f"permission denied: {permission} is required", permission=permission)


def can_approve(user: str, roles: Iterable[str], plan_creator: str | None) -> bool:
    """Four eyes: an approver (or admin) may approve or reject a plan, never one they created."""
    return has_permission(roles, "remediation:approve") and plan_creator is not None and user != plan_creator

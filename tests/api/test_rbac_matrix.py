"""Every route × every role, generated from the app's route table: a new route cannot escape it.

Each route must declare exactly one access rule (Public or Require(permission)). Anonymous callers get
401 on every Require route; a role without the permission gets 403; a role with it gets past the check.
"""

from __future__ import annotations

import re

import pytest
from fastapi.routing import APIRoute

from driftmgr.api.app import create_app
from driftmgr.api.deps import AccessRule, Public, Require
from driftmgr.api.routes import ROUTERS
from driftmgr.config import Settings
from driftmgr.security.rbac import ROLES, has_permission
from driftmgr.web.pages import router as web_router
from tests.api.conftest import Api

PUBLIC_PATHS = {"/health", "/metrics", "/api/v1/auth/login", "/api/v1/auth/logout", "/login"}


def _rules(route: APIRoute) -> list[AccessRule]:
    found: list[AccessRule] = []
    stack = list(route.dependant.dependencies)
    while stack:
        dep = stack.pop()
        if isinstance(dep.call, AccessRule):
            found.append(dep.call)
        stack.extend(dep.dependencies)
    return found


def _routes() -> list[APIRoute]:
    """Every API route: those of the routers the app includes and any added to the app directly."""
    app = create_app(Settings(data_dir="/nonexistent-never-opened"))
    found = [r for r in app.routes if isinstance(r, APIRoute)]
    for router in [*ROUTERS, web_router]:  # the GUI's pages obey the same matrix
        found += [r for r in router.routes if isinstance(r, APIRoute)]
    spec_ops = {(path, m.upper()) for path, ops in app.openapi()["paths"].items() for m in ops}
    known = {(r.path, m) for r in found for m in r.methods}
    missing = spec_ops - known
    assert not missing, f"routes the matrix cannot see: {sorted(missing)}"
    return found


ROUTES = _routes()
CASES = [(r, method) for r in ROUTES for method in sorted(r.methods)]


def test_the_matrix_covers_the_api() -> None:
    paths = {r.path for r in ROUTES}
    assert {"/health", "/metrics", "/api/v1/sources", "/api/v1/users", "/api/v1/audit/verify"} <= paths


def test_every_route_declares_exactly_one_access_rule() -> None:
    for route in ROUTES:
        rules = _rules(route)
        assert len(rules) == 1, f"{route.path} declares {len(rules)} access rules"
        if isinstance(rules[0], Public):
            assert route.path in PUBLIC_PATHS, f"{route.path} is public but not in the public list"


def _concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "x0", path)


@pytest.mark.parametrize(("route", "method"), CASES, ids=[f"{m} {r.path}" for r, m in CASES])
def test_route_by_role(api: Api, route: APIRoute, method: str) -> None:
    (rule,) = _rules(route)
    path = _concrete(route.path)
    if isinstance(rule, Public):
        r = api.client.request(method, path, json={})
        assert r.status_code not in (401, 403), r.text
        return
    assert isinstance(rule, Require) and rule.permission
    r = api.client.request(method, path, json={})
    assert r.status_code == 401, f"anonymous {method} {path}: {r.status_code}"
    assert r.json()["error"]["code"] == "unauthenticated"
    for role in ROLES:
        r = api.client.request(method, path, json={}, headers=api.as_role(role))
        if has_permission([role], rule.permission):
            assert r.status_code not in (401, 403), f"{role} {method} {path}: {r.status_code} {r.text}"
        else:
            assert r.status_code == 403, f"{role} {method} {path}: {r.status_code}"
            assert r.json()["error"]["code"] == "forbidden"

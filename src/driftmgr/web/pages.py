"""The GUI's pages: server-rendered HTML over the service layer, each behind its access rule.

Forms post with the session's CSRF token in the field `csrf_token` (read before the access rule runs);
pages show only the actions the signed-in user's roles allow, and the rule refuses the rest.
"""

from __future__ import annotations

from collections import Counter
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import case, select
from starlette.concurrency import run_in_threadpool

from driftmgr.api.deps import AccessDep, PlatformDep, Public, Require, WorkflowDep, audited, client_ip
from driftmgr.errors import StateNotFoundError, UsageError
from driftmgr.platform.db.models import ScanItem
from driftmgr.security.errors import AuthenticationError
from driftmgr.security.sessions import SESSION_COOKIE, cookie_attributes, csrf_token
from driftmgr.services.access import AccessService, Actor
from driftmgr.services.audit import AuditService
from driftmgr.services.config import ConfigService
from driftmgr.services.history import HistoryService
from driftmgr.state.backends.base import redact_url
from driftmgr.web.render import page, trend_svg


async def _read_form(request: Request) -> None:
    """Parse an HTML form once and hand its CSRF field to the access rule (runs before it)."""
    request.state.form = {}
    if request.method == "POST" and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        form = await request.form()
        request.state.form = {k: form.getlist(k) for k in form}
        token = form.get("csrf_token")
        request.state.form_csrf = token if isinstance(token, str) else None


router = APIRouter(tags=["gui"], dependencies=[Depends(_read_form)])
SEVERITY_RANK = case({"critical": 0, "high": 1, "medium": 2, "low": 3}, value=ScanItem.severity, else_=4)
SORTS: dict[str, Any] = {
    "address": ScanItem.address,
    "type": ScanItem.type,
    "status": ScanItem.status,
    "severity": SEVERITY_RANK,  # most severe first
}


def _one(request: Request, name: str) -> str:
    values: list[Any] = request.state.form.get(name) or [""]
    return str(values[0]).strip()


def ctx(request: Request, actor: Actor | None, **kw: Any) -> dict[str, Any]:
    csrf = None
    if actor is not None and actor.session:
        csrf = csrf_token(request.app.state.access.key, actor.session)
    return {"actor": actor, "csrf": csrf, "path": request.url.path, **kw}


# --- sign-in --------------------------------------------------------------------------------------


def _safe_next(target: str | None) -> str:
    return target if target and target.startswith("/") and not target.startswith("//") else "/"


@router.get("/login", response_class=HTMLResponse, dependencies=[Depends(Public())])
def login_page(request: Request, next: Annotated[str | None, Query(max_length=500)] = None) -> Response:
    return page(request, "login.html", ctx(request, None, next=_safe_next(next), error=None))


@router.post("/login", response_class=HTMLResponse, dependencies=[Depends(Public())])
async def login(request: Request, access: AccessDep) -> Response:
    username, password = _one(request, "username"), _one(request, "password")
    target = _safe_next(_one(request, "next"))
    if not username or not password:
        return page(
            request,
            "login.html",
            ctx(request, None, next=target, error="Enter your user name and password."),
            status=400,
        )
    try:
        result = await run_in_threadpool(
            access.sign_in,
            username,
            password,
            ip=client_ip(request),
            user_agent=request.headers.get("user-agent"),
            origin="gui",
        )
    except AuthenticationError as exc:
        return page(request, "login.html", ctx(request, None, next=target, error=str(exc)), status=401)
    response = RedirectResponse(target, status_code=303)
    if result.session_token:
        attrs = cookie_attributes(access.settings.session_ttl, secure=request.url.scheme == "https")
        response.set_cookie(value=result.session_token, **attrs)
    return response


@router.post("/logout")
def logout(
    request: Request, actor: Annotated[Actor, Depends(Require("scans:read"))], access: AccessDep
) -> Response:
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        access.sign_out(cookie, actor)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


# --- dashboard and scans --------------------------------------------------------------------------


@router.get("/", response_class=HTMLResponse)
def dashboard(
    request: Request, actor: Annotated[Actor, Depends(Require("scans:read"))], platform: PlatformDep
) -> Response:
    history = HistoryService(platform.db)
    latest: dict[str, Any] = {}
    for scan in history.scans(limit=500):  # newest first: the first per source is its latest
        latest.setdefault(scan.source_key, scan)
    scans = list(latest.values())
    totals = Counter[str]()
    for s in scans:
        totals.update(
            {
                "in sync": s.in_sync,
                "drifted": s.drifted,
                "missing": s.missing,
                "unmanaged": s.unmanaged,
                "unsupported": s.unsupported,
            }
        )
    by_provider, by_severity = Counter[str](), Counter[str]()
    if scans:
        with platform.db.session() as db:
            rows = db.execute(
                select(ScanItem.provider, ScanItem.severity).where(
                    ScanItem.scan_id.in_([s.id for s in scans])
                )
            ).all()
        for provider, severity in rows:
            by_provider[provider] += 1
            by_severity[severity or "none"] += 1
    coverage = sum(s.coverage for s in scans) / len(scans) if scans else None
    score = round(sum(s.score for s in scans) / len(scans)) if scans else None
    series = [
        (
            redact_url(", ".join(t.sources) or t.source_key),
            [(p.at, p.drifted + p.missing + p.unmanaged) for p in t.points],
        )
        for t in history.trends()
    ]
    return page(
        request,
        "dashboard.html",
        ctx(
            request,
            actor,
            scans=scans,
            totals=totals,
            by_provider=by_provider,
            by_severity=by_severity,
            coverage=coverage,
            score=score,
            chart=trend_svg(series),
        ),
    )


@router.get("/scans", response_class=HTMLResponse)
def scans_page(
    request: Request, actor: Annotated[Actor, Depends(Require("scans:read"))], platform: PlatformDep
) -> Response:
    scans = HistoryService(platform.db).scans(limit=100)
    sources = ConfigService(platform.settings, platform.db).list_sources() if actor.can("scans:run") else []
    jobs = request.app.state.workflow.list(kind="drift", limit=10) if actor.can("jobs:read") else []
    return page(request, "scans.html", ctx(request, actor, scans=scans, sources=sources, jobs=jobs))


@router.post("/scans")
def start_scan(
    request: Request,
    actor: Annotated[Actor, Depends(Require("scans:run"))],
    platform: PlatformDep,
    workflow: WorkflowDep,
) -> Response:
    names = [str(n) for n in request.state.form.get("sources", []) if str(n).strip()]
    if not names:
        raise UsageError("pick at least one registered state source to scan")
    config = ConfigService(platform.settings, platform.db)
    urls = [config.source_url(name) for name in names]  # unknown name → 400
    job_id = workflow.submit("drift", {"sources": urls, "provider": "aws"}, created_by=actor.username)
    audited(request, actor, "scan.start", f"job:{job_id}", {"sources": names})
    return RedirectResponse(f"/jobs/{job_id}", status_code=303)


@router.get("/jobs/{job_id}", response_class=HTMLResponse)
def job_page(
    job_id: str,
    request: Request,
    actor: Annotated[Actor, Depends(Require("jobs:read"))],
    workflow: WorkflowDep,
) -> Response:
    job = workflow.status(job_id)
    done = job.status in ("succeeded", "failed", "cancelled", "dead")
    return page(request, "job.html", ctx(request, actor, job=job, done=done))


@router.get("/scans/{scan_id}", response_class=HTMLResponse)
def scan_page(
    scan_id: str,
    request: Request,
    actor: Annotated[Actor, Depends(Require("scans:read"))],
    platform: PlatformDep,
    status: Annotated[str, Query(max_length=20)] = "",
    type: Annotated[str, Query(max_length=120)] = "",
    q: Annotated[str, Query(max_length=200)] = "",
    sort: Annotated[str, Query(max_length=20)] = "address",
) -> Response:
    from driftmgr.api.errors import ApiError
    from driftmgr.platform.db.models import Scan

    with platform.db.session() as db:
        scan = db.get(Scan, scan_id)
        if scan is None:
            raise ApiError(404, "not_found", f"no scan {scan_id!r}")
        types = sorted(set(db.scalars(select(ScanItem.type).where(ScanItem.scan_id == scan_id))))
        query = select(ScanItem).where(ScanItem.scan_id == scan_id)
        if status:
            query = query.where(ScanItem.status == status)
        if type:
            query = query.where(ScanItem.type == type)
        if q:
            like = f"%{q}%"
            query = query.where(ScanItem.address.ilike(like) | ScanItem.resource_id.ilike(like))
        column = SORTS.get(sort, ScanItem.address)
        items = list(db.scalars(query.order_by(column, ScanItem.id).limit(1000)))
        db.expunge_all()
    filters = {"status": status, "type": type, "q": q, "sort": sort}
    return page(
        request,
        "scan.html",
        ctx(request, actor, scan=scan, items=items, types=types, filters=filters, sorts=list(SORTS)),
    )


@router.get("/scans/{scan_id}/resources/{item_id}", response_class=HTMLResponse)
def resource_page(
    scan_id: str,
    item_id: int,
    request: Request,
    actor: Annotated[Actor, Depends(Require("scans:read"))],
    platform: PlatformDep,
) -> Response:
    from driftmgr.api.errors import ApiError

    with platform.db.session() as db:
        item = db.get(ScanItem, item_id)
        if item is None or item.scan_id != scan_id:
            raise ApiError(404, "not_found", f"no resource {item_id} in scan {scan_id!r}")
        db.expunge(item)
    return page(request, "resource.html", ctx(request, actor, item=item, scan_id=scan_id))


# --- sources, schedules, notifications ------------------------------------------------------------


@router.get("/sources", response_class=HTMLResponse)
def sources_page(
    request: Request, actor: Annotated[Actor, Depends(Require("sources:read"))], platform: PlatformDep
) -> Response:
    sources = ConfigService(platform.settings, platform.db).list_sources()
    return page(request, "sources.html", ctx(request, actor, sources=sources))


@router.post("/sources")
def add_source(
    request: Request, actor: Annotated[Actor, Depends(Require("sources:write"))], platform: PlatformDep
) -> Response:
    name, url = _one(request, "name"), _one(request, "url")
    if not name or not url:
        raise UsageError("give the source a name and a state URL or path")
    ConfigService(platform.settings, platform.db).add_source(name, url)
    audited(request, actor, "source.add", f"source:{name}")
    return RedirectResponse("/sources", status_code=303)


@router.get("/schedules", response_class=HTMLResponse)
def schedules_page(
    request: Request, actor: Annotated[Actor, Depends(Require("schedules:read"))], platform: PlatformDep
) -> Response:
    from driftmgr.services.schedules import ScheduleService

    schedules = ScheduleService(platform.db).list()
    writable = actor.can("schedules:write")
    sources = ConfigService(platform.settings, platform.db).list_sources() if writable else []
    return page(request, "schedules.html", ctx(request, actor, schedules=schedules, sources=sources))


@router.post("/schedules")
def add_schedule(
    request: Request, actor: Annotated[Actor, Depends(Require("schedules:write"))], platform: PlatformDep
) -> Response:
    from driftmgr.services.schedules import ScheduleService

    name, cron = _one(request, "name"), _one(request, "cron")
    names = [str(n) for n in request.state.form.get("sources", []) if str(n).strip()]
    if not name or not cron or not names:
        raise UsageError("give the schedule a name, a cron expression and at least one state source")
    config = ConfigService(platform.settings, platform.db)
    ScheduleService(platform.db).add(name, cron, [config.source_url(n) for n in names])
    audited(request, actor, "schedule.add", f"schedule:{name}", {"cron": cron, "sources": names})
    return RedirectResponse("/schedules", status_code=303)


@router.get("/notifications", response_class=HTMLResponse)
def notifications_page(
    request: Request, actor: Annotated[Actor, Depends(Require("notifications:read"))], platform: PlatformDep
) -> Response:
    from driftmgr.platform import notify

    return page(
        request, "notifications.html", ctx(request, actor, channels=notify.list_channels(platform.db))
    )


# --- users, tokens, audit -------------------------------------------------------------------------


@router.get("/users", response_class=HTMLResponse)
def users_page(
    request: Request, actor: Annotated[Actor, Depends(Require("users:read"))], access: AccessDep
) -> Response:
    from driftmgr.security.rbac import ROLE_DESCRIPTIONS

    return page(
        request, "users.html", ctx(request, actor, users=access.list_users(actor), roles=ROLE_DESCRIPTIONS)
    )


@router.post("/users")
def add_user(
    request: Request, actor: Annotated[Actor, Depends(Require("users:manage"))], access: AccessDep
) -> Response:
    username, password, role = _one(request, "username"), _one(request, "password"), _one(request, "role")
    if not username or not password or not role:
        raise UsageError("give the user a name, a password and a role")
    access.add_user(actor, username, password, [role])
    return RedirectResponse("/users", status_code=303)


@router.post("/users/{username}")
def edit_user(
    request: Request,
    username: Annotated[str, Path(max_length=120)],
    actor: Annotated[Actor, Depends(Require("users:manage"))],
    access: AccessDep,
) -> Response:
    """Set a user's roles (the checked boxes) and whether they may sign in."""
    from driftmgr.security.rbac import ROLES

    wanted = set(request.state.form.get("roles", []))
    unknown = wanted - set(ROLES)
    if unknown:
        raise UsageError(f"unknown role(s): {', '.join(sorted(unknown))}")
    current = next((u for u in access.list_users(actor) if u.username == username), None)
    if current is None:
        raise StateNotFoundError("no such user", source=username)
    have = set(current.roles)
    if wanted != have:
        access.change_roles(actor, username, grant=sorted(wanted - have), revoke=sorted(have - wanted))
    active = _one(request, "active") == "yes"
    if active != current.active:
        access.set_active(actor, username, active)
    return RedirectResponse("/users", status_code=303)


def _tokens(access: AccessService, actor: Actor) -> list[Any]:
    return access.list_tokens(actor, username="*" if actor.can("tokens:manage_all") else None)


@router.get("/tokens", response_class=HTMLResponse)
def tokens_page(
    request: Request, actor: Annotated[Actor, Depends(Require("tokens:manage_own"))], access: AccessDep
) -> Response:
    return page(request, "tokens.html", ctx(request, actor, tokens=_tokens(access, actor), created=None))


@router.post("/tokens", response_class=HTMLResponse)
def create_token(
    request: Request, actor: Annotated[Actor, Depends(Require("tokens:manage_own"))], access: AccessDep
) -> Response:
    from datetime import timedelta

    name = _one(request, "name")
    if not name:
        raise UsageError("give the token a name")
    try:
        days = int(_one(request, "days") or "90")
    except ValueError:
        raise UsageError("the lifetime is a whole number of days") from None
    if not 1 <= days <= 1826:
        raise UsageError("the lifetime is 1 to 1826 days")
    created = access.create_token(actor, name, expires_in=timedelta(days=days))
    return page(
        request,
        "tokens.html",
        ctx(request, actor, tokens=_tokens(access, actor), created=created),
        status=201,
    )


@router.post("/tokens/{token_id}/revoke")
def revoke_token(
    token_id: str,
    request: Request,
    actor: Annotated[Actor, Depends(Require("tokens:manage_own"))],
    access: AccessDep,
) -> Response:
    access.revoke_token(actor, token_id)
    return RedirectResponse("/tokens", status_code=303)


@router.get("/audit", response_class=HTMLResponse)
def audit_page(
    request: Request,
    actor: Annotated[Actor, Depends(Require("audit:read"))],
    platform: PlatformDep,
    verify: bool = False,
) -> Response:
    service = AuditService(platform.settings, platform.db)
    records = service.list(actor, limit=200)
    verification = service.verify(actor) if verify else None
    return page(request, "audit.html", ctx(request, actor, records=records, verification=verification))


# the remediation pages (web/remediation.py) add their routes to this router: one GUI, one matrix
import driftmgr.web.remediation  # noqa: E402, F401

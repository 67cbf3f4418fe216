"""Templates, the server-side trend chart, and `install(app)`: the GUI's router, static files and
HTML error pages (browsers get a page or the sign-in redirect; API clients keep the JSON errors)."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from markupsafe import Markup, escape
from starlette.exceptions import HTTPException as StarletteHTTPException

from driftmgr import errors
from driftmgr.api.errors import ApiError, status_of
from driftmgr.security.sessions import csrf_token

HERE = Path(__file__).parent
templates = Jinja2Templates(directory=str(HERE / "templates"))
API_PREFIXES = ("/api/", "/health", "/metrics", "/docs", "/static/")
TITLES = {
    401: "Sign-in needed",
    403: "Not allowed",
    404: "Not found",
    409: "Conflict",
    429: "Too many attempts",
}


def page(request: Request, name: str, context: dict[str, Any], status: int = 200) -> HTMLResponse:
    return templates.TemplateResponse(request, name, context, status_code=status)


def wants_html(request: Request) -> bool:
    path = request.url.path
    if path.startswith(API_PREFIXES):
        return False
    return "text/html" in request.headers.get("accept", "")


def error_page(request: Request, status: int, message: str) -> Response:
    if status == 401 and request.method == "GET":
        return RedirectResponse(f"/login?next={quote(request.url.path)}", status_code=303)
    actor = getattr(request.state, "actor", None)
    csrf = csrf_token(request.app.state.access.key, actor.session) if actor and actor.session else None
    ctx = {
        "status": status,
        "title": TITLES.get(status, "Error"),
        "message": message,
        "actor": actor,
        "path": request.url.path,
        "csrf": csrf,
    }
    return page(request, "error.html", ctx, status=status)


def install(app: FastAPI) -> None:
    """Add the GUI to an API app (call after `errors.install`)."""
    from driftmgr.web.pages import router

    app.include_router(router, include_in_schema=False)  # pages, not API: kept out of the OpenAPI spec
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")

    def wrap(cls: type[Exception], status_message: Callable[[Any], tuple[int, str]]) -> None:
        json_handler = app.exception_handlers[cls]

        async def handler(request: Request, exc: Any) -> Response:
            if wants_html(request):
                return error_page(request, *status_message(exc))
            response = json_handler(request, exc)
            return await response if inspect.isawaitable(response) else response

        app.exception_handlers[cls] = handler

    wrap(ApiError, lambda e: (e.status, e.message))
    wrap(errors.DriftMgrError, lambda e: (status_of(e), str(e)))
    wrap(StarletteHTTPException, lambda e: (e.status_code, str(e.detail)))


# --- the trend chart: inline SVG, no JavaScript ---------------------------------------------------

PALETTE = ("#c2410c", "#1d4ed8", "#15803d", "#7e22ce", "#a16207", "#0f766e")


def trend_svg(
    series: Sequence[tuple[str, Sequence[tuple[datetime, int]]]], width: int = 640, height: int = 220
) -> Markup:
    """Lines of out-of-sync counts over time, one per source, with axes, labels and a legend."""
    points = [p for _, pts in series for p in pts]
    if not points:
        return Markup('<p class="muted">No scans yet: the chart appears after the first scan.</p>')
    left, right, top, bottom = 44, 12, 12, 40
    t0 = min(t for t, _ in points).timestamp()
    t1 = max(t for t, _ in points).timestamp()
    vmax = max(1, max(v for _, v in points))
    span = max(t1 - t0, 1.0)
    pw, ph = width - left - right, height - top - bottom

    def xy(t: datetime, v: int) -> tuple[float, float]:
        x = left + (pw * (t.timestamp() - t0) / span if t1 > t0 else pw / 2)
        return round(x, 1), round(top + ph - ph * v / vmax, 1)

    parts = [
        f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" aria-labelledby="chart-title">',
        '<title id="chart-title">Resources out of sync per scan, by source</title>',
        f'<line x1="{left}" y1="{top + ph}" x2="{left + pw}" y2="{top + ph}" class="axis"/>',
        f'<line x1="{left}" y1="{top}" x2="{left}" y2="{top + ph}" class="axis"/>',
    ]
    for v in sorted({0, vmax // 2, vmax}):
        _, y = xy(datetime.fromtimestamp(t0), v)
        parts.append(f'<text x="{left - 6}" y="{y + 4}" text-anchor="end" class="tick">{v}</text>')
    start, end = datetime.fromtimestamp(t0), datetime.fromtimestamp(t1)
    parts.append(f'<text x="{left}" y="{top + ph + 16}" class="tick">{start:%Y-%m-%d %H:%M}</text>')
    if t1 > t0:
        parts.append(
            f'<text x="{left + pw}" y="{top + ph + 16}" text-anchor="end" class="tick">'
            f"{end:%Y-%m-%d %H:%M}</text>"
        )
    for i, (name, pts) in enumerate(series):
        colour = PALETTE[i % len(PALETTE)]
        coords = [xy(t, v) for t, v in sorted(pts)]
        line = " ".join(f"{x},{y}" for x, y in coords)
        parts.append(f'<polyline points="{line}" fill="none" stroke="{colour}" stroke-width="2"/>')
        for (x, y), (t, v) in zip(coords, sorted(pts), strict=True):
            parts.append(
                f'<circle cx="{x}" cy="{y}" r="3" fill="{colour}">'
                f"<title>{escape(name)} {t:%Y-%m-%d %H:%M}: {v}</title></circle>"
            )
        lx = left + (i % 3) * (pw // 3)
        ly = height - 6 - (i // 3) * 0
        label = escape(name if len(name) <= 32 else "…" + name[-31:])
        parts.append(
            f'<rect x="{lx}" y="{ly - 9}" width="10" height="10" fill="{colour}"/>'
            f'<text x="{lx + 14}" y="{ly}" class="legend">{label}</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - only numbers and escape()d names are interpolated

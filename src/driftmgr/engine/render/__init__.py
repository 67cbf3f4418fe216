"""Renderers of a drift report. Pure: each returns the document as text."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from driftmgr.engine.render.htmlout import render_html
from driftmgr.engine.render.jsonout import render_json
from driftmgr.engine.render.junit import render_junit
from driftmgr.engine.render.markdown import render_markdown
from driftmgr.engine.render.sarif import render_sarif
from driftmgr.engine.render.table import render_table
from driftmgr.engine.report import DriftReport

RENDERERS: dict[str, Callable[..., str]] = {
    "table": render_table,
    "json": render_json,
    "html": render_html,
    "markdown": render_markdown,
    "sarif": render_sarif,
    "junit": render_junit,
}
FORMATS = tuple(RENDERERS)


def render(report: DriftReport, fmt: str, **options: Any) -> str:
    """Render `report` in `fmt` (one of FORMATS); options go to that renderer."""
    try:
        renderer = RENDERERS[fmt]
    except KeyError:
        raise ValueError(f"unknown report format {fmt!r} (one of {', '.join(FORMATS)})") from None
    return renderer(report, **options)


__all__ = [
    "FORMATS",
    "RENDERERS",
    "render",
    "render_html",
    "render_json",
    "render_junit",
    "render_markdown",
    "render_sarif",
    "render_table",
]

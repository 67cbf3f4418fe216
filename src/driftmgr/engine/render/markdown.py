"""`--format markdown`: a pull-request comment (GitHub-flavoured Markdown, size-bounded)."""

from __future__ import annotations

from driftmgr.engine.render.common import STATUS_TITLES, format_value, grouped, label, location
from driftmgr.engine.report import DriftReport
from driftmgr.models import DriftItem

_SEVERITY_MARKS = {"critical": "🔴 critical", "high": "🟠 high", "medium": "🟡 medium", "low": "🔵 low"}


def code(text: str) -> str:
    """An inline code span safe inside a table cell (pipes escaped, no newlines)."""
    text = text.replace("\r", " ").replace("\n", " ").replace("|", "\\|")
    if "`" in text:
        return f"`` {text} ``"
    return f"`{text}`"


def text(value: str) -> str:
    """Plain text safe in a table cell: Markdown and HTML specials escaped."""
    out = value.replace("\r", " ").replace("\n", " ")
    for ch in "\\`*_{}[]()#+!|~":
        out = out.replace(ch, "\\" + ch)
    return out.replace("<", "&lt;").replace(">", "&gt;")


def _detail(item: DriftItem, limit: int) -> str:
    if item.status == "drifted":
        return "<br>".join(
            f"{code(c.path)}: {code(format_value(c.expected, limit))} → {code(format_value(c.actual, limit))}"
            for c in item.changes
        )
    return text(item.note or item.source or "")


def render_markdown(report: DriftReport, *, max_items: int = 100, value_limit: int = 80) -> str:
    """Summary first, then one table per status that needs attention (at most `max_items` rows each)."""
    s = report.summary
    verdict = "⚠️ Drift detected" if report.has_drift else "✅ No drift"
    lines = [
        f"## DriftMgr: {verdict}",
        "",
        f"**{s.drifted} drifted · {s.missing} missing · {s.unmanaged} unmanaged** · {s.in_sync} in sync · "
        f"{s.ignored} ignored · {s.unsupported} unsupported · {s.defaults} defaults",
        "",
        f"Coverage **{s.coverage * 100:.1f}%** · score **{s.score}/100**",
    ]
    if report.partial:
        lines += ["", f"> [!WARNING]\n> Partial result: {len(report.errors)} discovery error(s)."]
        for e in report.errors[:max_items]:
            where = " ".join(p for p in (e.provider, e.service, e.region or "") if p)
            lines.append(f"> - {text(where)}: {text(e.kind)}, {text(e.message)}")
    for status, items in grouped(report, ["drifted", "missing", "unmanaged", "unsupported"]):
        lines += [
            "",
            f"### {STATUS_TITLES[status]} ({len(items)})",
            "",
            "| Resource | Severity | Where | " + ("Changes |" if status == "drifted" else "Details |"),
            "|---|---|---|---|",
        ]
        for item in items[:max_items]:
            sev = _SEVERITY_MARKS.get(item.severity or "", "")
            lines.append(
                f"| {code(label(item))} | {sev} | {text(location(item))} | {_detail(item, value_limit)} |"
            )
        if len(items) > max_items:
            lines.append(f"| … and {len(items) - max_items} more | | | |")
    if report.sources:
        lines += ["", "<details><summary>Sources</summary>", ""]
        for src in report.sources:
            serial = "" if src.serial is None else f" (serial {src.serial})"
            lines.append(f"- {code(src.state)}{serial}")
        lines += ["", "</details>"]
    lines += ["", f"<sub>driftmgr report v{report.version} · {text(report.generated_at)}</sub>", ""]
    return "\n".join(lines)

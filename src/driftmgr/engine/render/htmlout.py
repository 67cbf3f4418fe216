"""`--format html`: one self-contained page (inline CSS, no script, no external asset)."""

from __future__ import annotations

from html import escape

from driftmgr.engine.render.common import (
    STATUS_HELP,
    STATUS_TITLES,
    format_value,
    grouped,
    headline,
    label,
    location,
)
from driftmgr.engine.report import DriftReport
from driftmgr.models import DriftItem

_CSS = """
:root { --fg:#1f2328; --muted:#59636e; --line:#d1d9e0; --bg:#ffffff; --soft:#f6f8fa;
        --critical:#a40e26; --high:#d1242f; --medium:#9a6700; --low:#0969da; --ok:#1a7f37; }
* { box-sizing: border-box; }
body { margin: 0 auto; max-width: 1200px; padding: 24px; color: var(--fg); background: var(--bg);
       font: 14px/1.5 -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; }
h1 { font-size: 22px; margin: 0 0 4px; } h2 { font-size: 18px; margin: 28px 0 8px; }
.muted { color: var(--muted); }
.cards { display: flex; flex-wrap: wrap; gap: 8px; margin: 16px 0; }
.card { border: 1px solid var(--line); border-radius: 6px; padding: 8px 14px; min-width: 110px;
        background: var(--soft); }
.card b { display: block; font-size: 20px; }
table { border-collapse: collapse; width: 100%; }
th, td { border: 1px solid var(--line); padding: 6px 8px; text-align: left; vertical-align: top; }
th { background: var(--soft); }
code { font: 12px/1.4 ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; white-space: pre-wrap;
       word-break: break-all; }
ul.changes { margin: 0; padding-left: 18px; }
.sev { font-weight: 600; text-transform: uppercase; font-size: 11px; }
.sev-critical { color: var(--critical); } .sev-high { color: var(--high); }
.sev-medium { color: var(--medium); } .sev-low { color: var(--low); }
.ok { color: var(--ok); } .bad { color: var(--high); }
details summary { cursor: pointer; }
"""


def _e(text: object) -> str:
    return escape(str(text), quote=True)


def _row(item: DriftItem) -> str:
    sev = item.severity or ""
    if item.status == "drifted":
        parts = [
            f"<li><code>{_e(c.path)}</code>: <code>{_e(format_value(c.expected, None))}</code> → "
            f"<code>{_e(format_value(c.actual, None))}</code> "
            f'<span class="sev sev-{_e(c.severity)}">{_e(c.severity)}</span></li>'
            for c in item.changes
        ]
        detail = f'<ul class="changes">{"".join(parts)}</ul>'
    else:
        detail = _e(item.note or "")
    return (
        "<tr>"
        f"<td><code>{_e(label(item))}</code></td>"
        f"<td><code>{_e(item.id or '')}</code></td>"
        f'<td><span class="sev sev-{_e(sev)}">{_e(sev)}</span></td>'
        f"<td>{_e(location(item))}</td>"
        f"<td>{_e(item.source or '')}</td>"
        f"<td>{detail}</td>"
        "</tr>"
    )


def render_html(report: DriftReport, *, title: str = "DriftMgr drift report") -> str:
    s = report.summary
    out: list[str] = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{_e(title)}</title><style>{_CSS}</style></head><body>",
        f"<h1>{_e(title)}</h1>",
        f'<p class="{"bad" if report.has_drift else "ok"}">{_e(headline(report))}</p>',
        f'<p class="muted">Generated {_e(report.generated_at)} in {_e(report.duration_s)} s '
        f"· report version {_e(report.version)}</p>",
        '<div class="cards">',
    ]
    cards = [
        ("Drifted", s.drifted),
        ("Missing", s.missing),
        ("Unmanaged", s.unmanaged),
        ("In sync", s.in_sync),
        ("Ignored", s.ignored),
        ("Unsupported", s.unsupported),
        ("Defaults", s.defaults),
        ("Coverage", f"{s.coverage * 100:.1f}%"),
        ("Score", f"{s.score}/100"),
    ]
    out += [f'<div class="card"><b>{_e(v)}</b>{_e(k)}</div>' for k, v in cards]
    out.append("</div>")
    if report.sources:
        out.append("<h2>Sources</h2><table><tr><th>State</th><th>Serial</th><th>Lineage</th></tr>")
        for src in report.sources:
            serial = "" if src.serial is None else src.serial
            out.append(
                f"<tr><td><code>{_e(src.state)}</code></td><td>{_e(serial)}</td>"
                f"<td><code>{_e(src.lineage or '')}</code></td></tr>"
            )
        out.append("</table>")
    if report.errors:
        out.append('<h2 class="bad">Discovery errors (the result is partial)</h2>')
        out.append(
            "<table><tr><th>Provider</th><th>Service</th><th>Region</th><th>Kind</th><th>Message</th></tr>"
        )
        for e in report.errors:
            out.append(
                f"<tr><td>{_e(e.provider)}</td><td>{_e(e.service)}</td><td>{_e(e.region or '')}</td>"
                f"<td>{_e(e.kind)}</td><td>{_e(e.message)}</td></tr>"
            )
        out.append("</table>")
    header = (
        "<tr><th>Resource</th><th>Id</th><th>Severity</th><th>Where</th><th>Source</th>"
        "<th>Changes / note</th></tr>"
    )
    for status, items in grouped(report):
        muted = f'<span class="muted">— {_e(STATUS_HELP[status])}</span>'
        heading = f"{_e(STATUS_TITLES[status])} ({len(items)}) {muted}"
        rows = "".join(_row(i) for i in items)
        if status == "in_sync":
            out.append(
                f'<h2 id="{status}">{heading}</h2><details><summary>Show {len(items)} resources</summary>'
                f"<table>{header}{rows}</table></details>"
            )
        else:
            out.append(f'<h2 id="{status}">{heading}</h2><table>{header}{rows}</table>')
    out.append("</body></html>\n")
    return "\n".join(out)

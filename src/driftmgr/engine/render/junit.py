"""`--format junit`: JUnit XML for CI test reports.

One testcase per resource (classname = Terraform type, name = address or `type.id`): drifted,
missing and unmanaged resources fail, ignored and unsupported ones are skipped, in-sync ones
pass. Each discovery error is a testcase with an `<error>`.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from driftmgr.engine.render.common import format_change, label
from driftmgr.engine.report import DriftReport
from driftmgr.models import DriftItem

# Characters XML 1.0 cannot carry at all.
_INVALID_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _clean(text: str) -> str:
    return _INVALID_XML.sub("\ufffd", text)


def _failure(item: DriftItem) -> tuple[str, str]:
    sev = f" (severity {item.severity})" if item.severity else ""
    if item.status == "drifted":
        n = len(item.changes)
        return (
            f"{n} attribute{'s' if n != 1 else ''} drifted{sev}",
            "\n".join(format_change(c, None) for c in item.changes),
        )
    if item.status == "missing":
        return f"in the state but missing from the cloud{sev}", f"source: {item.source or ''}"
    return (
        f"exists in the cloud but in no state{sev}",
        f"{item.type} {item.id} in {item.region or ''}".strip(),
    )


def render_junit(report: DriftReport, *, suite_name: str = "driftmgr drift") -> str:
    s = report.summary
    failures = s.drifted + s.missing + s.unmanaged
    skipped = s.ignored + s.unsupported
    n_errors = len(report.errors)
    tests = len(report.resources) + n_errors
    common = {
        "tests": str(tests),
        "failures": str(failures),
        "errors": str(n_errors),
        "skipped": str(skipped),
        "time": f"{report.duration_s:.3f}",
    }
    root = ET.Element("testsuites", {"name": "driftmgr", **common})
    suite = ET.SubElement(root, "testsuite", {"name": suite_name, "timestamp": report.generated_at, **common})
    props = ET.SubElement(suite, "properties")
    for key in ("coverage", "score", "defaults"):
        ET.SubElement(props, "property", {"name": key, "value": str(getattr(s, key))})
    for src in report.sources:
        ET.SubElement(props, "property", {"name": "source", "value": _clean(src.state)})
    for item in report.resources:
        case = ET.SubElement(
            suite, "testcase", {"classname": _clean(item.type), "name": _clean(label(item)), "time": "0"}
        )
        if item.status in ("drifted", "missing", "unmanaged"):
            message, body = _failure(item)
            fail = ET.SubElement(case, "failure", {"type": item.status, "message": _clean(message)})
            fail.text = _clean(body)
        elif item.status in ("ignored", "unsupported"):
            why = item.note or (
                "resource type not supported yet" if item.status == "unsupported" else "ignored"
            )
            ET.SubElement(case, "skipped", {"message": _clean(f"{item.status}: {why}")})
    for e in report.errors:
        name = " ".join(p for p in (e.provider, e.service, e.type or "", e.region or "") if p)
        case = ET.SubElement(suite, "testcase", {"classname": "discovery", "name": _clean(name), "time": "0"})
        err = ET.SubElement(case, "error", {"type": e.kind, "message": _clean(e.message)})
        err.text = _clean(e.message)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"

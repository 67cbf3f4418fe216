"""`--format json`: the versioned report document (docs/report-schema.json)."""

from __future__ import annotations

import orjson

from driftmgr.engine.report import DriftReport


def render_json(report: DriftReport, *, indent: bool = True) -> str:
    option = orjson.OPT_NON_STR_KEYS | (orjson.OPT_INDENT_2 if indent else 0)
    return orjson.dumps(report.to_dict(), default=str, option=option).decode() + "\n"

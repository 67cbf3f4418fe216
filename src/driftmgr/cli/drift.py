"""`driftmgr drift detect` and `driftmgr discover`."""

from __future__ import annotations

import enum
from typing import Annotated

import orjson
import typer

from driftmgr.cli.context import Env, ExitStatus
from driftmgr.cli.progress import progress_bar

drift_app = typer.Typer(help="Compare Terraform state with what really runs.", no_args_is_help=True)


class ReportFormat(str, enum.Enum):
    table = "table"
    json = "json"
    html = "html"
    markdown = "markdown"
    sarif = "sarif"
    junit = "junit"


class InventoryFormat(str, enum.Enum):
    table = "table"
    json = "json"


ProviderOpt = Annotated[
    str, typer.Option("--provider", "-p", help="aws (azure, gcp, digitalocean, kubernetes: planned)")
]
RegionOpt = Annotated[
    list[str] | None, typer.Option("--region", "-r", help="Region to read (repeatable), or 'all'.")
]
OutputOpt = Annotated[str | None, typer.Option("--output", "-o", help="Write to FILE instead of stdout.")]


@drift_app.command("detect")
def detect(
    ctx: typer.Context,
    state: Annotated[
        list[str], typer.Option("--state", "-s", help="State SRC (path, dir, glob or URL); repeatable.")
    ],
    provider: ProviderOpt = "aws",
    region: RegionOpt = None,
    format: Annotated[ReportFormat, typer.Option("--format", "-f")] = ReportFormat.table,
    output: OutputOpt = None,
    driftignore: Annotated[
        str | None, typer.Option(help="driftctl-style ignore file (default ./.driftignore).")
    ] = None,
    policy: Annotated[str | None, typer.Option(help="YAML policy: ignore rules and severities.")] = None,
    filter: Annotated[
        str | None, typer.Option("--filter", help="JMESPath over {type, id, attributes}.")
    ] = None,
    type_: Annotated[
        list[str] | None,
        typer.Option("--type", "-t", help="Only these Terraform types (discovery and report)."),
    ] = None,
    allow_partial: Annotated[
        bool, typer.Option("--allow-partial", help="Exit by drift even when a region or service failed.")
    ] = False,
    no_store: Annotated[
        bool, typer.Option("--no-store", help="Do not store this scan in the history database.")
    ] = False,
) -> int:
    """Find drifted, missing and unmanaged resources. Exit 0 in sync, 2 drift found, 1 error.

    The scan is stored in the history (DRIFTMGR_DATABASE_URL, else SQLite in DRIFTMGR_DATA_DIR)
    after the report is written; if storing fails the report stays written and the exit code is 1.

    Example: driftmgr drift detect --state s3://tf/prod.tfstate --region us-east-1 --format json
    """
    import contextlib

    from driftmgr.engine.render import render
    from driftmgr.engine.report import DriftReport
    from driftmgr.services.drift import DetectOptions, DriftService

    env: Env = ctx.obj
    opts = DetectOptions(
        provider=provider, regions=region, driftignore=driftignore, policy=policy, filter=filter, types=type_
    )

    def deliver(report: DriftReport) -> None:
        with env.output(output) as sink:
            text = render(report, format.value)
            sink.write(text.encode() if isinstance(text, str) else text)
        for e in report.errors:
            env.warn(f"{e.provider} {e.service} {e.region or 'global'}: {e.kind}: {e.message}")

    if no_store:  # the database layer is not even imported: a quick scan stays quick
        with progress_bar("discovering") as progress:
            report = DriftService().detect(state, opts, progress)
        deliver(report)
    else:
        from driftmgr.platform.runtime import one_shot_events
        from driftmgr.services.history import detect_and_store, open_history

        settings = env.settings
        db = open_history(settings)  # a bad database fails before the scan
        try:
            with contextlib.ExitStack() as bar, one_shot_events(settings, db) as events:
                # events (and notifications) of the scan, as a worker's would be
                progress = bar.enter_context(progress_bar("discovering"))

                def close_bar_and_deliver(report: DriftReport) -> None:
                    bar.close()  # the progress bar is gone before the report is written
                    deliver(report)

                report = detect_and_store(
                    state, opts, db, progress=progress, deliver=close_bar_and_deliver, events=events
                ).report
        finally:
            db.dispose()
    if report.errors and not allow_partial:
        print(
            f"error: discovery was partial ({len(report.errors)} failure(s)); the report is incomplete "
            "(use --allow-partial to accept it)",
            file=env.stderr,
        )
        return ExitStatus.ERROR
    return ExitStatus.CHANGES if report.has_drift else ExitStatus.OK


def discover(
    ctx: typer.Context,
    provider: ProviderOpt = "aws",
    region: RegionOpt = None,
    type_: Annotated[
        list[str] | None, typer.Option("--type", "-t", help="Only these Terraform types.")
    ] = None,
    format: Annotated[InventoryFormat, typer.Option("--format", "-f")] = InventoryFormat.table,
    output: OutputOpt = None,
    allow_partial: Annotated[bool, typer.Option("--allow-partial")] = False,
) -> int:
    """List what really runs, in Terraform's resource types and attribute names.

    Example: driftmgr discover --provider aws --region eu-west-1 --type aws_vpc --format json
    """
    from driftmgr.services.discovery import DiscoveryService

    env: Env = ctx.obj
    with progress_bar("discovering") as progress:
        result = DiscoveryService().discover(provider, regions=region, types=type_, progress=progress)
    with env.output(output) as sink:
        if format is InventoryFormat.json:
            doc = {
                "resources": [
                    {
                        "type": r.type,
                        "id": r.id,
                        "provider": r.provider,
                        "account": r.account,
                        "region": r.region,
                        "default": r.default,
                        "attributes": r.attributes,
                    }
                    for r in result.resources
                ],
                "errors": [
                    {
                        "provider": e.provider,
                        "service": e.service,
                        "region": e.region,
                        "kind": e.kind,
                        "message": e.message,
                        "type": e.type,
                    }
                    for e in result.errors
                ],
            }
            sink.write(orjson.dumps(doc, option=orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS) + b"\n")
        else:
            from io import StringIO

            from rich.console import Console
            from rich.table import Table

            table = Table()
            for col in ("TYPE", "ID", "REGION", "NOTE"):
                table.add_column(col, overflow="fold")
            for r in result.resources:
                table.add_row(r.type, r.id, r.region or "global", r.default_reason or "")
            buf = StringIO()
            Console(file=buf, width=200).print(table)
            buf.write(f"{len(result.resources)} resource(s), {len(result.errors)} error(s)\n")
            sink.write(buf.getvalue().encode())
    for err in result.errors:
        env.warn(f"{err.provider} {err.service} {err.region or 'global'}: {err.kind}: {err.message}")
    if result.errors and not allow_partial:
        print(f"error: discovery was partial ({len(result.errors)} failure(s))", file=env.stderr)
        return ExitStatus.ERROR
    return ExitStatus.OK


class HistoryFormat(str, enum.Enum):
    table = "table"
    json = "json"


SourceOpt = Annotated[
    str | None, typer.Option("--source", help="Only scans given this state SRC (as passed to detect).")
]


@drift_app.command("history")
def history(
    ctx: typer.Context,
    source: SourceOpt = None,
    since: Annotated[
        str | None, typer.Option("--since", help="From this date/time (UTC) or span back (7d, 12h).")
    ] = None,
    until: Annotated[str | None, typer.Option("--until", help="Up to this date/time (UTC).")] = None,
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, help="At most N scans.")] = 50,
    format: Annotated[HistoryFormat, typer.Option("--format", "-f")] = HistoryFormat.table,
) -> int:
    """List stored drift scans, newest first.

    Example: driftmgr drift history --source s3://tf/prod.tfstate --since 7d --format json
    """
    from driftmgr.cli.history import history_table
    from driftmgr.cli.render import dump_json
    from driftmgr.config import load_settings
    from driftmgr.services.history import HistoryService, open_history, parse_since

    env: Env = ctx.obj
    start = parse_since(since) if since else None
    end = parse_since(until) if until else None
    db = open_history(load_settings())
    try:
        scans = HistoryService(db).scans(source=source, since=start, until=end, limit=limit)
    finally:
        db.dispose()
    if format is HistoryFormat.json:
        env.stdout.write(dump_json({"scans": [s.to_dict() for s in scans]}).decode())
    else:
        env.stdout.write(history_table(scans))
    return ExitStatus.OK


@drift_app.command("trends")
def trends(
    ctx: typer.Context,
    source: SourceOpt = None,
    days: Annotated[int, typer.Option("--days", min=1, help="The window: the last N days.")] = 30,
    bucket: Annotated[
        str, typer.Option("--bucket", help="scan (every scan) or day (the last scan of each UTC day).")
    ] = "scan",
    format: Annotated[HistoryFormat, typer.Option("--format", "-f")] = HistoryFormat.table,
) -> int:
    """Drifted/missing/unmanaged over time per source, each drift's first and resolved times, MTTD, MTTR.

    Example: driftmgr drift trends --source s3://tf/prod.tfstate --days 14 --bucket day
    """
    from datetime import UTC, datetime, timedelta

    from driftmgr.cli.history import trends_text
    from driftmgr.cli.render import dump_json
    from driftmgr.config import load_settings
    from driftmgr.errors import UsageError
    from driftmgr.services.history import HistoryService, open_history

    env: Env = ctx.obj
    if bucket not in ("scan", "day"):
        raise UsageError(f"--bucket must be scan or day, got {bucket!r}")
    now = datetime.now(UTC)
    db = open_history(load_settings())
    try:
        series = HistoryService(db).trends(
            source=source,
            since=now - timedelta(days=days),
            until=now,
            bucket="day" if bucket == "day" else "scan",
        )
    finally:
        db.dispose()
    if format is HistoryFormat.json:
        env.stdout.write(dump_json({"window_days": days, "sources": [t.to_dict() for t in series]}).decode())
    else:
        env.stdout.write(trends_text(series))
    return ExitStatus.OK

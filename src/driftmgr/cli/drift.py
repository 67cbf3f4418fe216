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
) -> int:
    """Find drifted, missing and unmanaged resources. Exit 0 in sync, 2 drift found, 1 error.

    Example: driftmgr drift detect --state s3://tf/prod.tfstate --region us-east-1 --format json
    """
    from driftmgr.engine.render import render
    from driftmgr.services.drift import DetectOptions, DriftService

    env: Env = ctx.obj
    opts = DetectOptions(
        provider=provider, regions=region, driftignore=driftignore, policy=policy, filter=filter, types=type_
    )
    with progress_bar("discovering") as progress:
        report = DriftService().detect(state, opts, progress)
    with env.output(output) as sink:
        text = render(report, format.value)
        sink.write(text.encode() if isinstance(text, str) else text)
    for err in report.errors:
        env.warn(f"{err.provider} {err.service} {err.region or 'global'}: {err.kind}: {err.message}")
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

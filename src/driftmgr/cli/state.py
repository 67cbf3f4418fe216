"""`driftmgr state ...`: read, analyse and move Terraform state."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

import typer

from driftmgr.cli.context import Env, ExitStatus
from driftmgr.cli.render import Format, write_json_blocks
from driftmgr.models import StateInstance
from driftmgr.services.state import StateService, expand_sources

state_app = typer.Typer(help="Read, analyse and move Terraform/OpenTofu state.", no_args_is_help=True)

StateOpt = Annotated[
    list[str],
    typer.Option(
        "--state",
        "-s",
        help=(
            "State SRC: a path, directory, glob or URL "
            "(s3://, azurerm://, gs://, http(s)://, tfc://, pg://). Repeatable."
        ),
    ),
]
FormatOpt = Annotated[Format, typer.Option("--format", "-f", help="Output format.")]
OutputOpt = Annotated[str | None, typer.Option("--output", "-o", help="Write to FILE instead of stdout.")]


@state_app.command("list")
def list_(
    ctx: typer.Context,
    state: StateOpt,
    format: FormatOpt = Format.table,
    output: OutputOpt = None,
    mode: Annotated[str, typer.Option(help="managed, data or all")] = "all",
    type_: Annotated[
        list[str] | None, typer.Option("--type", "-t", help="Only these resource types.")
    ] = None,
) -> int:
    """List every resource instance in one or more states.

    Example: driftmgr state list --state terraform.tfstate --format json
    """
    env: Env = ctx.obj
    if mode not in ("managed", "data", "all"):
        from driftmgr.errors import UsageError

        raise UsageError(f"--mode must be managed, data or all, got {mode!r}")
    types = set(type_ or [])
    service = StateService()
    sources = expand_sources(state)

    def records() -> Iterator[StateInstance]:
        for src in sources:
            with service.open_reader(src) as reader:
                for inst in reader.iter_instances():
                    if mode != "all" and inst.mode != mode:
                        continue
                    if types and inst.type not in types:
                        continue
                    yield inst
                for w in reader.header().warnings:
                    env.warn(f"{reader.source}: {w}")

    with env.output(output) as sink:
        if format is Format.json:
            import orjson

            def convert(inst: StateInstance) -> bytes | None:
                if (mode != "all" and inst.mode != mode) or (types and inst.type not in types):
                    return None
                return orjson.dumps(inst.list_record())

            def serialized() -> Iterator[bytes]:
                for src in sources:
                    yield from service.iter_converted(src, convert)

            write_json_blocks(sink, "resources", serialized())
        else:
            from rich.table import Table

            table = Table(title=None, show_lines=False)
            for col in ("ADDRESS", "ID", "PROVIDER", "SOURCE"):
                table.add_column(col, overflow="fold")
            n = 0
            for inst in records():
                suffix = f" (deposed {inst.deposed})" if inst.deposed else ""
                table.add_row(inst.address + suffix, inst.id or "", inst.provider_name, inst.source)
                n += 1
            from io import StringIO

            from rich.console import Console

            buf = StringIO()
            Console(file=buf, width=200, soft_wrap=False).print(table)
            buf.write(f"{n} instance(s)\n")
            sink.write(buf.getvalue().encode())
    return ExitStatus.OK

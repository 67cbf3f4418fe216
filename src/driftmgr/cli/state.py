"""`driftmgr state ...`: read, analyse and move Terraform state."""

from __future__ import annotations

import dataclasses
import shutil
import sys
from collections.abc import Iterator
from io import StringIO
from pathlib import Path
from typing import Annotated, Any

import orjson
import typer
from rich.console import Console
from rich.table import Table

from driftmgr.cli.context import Env, ExitStatus
from driftmgr.cli.render import Format, GraphFormat, dump_json, write_json_blocks
from driftmgr.errors import StateError, StateNotFoundError, UsageError
from driftmgr.models import StateHeader, StateInstance
from driftmgr.services.state import StateService, expand_sources
from driftmgr.state.analysis import StateDiff, StateSummary
from driftmgr.state.analysis.show import flatten_attributes

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
                    yield from service.iter_converted(src, convert, env.warn)

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


# --- analysis and moves ------------------------------------------------------------------------

OneStateOpt = Annotated[
    str,
    typer.Option(
        "--state",
        "-s",
        help="State SRC naming one state: a path or URL (s3://, azurerm://, gs://, http(s)://, tfc://, pg://).",
    ),
]
GraphFormatOpt = Annotated[GraphFormat, typer.Option("--format", "-f", help="Output format.")]
ForceOpt = Annotated[
    bool, typer.Option("--force", help="Overwrite a destination of another lineage or a higher serial.")
]


def _render(*renderables: Any) -> bytes:
    """Rich renderables as plain text (no colour codes), as `state list` prints its table."""
    buf = StringIO()
    console = Console(file=buf, width=200, soft_wrap=False, highlight=False, color_system=None)
    for r in renderables:
        console.print(r)
    return buf.getvalue().encode()


def _table(*columns: str, title: str | None = None) -> Table:
    table = Table(title=title, title_justify="left", show_lines=False)
    for col in columns:
        table.add_column(col, overflow="fold")
    return table


def _short(value: Any, limit: int = 80) -> str:
    try:
        text = value if isinstance(value, str) else orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()
    except orjson.JSONEncodeError:
        text = "(nested too deeply to print)"
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _counts_table(title: str, label: str, counts: dict[str, int]) -> Table:
    table = _table(label, "COUNT", title=title)
    for key, n in counts.items():
        table.add_row(key, str(n))
    return table


@state_app.command("show")
def show(
    ctx: typer.Context,
    state: OneStateOpt,
    format: FormatOpt = Format.table,
    output: OutputOpt = None,
    address: Annotated[
        str | None,
        typer.Option(
            "--address", "-a", help="Show one instance's or resource's attributes (sensitive masked)."
        ),
    ] = None,
) -> int:
    """Summarise a state: counts by type, provider and module, header, outputs (sensitive values masked).

    \b
    Example: driftmgr state show --state terraform.tfstate --format json
    """
    env: Env = ctx.obj
    service = StateService()
    if address is not None:
        found = service.show_instances(state, address)
        with env.output(output) as sink:
            if format is Format.json:
                try:
                    sink.write(dump_json({"instances": found}))
                except orjson.JSONEncodeError:
                    raise StateError("attributes nested too deeply to print as JSON", source=state) from None
            else:
                sink.write(_render_instances(found))
        return ExitStatus.OK
    summary = service.show(state)
    for w in summary.warnings:
        env.warn(f"{summary.source}: {w}")
    with env.output(output) as sink:
        sink.write(dump_json(summary.to_json()) if format is Format.json else _render_summary(summary))
    return ExitStatus.OK


def _render_summary(s: StateSummary) -> bytes:
    version = f"{s.version} (upgraded from {s.upgraded_from})" if s.upgraded_from else str(s.version)
    head = _table("FIELD", "VALUE", title="State")
    for key, value in (
        ("source", s.source),
        ("format version", version),
        ("terraform version", s.terraform_version or "-"),
        ("serial", "-" if s.serial is None else str(s.serial)),
        ("lineage", s.lineage or "-"),
        ("resources", str(s.resources)),
        ("instances", str(s.instances)),
        ("managed", str(s.managed)),
        ("data", str(s.data)),
        ("deposed", str(s.deposed)),
        ("tainted", str(s.tainted)),
    ):
        head.add_row(key, value)
    parts: list[Any] = [
        head,
        _counts_table("By type", "TYPE", s.by_type),
        _counts_table("By provider", "PROVIDER", s.by_provider),
        _counts_table("By module", "MODULE", s.by_module),
    ]
    outputs = _table("NAME", "TYPE", "VALUE", title="Outputs")
    for o in s.outputs:
        outputs.add_row(o.name, _short(o.type, 40) if o.type is not None else "", _short(o.value))
    parts.append(outputs if s.outputs else "Outputs: none")
    if s.checks.total:
        by_status = ", ".join(f"{k} {v}" for k, v in s.checks.by_status.items())
        parts.append(f"Checks: {s.checks.total} ({by_status})")
        for f in s.checks.failing:
            parts.append(f"  {f['status']}: {f['config_addr']}")
            for obj in f["objects"]:
                messages = "; ".join(obj["failure_messages"])
                line = f"    {obj['object_addr']}: {obj['status']}"
                parts.append(line + (f": {messages}" if messages else ""))
    else:
        parts.append("Checks: none")
    return _render(*parts)


def _render_instances(found: list[dict[str, Any]]) -> bytes:
    parts: list[Any] = []
    for rec in found:
        title = f"# {rec['address']}" + (f" (deposed {rec['deposed']})" if rec["deposed"] else "")
        if rec["status"]:
            title += f" ({rec['status']})"
        table = _table("ATTRIBUTE", "VALUE", title=title)
        for path, value in flatten_attributes(rec["attributes"]):
            table.add_row(path, _short(value, 120))
        parts.append(table)
    return _render(*parts)


@state_app.command("graph")
def graph(
    ctx: typer.Context,
    state: OneStateOpt,
    format: GraphFormatOpt = GraphFormat.dot,
    output: OutputOpt = None,
    modules: Annotated[
        bool, typer.Option("--modules", help="Draw module instances as nested clusters.")
    ] = False,
) -> int:
    """Dependencies between resource instances, as Graphviz DOT or JSON {nodes, edges}.

    An edge A -> B means A depends on B. Cycles and dependencies that name nothing in the state are
    reported on stderr (and in the JSON).

    \b
    Example: driftmgr state graph --state terraform.tfstate | dot -Tsvg > graph.svg
    """
    env: Env = ctx.obj
    g = StateService().graph(state)
    for cycle in g.cycles:
        env.warn(f"{g.source}: dependency cycle: {' -> '.join([*cycle, cycle[0]])}")
    if g.unresolved:
        env.warn(f"{g.source}: {len(g.unresolved)} dependency reference(s) name no instance in the state")
    with env.output(output) as sink:
        if format is GraphFormat.json:
            sink.write(dump_json(g.to_json()))
        else:
            sink.write(g.to_dot(modules=modules).encode())
    return ExitStatus.OK


@state_app.command("diff")
def diff(
    ctx: typer.Context,
    a: Annotated[str, typer.Argument(help="State A (before): a path or URL.")],
    b: Annotated[str, typer.Argument(help="State B (after): a path or URL.")],
    format: FormatOpt = Format.table,
    output: OutputOpt = None,
) -> int:
    """Instances added, removed and changed from state A to state B, with changed attribute paths.

    Exit code 0 when the states hold the same instances and outputs, 2 when they differ, 1 on error.

    \b
    Example: driftmgr state diff old.tfstate s3://acme-tfstate/prod/terraform.tfstate
    """
    env: Env = ctx.obj
    d = StateService().diff(a, b)
    for w in d.warnings:
        env.warn(w)
    with env.output(output) as sink:
        sink.write(dump_json(d.to_json()) if format is Format.json else _render_diff(d))
    return ExitStatus.OK if d.identical else ExitStatus.CHANGES


def _render_diff(d: StateDiff) -> bytes:
    def side(label: str, h: StateHeader) -> str:
        serial = h.serial if h.serial is not None else "-"
        return f"{label}: {h.source} (serial {serial}, lineage {h.lineage or '-'})"

    parts: list[Any] = [side("A", d.a), side("B", d.b)]
    if d.identical:
        parts.append("No differences.")
        return _render(*parts)
    table = _table("", "ADDRESS", "CHANGES")

    def addr(address: str, deposed: str | None) -> str:
        return address + (f" (deposed {deposed})" if deposed else "")

    for r in d.removed:
        table.add_row("-", addr(r.address, r.deposed), "removed")
    for r in d.added:
        table.add_row("+", addr(r.address, r.deposed), "added")
    for c in d.changed:
        table.add_row("~", addr(c.address, c.deposed), ", ".join(c.paths + [f"({m})" for m in c.meta]))
    for name in d.outputs_removed:
        table.add_row("-", f"output.{name}", "removed")
    for name in d.outputs_added:
        table.add_row("+", f"output.{name}", "added")
    for name in d.outputs_changed:
        table.add_row("~", f"output.{name}", "changed")
    parts.append(table)
    parts.append(
        f"{len(d.added)} added, {len(d.removed)} removed, {len(d.changed)} changed; outputs: "
        f"{len(d.outputs_added)} added, {len(d.outputs_removed)} removed, {len(d.outputs_changed)} changed"
    )
    return _render(*parts)


@state_app.command("pull")
def pull(ctx: typer.Context, state: OneStateOpt, output: OutputOpt = None) -> int:
    """Print (or write to --output) the raw state, after checking that it parses in full.

    \b
    Example: driftmgr state pull --state s3://acme-tfstate/prod/terraform.tfstate -o prod.tfstate
    """
    env: Env = ctx.obj
    with StateService().open_validated(state) as (raw, header):
        for w in header.warnings:
            env.warn(f"{header.source}: {w}")
        with env.output(output) as sink:
            shutil.copyfileobj(raw, sink, 1 << 20)
    return ExitStatus.OK


@state_app.command("push")
def push(
    ctx: typer.Context,
    file: Annotated[str, typer.Argument(help="The state file to upload; '-' reads standard input.")],
    state: OneStateOpt,
    force: ForceOpt = False,
    format: FormatOpt = Format.table,
) -> int:
    """Replace the state at --state by FILE, as `terraform state push` does.

    FILE must parse in full. The destination is locked where its backend locks; a different lineage
    or a lower serial than the destination's current state is refused unless --force.

    \b
    Example: driftmgr state push --state s3://acme-tfstate/prod/terraform.tfstate fixed.tfstate
    """
    env: Env = ctx.obj
    data = _read_input(file)
    result = StateService().push(state, data, force=force, source="stdin" if file == "-" else file)
    for w in result.warnings:
        env.warn(w)
    with env.output(None) as sink:
        if format is Format.json:
            sink.write(dump_json(result.to_json()))
        else:
            was = (
                f" (was serial {result.previous_serial}, lineage {result.previous_lineage})"
                if result.previous_lineage is not None or result.previous_serial is not None
                else " (no state before)"
            )
            line = f"Pushed serial {result.serial}, lineage {result.lineage} to {result.destination}{was}\n"
            sink.write(line.encode())
    return ExitStatus.OK


def _read_input(file: str) -> bytes:
    if file == "-":
        return sys.stdin.buffer.read()
    try:
        return Path(file).expanduser().read_bytes()
    except FileNotFoundError:
        raise StateNotFoundError("no such file", source=file) from None
    except IsADirectoryError:
        raise UsageError("is a directory, not a state file", source=file) from None
    except OSError as exc:
        raise UsageError(f"cannot read: {exc.strerror or exc}", source=file) from None


@state_app.command("migrate")
def migrate(
    ctx: typer.Context,
    src: Annotated[str, typer.Argument(help="The state to copy: a path or URL.")],
    dst: Annotated[str, typer.Argument(help="Where to copy it: a path or URL.")],
    force: ForceOpt = False,
    backup: Annotated[
        str | None,
        typer.Option(
            "--backup", help="Backup file (or directory) for DST's current content; default: the working dir."
        ),
    ] = None,
    format: FormatOpt = Format.table,
) -> int:
    """Copy a state from SRC to DST: lock both, back DST up, copy, verify by reading back, unlock.

    A DST holding a state of another lineage (or a newer serial) is refused unless --force. When the
    content read back differs, DST's previous content is restored and the exit code is 1.

    \b
    Example: driftmgr state migrate terraform.tfstate "s3://acme-tfstate/prod.tfstate?use_lockfile=true"
    """
    env: Env = ctx.obj
    result = StateService().migrate(src, dst, force=force, backup=backup)
    for w in result.warnings:
        env.warn(w)
    with env.output(None) as sink:
        if format is Format.json:
            sink.write(dump_json(result.to_json()))
        else:
            how = "identical bytes" if result.verified == "bytes" else "same content"
            lines = [
                f"Migrated {result.source} to {result.destination}: serial {result.serial}, "
                f"lineage {result.lineage}, {result.size} bytes; verified ({how})",
                f"Backup of the previous destination state: {result.backup}" if result.backup else "",
            ]
            sink.write(("\n".join(line for line in lines if line) + "\n").encode())
    return ExitStatus.OK


@state_app.command("discover")
def discover(
    ctx: typer.Context,
    path_or_prefix: Annotated[
        str, typer.Argument(help="A directory, file or glob, or a bucket/container URL prefix.")
    ],
    format: FormatOpt = Format.table,
    output: OutputOpt = None,
    recursive: Annotated[
        bool, typer.Option("--recursive/--no-recursive", help="Descend into subdirectories.")
    ] = True,
) -> int:
    """Find states: state files, workspaces, backend/cloud blocks, Terragrunt units, bucket prefixes.

    \b
    Example: driftmgr state discover infra/ --format json
    """
    env: Env = ctx.obj
    result = StateService().discover(path_or_prefix, recursive=recursive)
    for w in result.warnings:
        env.warn(w)
    records = [dataclasses.asdict(loc) for loc in result.locations]
    with env.output(output) as sink:
        if format is Format.json:
            sink.write(dump_json({"locations": records, "warnings": result.warnings}))
        else:
            table = _table("URL", "KIND", "WORKSPACE", "EXISTS", "ORIGIN", "NOTE")
            for r in records:
                exists = {True: "yes", False: "no", None: "?"}[r["exists"]]
                table.add_row(r["url"], r["kind"], r["workspace"], exists, r["origin"], r["note"])
            sink.write(_render(table, f"{len(records)} location(s)"))
    return ExitStatus.OK

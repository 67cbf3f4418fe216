"""`driftmgr config show|check` and `driftmgr source add|list|remove`."""

from __future__ import annotations

import enum
from typing import TYPE_CHECKING, Annotated

import orjson
import typer

from driftmgr.cli.context import Env, ExitStatus

if TYPE_CHECKING:
    from driftmgr.services.config import ConfigService

config_app = typer.Typer(help="Show and check the effective settings.", no_args_is_help=True)
source_app = typer.Typer(
    help="Named state sources (used by schedules, the API and the GUI).", no_args_is_help=True
)


class ListFormat(str, enum.Enum):
    table = "table"
    json = "json"


FormatOpt = Annotated[ListFormat, typer.Option("--format", "-f", help="Output format.")]


def _service(env: Env) -> ConfigService:
    from driftmgr.services.config import ConfigService

    return ConfigService(env.settings)


@config_app.command("show")
def show(ctx: typer.Context, format: FormatOpt = ListFormat.table) -> int:
    """Print the effective settings (environment over --config file), secrets redacted.

    Example: driftmgr config show --format json
    """
    env: Env = ctx.obj
    data = _service(env).show()
    if format is ListFormat.json:
        env.stdout.write(
            orjson.dumps(data, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS).decode() + "\n"
        )
    else:
        for key in sorted(data):
            env.stdout.write(f"{key:<22} {data[key]}\n")
    return ExitStatus.OK


@config_app.command("check")
def check(ctx: typer.Context, format: FormatOpt = ListFormat.table) -> int:
    """Reach the database (migrating it to the current schema) and Redis; exit 1 when one is down.

    Example: DRIFTMGR_REDIS_URL=redis://127.0.0.1:6379/0 driftmgr config check
    """
    env: Env = ctx.obj
    result = _service(env).check()
    if format is ListFormat.json:
        env.stdout.write(orjson.dumps(result, option=orjson.OPT_INDENT_2).decode() + "\n")
    else:
        for name, item in result.items():
            env.stdout.write(f"{name:<10} {item['status']:<5} {item['detail']}\n")
    return ExitStatus.ERROR if any(v["status"] == "down" for v in result.values()) else ExitStatus.OK


@source_app.command("add")
def source_add(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="A short name: letters, digits, '.', '_', '-'.")],
    url: Annotated[
        str, typer.Argument(help="State SRC: path or s3://, azurerm://, gs://, http(s)://, tfc://, pg://")
    ],
    provider: Annotated[str, typer.Option("--provider", "-p")] = "aws",
) -> int:
    """Register a state source under a name. Credentials stay in the environment, never in the URL.

    Example: driftmgr source add prod s3://tf-states/prod/terraform.tfstate
    """
    env: Env = ctx.obj
    view = _service(env).add_source(name, url, provider=provider)
    env.stdout.write(f"added source {view.name} ({view.url})\n")
    return ExitStatus.OK


@source_app.command("list")
def source_list(ctx: typer.Context, format: FormatOpt = ListFormat.table) -> int:
    """List registered state sources.

    Example: driftmgr source list --format json
    """
    env: Env = ctx.obj
    views = _service(env).list_sources()
    if format is ListFormat.json:
        payload = {"sources": [v.to_dict() for v in views]}
        env.stdout.write(orjson.dumps(payload, option=orjson.OPT_INDENT_2).decode() + "\n")
    else:
        for v in views:
            env.stdout.write(f"{v.name:<24} {v.provider:<8} {v.url}\n")
    return ExitStatus.OK


@source_app.command("remove")
def source_remove(ctx: typer.Context, name: Annotated[str, typer.Argument()]) -> int:
    """Forget a registered state source (the state itself is untouched).

    Example: driftmgr source remove prod
    """
    env: Env = ctx.obj
    _service(env).remove_source(name)
    env.stdout.write(f"removed source {name}\n")
    return ExitStatus.OK

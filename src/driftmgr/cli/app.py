"""The `driftmgr` Typer application and its single error boundary."""

from __future__ import annotations

import gc
import sys
import traceback
from typing import Annotated

import typer

from driftmgr import __version__
from driftmgr.cli.audit import audit_app
from driftmgr.cli.cache import cache_app
from driftmgr.cli.config import config_app, source_app
from driftmgr.cli.context import Env, ExitStatus
from driftmgr.cli.drift import discover, drift_app
from driftmgr.cli.jobs import jobs_app
from driftmgr.cli.notify import notify_app
from driftmgr.cli.remediate import remediate_app
from driftmgr.cli.schedule import schedule_app
from driftmgr.cli.serve import serve
from driftmgr.cli.state import state_app
from driftmgr.cli.users import tokens_app, users_app
from driftmgr.cli.worker import worker
from driftmgr.errors import DriftMgrError

app = typer.Typer(
    name="driftmgr",
    help="Find and fix drift between Terraform/OpenTofu state and what really runs in the cloud.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
app.add_typer(state_app, name="state")
app.add_typer(users_app, name="users")
app.add_typer(tokens_app, name="tokens")
app.add_typer(audit_app, name="audit")
app.add_typer(drift_app, name="drift")
app.add_typer(remediate_app, name="remediate")
app.add_typer(notify_app, name="notify")
app.add_typer(schedule_app, name="schedule")
app.add_typer(cache_app, name="cache")
app.add_typer(config_app, name="config")
app.add_typer(source_app, name="source")
app.command("discover")(discover)
app.add_typer(jobs_app, name="jobs")
app.command("worker")(worker)
app.command("serve")(serve)


def _version(value: bool) -> None:
    if value:
        print(f"driftmgr {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    ctx: typer.Context,
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks for errors.")] = False,
    config: Annotated[
        str | None, typer.Option("--config", help="YAML settings file (else DRIFTMGR_CONFIG); env wins.")
    ] = None,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    """DriftMgr command line."""
    ctx.obj = Env(debug=debug, config_file=config)


@app.command()
def demo(
    ctx: typer.Context,
    serve: Annotated[
        bool | None,
        typer.Option(
            "--serve/--no-serve",
            help="Then serve the web GUI on the demo data until Ctrl-C (default: when stdout is a terminal).",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Zero-setup drift demo: a local AWS emulator, a real Terraform state, out-of-band changes, the report,
    then the web GUI on that scan (URL and a sign-in made for the run are printed).

    Needs the demo extra (pip install 'driftmgr[demo]'); exits 2 because it finds drift (0 after serving).

    Example: driftmgr demo --serve
    """
    from driftmgr.cli.demo import run_demo

    run_demo(ctx.obj, serve)


def main(argv: list[str] | None = None) -> int:
    """Console-script entry point: maps every DriftMgrError to one stderr line and exit code 1."""
    code = _main(argv)
    if argv is None:  # the process ends now (the console script)
        # What is left (botocore's service models, SQLAlchemy's tables) is only freed from here on:
        # the garbage collector's passes over it at interpreter shutdown took ~0.3 s of a 2 s
        # `drift detect`. Frozen, it is left to the OS; atexit handlers and module teardown still run.
        gc.freeze()
    return code


def _main(argv: list[str] | None) -> int:
    debug = "--debug" in (argv if argv is not None else sys.argv[1:])
    try:
        rv = app(args=argv, standalone_mode=False)
    except DriftMgrError as exc:
        if debug:
            traceback.print_exc()
        print(f"error: {exc}", file=sys.stderr)
        return ExitStatus.ERROR
    except typer.Exit as exc:
        return int(exc.exit_code)
    except (typer.Abort, KeyboardInterrupt):
        print("error: interrupted", file=sys.stderr)
        return ExitStatus.ERROR
    except SystemExit as exc:
        return int(exc.code or 0) if isinstance(exc.code, int) else ExitStatus.ERROR
    except Exception as exc:  # noqa: BLE001 - the one boundary where anything becomes one line
        if hasattr(exc, "show") and hasattr(exc, "exit_code"):  # click's usage errors (Typer's copy of click)
            exc.show(file=sys.stderr)
            return ExitStatus.ERROR  # usage errors are 1: exit code 2 means "drift found"
        if debug:
            traceback.print_exc()
        print(
            f"error: internal error: {type(exc).__name__}: {exc} (run with --debug for details)",
            file=sys.stderr,
        )
        return ExitStatus.ERROR
    return int(rv) if isinstance(rv, int) else ExitStatus.OK


def run() -> None:
    sys.exit(main())

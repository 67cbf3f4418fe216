"""`driftmgr demo`: a zero-setup walkthrough — a real drift detection, then the state analysis commands.

Part 1, drift: a local AWS emulator (moto, started on a free 127.0.0.1 port and stopped at the end)
is seeded and given the example infrastructure of examples/drift-demo/ — the same boto3 calls, so the
same ids, as when its real Terraform state (src/driftmgr/examples/drift-demo.tfstate, written by
`terraform import`, see scripts/make_demo_state.py) was made. The demo checks every id against that
state and stops with an error if they differ. Then it changes a few things behind Terraform's back
and runs `driftmgr drift detect` on the state: the report is DriftMgr's real output.

Part 2, state analysis: `state show|list|graph` on the example state of examples/demo/ (a VPC
module with for_each subnets, a security group, two counted instances, an S3 bucket, an IAM role, a
data source and a sensitive output; `terraform apply` against moto by Terraform 1.x with
hashicorp/aws 5.100.0).

Part 3, the web GUI and the REST API on the demo data — when stdout is a terminal or with `--serve`
(`--no-serve` never): the scan of part 1 was stored in the demo's own data dir (`<data dir>/demo`,
made afresh on each run; the user's database and DRIFTMGR_* settings are never used), where the demo
creates an admin with a random name and password made for this run and shown only once, registers
the demo state as the source `drift-demo` (a scan started from the GUI runs against the same
emulator, which keeps running), and serves the same app as `driftmgr serve` on a free 127.0.0.1 port
until Ctrl-C. Without a terminal the demo does not serve (a script or CI never hangs) and says how.

Exit code: that of `drift detect` (2: drift found), or 1 when a step fails; 0 after serving, when
stopped with Ctrl-C (SIGINT) or SIGTERM.
"""

from __future__ import annotations

import contextlib
import secrets
import shutil
import signal
import socket
import tempfile
import threading
import time
from collections.abc import Iterator
from importlib.metadata import PackageNotFoundError, version
from importlib.resources import as_file, files
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

import typer

from driftmgr.cli.context import Env, ExitStatus

if TYPE_CHECKING:
    from driftmgr.cli.demo_infra import Emulator

STEPS = [
    ("What is in the state (sensitive outputs masked)", ["state", "show"]),
    ("Every resource instance, in Terraform's address syntax", ["state", "list"]),
    ("Dependencies between instances (DOT; pipe into `dot -Tsvg`)", ["state", "graph"]),
]
MARKER = ".driftmgr-demo"  # in the demo data dir: only a dir holding it is ever wiped
SOURCE_NAME = "drift-demo"
STARTUP_TIMEOUT_S = 60.0


def run_demo(env: Env, serve: bool | None = None) -> None:
    """The demo; `serve` None: serve the GUI when stdout is a terminal."""
    from driftmgr.cli import demo_infra as infra

    serving = should_serve(env, serve)
    data_dir = _fresh_demo_dir(Path(env.settings.data_dir) / "demo")
    state_file = files("driftmgr.examples").joinpath("drift-demo.tfstate")
    with (
        _demo_settings(data_dir),
        as_file(state_file) as state,
        tempfile.TemporaryDirectory(prefix="driftmgr-demo-") as tmp,
    ):
        expected = _state_ids(state)
        print(
            "DriftMgr demo, part 1: drift detection against a local AWS emulator (no cloud account)\n"
            f"state: {state}\n(the real Terraform state of examples/drift-demo, "
            f"{len(expected)} resources)\n",
            file=env.stdout,
        )
        _step(env, "Start the AWS emulator (moto) and build the example infrastructure in it")
        with (
            infra.running_emulator(Path(tmp)) as emulator,
            infra.emulator_environment(emulator.endpoint, Path(tmp)),
        ):
            code = _drift_demo(env, state, expected, emulator, data_dir)
            _state_demo(env)
            if serving:
                _serve(env, data_dir, state)
                return
    print(
        f"To browse this scan in the web GUI: `driftmgr demo --serve` runs the demo again and serves "
        f"it on 127.0.0.1 until Ctrl-C (the demo data: {data_dir}).",
        file=env.stdout,
    )
    if code != ExitStatus.OK:
        raise typer.Exit(code)


def should_serve(env: Env, serve: bool | None) -> bool:
    """--serve / --no-serve decide; without either, serve only to a terminal (a script never hangs)."""
    return env.stdout.isatty() if serve is None else serve


def _step(env: Env, title: str) -> None:
    print(f"== {title}", file=env.stdout)
    env.stdout.flush()


def _fresh_demo_dir(path: Path) -> Path:
    """An empty demo data dir: made, or emptied when a previous demo made it (never anything else)."""
    from driftmgr.cli.demo_infra import DemoError

    if path.exists():
        if not (path / MARKER).is_file() and (not path.is_dir() or any(path.iterdir())):
            raise DemoError(
                f"{path} exists and was not made by the demo: move it away, or point DRIFTMGR_DATA_DIR "
                "elsewhere"
            )
        shutil.rmtree(path)
    path.mkdir(parents=True, mode=0o700)
    (path / MARKER).write_text("made by `driftmgr demo`; emptied by its next run\n", encoding="utf-8")
    return path


def _demo_settings(data_dir: Path) -> contextlib.AbstractContextManager[None]:
    """Every command of the demo (and its server) on the demo data dir: the user's DRIFTMGR_* settings,
    config file and database are hidden meanwhile, then restored."""
    from driftmgr.cli.demo_infra import only_environment

    return only_environment("DRIFTMGR_", {"DRIFTMGR_DATA_DIR": str(data_dir)})


def _drift_demo(env: Env, state: Path, expected: dict[str, str], emulator: Emulator, data_dir: Path) -> int:
    from driftmgr.cli import demo_infra as infra
    from driftmgr.cli.app import main

    emulator.reset()
    ec2 = infra.ec2_client()
    built = {b.address: b.id for b in infra.build(ec2, emulator.seed)}
    _check_ids(expected, built)
    print(
        f"moto at {emulator.endpoint}: {len(built)} resources built, every id as in the state\n",
        file=env.stdout,
    )
    _step(env, "Change things behind Terraform's back (boto3 calls, as someone in the console)")
    for text, new_id in infra.apply_out_of_band_changes(ec2, built):
        print(f"  - {text}" + (f" ({new_id})" if new_id else ""), file=env.stdout)
    print(file=env.stdout)
    _step(env, "Find the drift: the state against what really runs")
    print(
        f"$ AWS_ENDPOINT_URL={emulator.endpoint} DRIFTMGR_DATA_DIR={data_dir} "
        f"driftmgr drift detect --state {state.name}",
        file=env.stdout,
    )
    env.stdout.flush()
    code = main(["drift", "detect", "--state", str(state)])
    if code not in (ExitStatus.OK, ExitStatus.CHANGES):
        from driftmgr.errors import DriftMgrError

        raise DriftMgrError(f"demo step 'driftmgr drift detect' failed with exit code {code}")
    print(f"(exit code {code}: {'drift found' if code else 'no drift'})\n", file=env.stdout)
    return code


def _state_ids(state: Path) -> dict[str, str]:
    from driftmgr.services.state import StateService

    with StateService().open_reader(str(state)) as reader:
        return {i.address: i.id or "" for i in reader.iter_instances() if i.mode == "managed"}


def _check_ids(expected: dict[str, str], built: dict[str, str]) -> None:
    """The emulator must hold exactly the state's resources, or the report would be meaningless."""
    if built == expected:
        return
    from driftmgr.cli.demo_infra import DemoError

    try:
        moto = version("moto")
    except PackageNotFoundError:
        moto = "unknown"
    diffs = sorted(
        f"{a}: state {expected.get(a, '-')}, emulator {built.get(a, '-')}"
        for a in expected.keys() | built.keys()
        if expected.get(a) != built.get(a)
    )
    raise DemoError(
        f"the emulator (moto {moto}) generated other ids than those in the demo state, so the demo "
        f"would compare unrelated resources: {len(diffs)} differ, e.g. {diffs[0]}. "
        "Regenerate the state with scripts/make_demo_state.py, or install the moto version it was "
        "made with"
    )


def _state_demo(env: Env) -> None:
    from driftmgr.cli.app import main

    resource = files("driftmgr.examples").joinpath("demo.tfstate")
    with as_file(resource) as path:
        print(f"DriftMgr demo, part 2: analysing the example state {path}\n", file=env.stdout)
        for title, argv in STEPS:
            print(f"== {title}\n$ driftmgr {' '.join(argv)} --state {path.name}", file=env.stdout)
            env.stdout.flush()
            code = main([*argv, "--state", str(path)])
            if code != 0:
                from driftmgr.errors import DriftMgrError

                raise DriftMgrError(f"demo step 'driftmgr {' '.join(argv)}' failed with exit code {code}")
            print(file=env.stdout)
        print(
            "Next: point DriftMgr at your own states, e.g.\n"
            "  driftmgr drift detect --state path/to/terraform.tfstate\n"
            "  driftmgr state list --state path/to/terraform.tfstate\n"
            "  driftmgr state show --state s3://my-bucket/prod/terraform.tfstate\n"
            "  driftmgr state discover path/to/infra-repo",
            file=env.stdout,
        )


# --- part 3: the GUI and the API on the demo data --------------------------------------------------


def _serve(env: Env, data_dir: Path, state: Path) -> None:
    """Serve the app of `driftmgr serve` on the demo data on a free loopback port, until Ctrl-C."""
    import uvicorn

    from driftmgr.api.app import create_app
    from driftmgr.config import Settings
    from driftmgr.services.access import AccessService
    from driftmgr.services.config import ConfigService

    settings = Settings(data_dir=data_dir)
    access = AccessService(settings)
    username = f"demo-admin-{secrets.token_hex(3)}"
    password = secrets.token_urlsafe(18)  # 24 characters, 144 random bits; shown once, stored hashed
    access.create_admin(username, password)
    ConfigService(settings, access.db).add_source(SOURCE_NAME, str(state))
    access.db.dispose()

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))  # a free port, held from now on: no race with another program
    port = int(sock.getsockname()[1])
    server = uvicorn.Server(
        uvicorn.Config(create_app(settings), log_level="warning", access_log=False, proxy_headers=False)
    )
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name="driftmgr-demo-server", daemon=True
    )
    _step(env, "The web GUI and the REST API on the demo data (the app of `driftmgr serve`)")
    with _stop_on_signals() as stopping, contextlib.ExitStack() as cleanup:
        cleanup.callback(thread.join, 30)
        cleanup.callback(setattr, server, "should_exit", True)  # graceful: the app closes its platform
        thread.start()
        _wait_started(server, thread)
        url = f"http://127.0.0.1:{port}/"
        print(
            f"Open {url} and sign in with user {username} and password {password}\n"
            "(an admin made for this run only, in the demo data dir; the password is shown only here)\n"
            f"The scan of part 1 is on the dashboard; the source {SOURCE_NAME!r} can be scanned again from "
            f"{url}scans (against the same emulator). REST API: {url}docs\n"
            "Serving until Ctrl-C.",
            file=env.stdout,
        )
        env.stdout.flush()
        while thread.is_alive() and not stopping.is_set():
            stopping.wait(0.5)
    sock.close()
    if not stopping.is_set():
        from driftmgr.cli.demo_infra import DemoError

        raise DemoError("the demo's web server stopped by itself")
    print("Stopped.", file=env.stdout)


def _wait_started(server: Any, thread: threading.Thread) -> None:
    from driftmgr.cli.demo_infra import DemoError

    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            raise DemoError("the demo's web server did not start")
        time.sleep(0.05)


@contextlib.contextmanager
def _stop_on_signals() -> Iterator[threading.Event]:
    """Ctrl-C (SIGINT) and SIGTERM set the event instead of killing the process mid-way; a second one
    interrupts (KeyboardInterrupt) a shutdown that takes too long."""
    stopping = threading.Event()
    if threading.current_thread() is not threading.main_thread():
        yield stopping  # signals reach the main thread only: its caller stops the demo
        return

    def handler(signum: int, frame: FrameType | None) -> None:
        if stopping.is_set():
            raise KeyboardInterrupt
        stopping.set()

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield stopping
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)

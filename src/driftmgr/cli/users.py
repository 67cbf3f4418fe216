"""`driftmgr users …` and `driftmgr tokens …`: local administration of accounts and API tokens.

The CLI reaches the database directly, so it acts as an admin; its audit records name the
operating-system user (`cli:<login>`). Passwords are prompted for twice without echo, or read from
the first line of stdin with --password-stdin; they are never accepted as arguments.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Annotated

import orjson
import typer

from driftmgr.cli.context import Env, ExitStatus

if TYPE_CHECKING:
    from driftmgr.services.access import AccessService

users_app = typer.Typer(
    help="Users and their roles (admin, operator, viewer, approver).", no_args_is_help=True
)
tokens_app = typer.Typer(help="API tokens: created, listed and revoked here.", no_args_is_help=True)

JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON.")]
StdinOpt = Annotated[
    bool,
    typer.Option("--password-stdin", help="Read the password from the first line of stdin (automation)."),
]


def _service(env: Env) -> AccessService:
    from driftmgr.services.access import AccessService

    return AccessService(env.settings)


def _password(from_stdin: bool) -> str:
    from driftmgr.errors import UsageError

    if from_stdin:
        line = sys.stdin.readline()
        if not line:
            raise UsageError("--password-stdin: stdin is empty")
        return line.rstrip("\r\n")
    value: str = typer.prompt("Password", hide_input=True, confirmation_prompt=True, err=True)
    return value


def _emit(env: Env, data: object) -> None:
    env.stdout.write(orjson.dumps(data, option=orjson.OPT_INDENT_2).decode() + "\n")


@users_app.command("create-admin")
def create_admin(
    ctx: typer.Context,
    username: Annotated[str, typer.Argument(help="The admin's user name.")],
    email: Annotated[str | None, typer.Option("--email")] = None,
    password_stdin: StdinOpt = False,
    force: Annotated[
        bool,
        typer.Option("--force", help="Even when an admin exists: create, or reset this user as, an admin."),
    ] = False,
) -> int:
    """Create the first admin (there is no default account). Refused once an active admin exists,
    unless --force, which also resets an existing user's password (recovery).

    Example: driftmgr users create-admin alice
    """
    env: Env = ctx.obj
    service = _service(env)
    view = service.create_admin(username, _password(password_stdin), email=email, force=force)
    env.stdout.write(f"admin {view.username} is ready\n")
    return ExitStatus.OK


@users_app.command("add")
def add(
    ctx: typer.Context,
    username: Annotated[str, typer.Argument()],
    role: Annotated[
        list[str], typer.Option("--role", "-r", help="admin|operator|viewer|approver; repeatable.")
    ],
    email: Annotated[str | None, typer.Option("--email")] = None,
    password_stdin: StdinOpt = False,
    no_password: Annotated[bool, typer.Option("--no-password", help="Sign-in through SSO only.")] = False,
) -> int:
    """Add a user with one or more roles.

    Example: driftmgr users add bob --role operator --role approver
    """
    from driftmgr.services.access import Actor

    env: Env = ctx.obj
    service = _service(env)
    password = None if no_password else _password(password_stdin)
    view = service.add_user(Actor.cli(), username, password, role, email=email)
    env.stdout.write(f"user {view.username} added ({', '.join(view.roles)})\n")
    return ExitStatus.OK


@users_app.command("list")
def list_users(ctx: typer.Context, json: JsonOpt = False) -> int:
    """List users, their roles and last sign-in.

    Example: driftmgr users list --json
    """
    from driftmgr.services.access import Actor

    env: Env = ctx.obj
    views = _service(env).list_users(Actor.cli())
    if json:
        _emit(env, {"users": [v.to_dict() for v in views]})
        return ExitStatus.OK
    env.stdout.write(f"{'USER':<24} {'ACTIVE':<7} {'ROLES':<30} LAST SIGN-IN\n")
    for v in views:
        last = v.last_login_at.isoformat(timespec="seconds") if v.last_login_at else "-"
        env.stdout.write(
            f"{v.username:<24} {'yes' if v.active else 'no':<7} {','.join(v.roles):<30} {last}\n"
        )
    return ExitStatus.OK


@users_app.command("disable")
def disable(ctx: typer.Context, username: Annotated[str, typer.Argument()]) -> int:
    """Disable a user: their sessions end and their tokens stop working (the last admin stays).

    Example: driftmgr users disable bob
    """
    from driftmgr.services.access import Actor

    env: Env = ctx.obj
    _service(env).set_active(Actor.cli(), username, False)
    env.stdout.write(f"user {username.strip().lower()} disabled\n")
    return ExitStatus.OK


@users_app.command("enable")
def enable(ctx: typer.Context, username: Annotated[str, typer.Argument()]) -> int:
    """Enable a disabled user again.

    Example: driftmgr users enable bob
    """
    from driftmgr.services.access import Actor

    env: Env = ctx.obj
    _service(env).set_active(Actor.cli(), username, True)
    env.stdout.write(f"user {username.strip().lower()} enabled\n")
    return ExitStatus.OK


@users_app.command("set-password")
def set_password(
    ctx: typer.Context, username: Annotated[str, typer.Argument()], password_stdin: StdinOpt = False
) -> int:
    """Set a user's password; their sessions end.

    Example: driftmgr users set-password bob --password-stdin < pw.txt
    """
    from driftmgr.services.access import Actor

    env: Env = ctx.obj
    _service(env).set_password(Actor.cli(), username, _password(password_stdin))
    env.stdout.write(f"password of {username.strip().lower()} changed\n")
    return ExitStatus.OK


@users_app.command("grant")
def grant(
    ctx: typer.Context, username: Annotated[str, typer.Argument()], role: Annotated[str, typer.Argument()]
) -> int:
    """Give a user a role.

    Example: driftmgr users grant bob approver
    """
    from driftmgr.services.access import Actor

    env: Env = ctx.obj
    view = _service(env).change_roles(Actor.cli(), username, grant=[role])
    env.stdout.write(f"{view.username}: {', '.join(view.roles) or '(no roles)'}\n")
    return ExitStatus.OK


@users_app.command("revoke")
def revoke(
    ctx: typer.Context, username: Annotated[str, typer.Argument()], role: Annotated[str, typer.Argument()]
) -> int:
    """Take a role from a user (the last active admin keeps admin).

    Example: driftmgr users revoke bob operator
    """
    from driftmgr.services.access import Actor

    env: Env = ctx.obj
    view = _service(env).change_roles(Actor.cli(), username, revoke=[role])
    env.stdout.write(f"{view.username}: {', '.join(view.roles) or '(no roles)'}\n")
    return ExitStatus.OK


@tokens_app.command("create")
def token_create(
    ctx: typer.Context,
    user: Annotated[str, typer.Option("--user", "-u", help="Whose token (it carries their roles).")],
    name: Annotated[str, typer.Option("--name", "-n", help="What the token is for.")],
    expires_in: Annotated[
        str, typer.Option("--expires-in", help="Lifetime: 30d, 12h, 2w, 1y (at most 5y).")
    ] = "90d",
) -> int:
    """Create an API token. It is printed once, alone on stdout; only its hash is stored.

    Example: TOKEN=$(driftmgr tokens create --user ci --name pipeline --expires-in 30d)
    """
    from driftmgr.security.tokens import parse_duration
    from driftmgr.services.access import Actor

    env: Env = ctx.obj
    created = _service(env).create_token(
        Actor.cli(), name, expires_in=parse_duration(expires_in), username=user
    )
    env.stdout.write(created.token + "\n")
    expires = created.view.expires_at.isoformat(timespec="seconds") if created.view.expires_at else "never"
    print(
        f"token {created.view.prefix} (id {created.view.id}) for {created.view.user}, expires {expires}: "
        "store it now, it is not shown again",
        file=env.stderr,
    )
    return ExitStatus.OK


@tokens_app.command("list")
def token_list(
    ctx: typer.Context,
    user: Annotated[
        str | None, typer.Option("--user", "-u", help="One user's tokens (default: all).")
    ] = None,
    json: JsonOpt = False,
) -> int:
    """List tokens (never their secret): prefix, owner, status, expiry, last use.

    Example: driftmgr tokens list --user ci
    """
    from driftmgr.services.access import Actor

    env: Env = ctx.obj
    views = _service(env).list_tokens(Actor.cli(), username=user or "*")
    if json:
        _emit(env, {"tokens": [v.to_dict() for v in views]})
        return ExitStatus.OK
    env.stdout.write(f"{'ID':<33} {'PREFIX':<12} {'USER':<16} {'STATUS':<8} {'EXPIRES':<26} NAME\n")
    for v in views:
        exp = v.expires_at.isoformat(timespec="seconds") if v.expires_at else "never"
        env.stdout.write(f"{v.id:<33} {v.prefix:<12} {v.user:<16} {v.status:<8} {exp:<26} {v.name}\n")
    return ExitStatus.OK


@tokens_app.command("revoke")
def token_revoke(
    ctx: typer.Context, token: Annotated[str, typer.Argument(help="The token's id or prefix.")]
) -> int:
    """Revoke a token at once.

    Example: driftmgr tokens revoke dm_ab12cd34
    """
    from driftmgr.services.access import Actor

    env: Env = ctx.obj
    view = _service(env).revoke_token(Actor.cli(), token)
    env.stdout.write(f"token {view.prefix} of {view.user} revoked\n")
    return ExitStatus.OK

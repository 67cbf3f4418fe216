"""`driftmgr remediate plan|show|list|submit|approve|reject|comment|apply|rollback`.

The CLI acts as a DriftMgr user: `--as USER` (or DRIFTMGR_USER) names a registered, active user whose
roles then apply — so the four-eyes rule holds here as in the API: a plan's creator cannot approve it,
Viewers and Operators cannot approve at all. Without it the CLI acts as `cli:<login>` with the admin
role (it reaches the database directly), which still cannot approve a plan `cli:<login>` created.
"""

from __future__ import annotations

import contextlib
import enum
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import orjson
import typer

from driftmgr.cli.context import Env, ExitStatus

if TYPE_CHECKING:
    from driftmgr.services.access import Actor
    from driftmgr.services.remediation import PlanView, RemediationService

remediate_app = typer.Typer(
    help="Remediation plans: build from a drift report, review (four eyes), apply, roll back.",
    no_args_is_help=True,
)


class Format(str, enum.Enum):
    table = "table"
    json = "json"


AsOpt = Annotated[
    str | None,
    typer.Option("--as", envvar="DRIFTMGR_USER", help="Act as this DriftMgr user (else cli:<login>, admin)."),
]
PlanArg = Annotated[str, typer.Argument(help="The plan id.")]
FormatOpt = Annotated[Format, typer.Option("--format", "-f")]
WaitOpt = Annotated[
    bool, typer.Option("--wait", help="Run the job now (embedded mode) and wait for its end.")
]
TimeoutOpt = Annotated[
    float | None, typer.Option("--timeout", min=0, help="With --wait: give up after SECONDS.")
]


@contextlib.contextmanager
def _service(env: Env, as_user: str | None) -> Iterator[tuple[RemediationService, Actor]]:
    from driftmgr.services.remediation import RemediationService

    with RemediationService.open(env.settings) as service:
        yield service, service.cli_actor(as_user)


def _dump(env: Env, data: object) -> None:
    env.stdout.write(orjson.dumps(data, option=orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS).decode() + "\n")


def _text(value: Any) -> str:
    return value if isinstance(value, str) else orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()


def summary_markdown(view: PlanView, warnings: list[str] | None = None) -> str:
    """The readable summary of a plan (summary.md; `show` prints the same)."""
    plan = view.to_plan()
    s = view.summary
    approval = (
        "needs approval by an approver who did not create it"
        if view.needs_approval
        else ("below the approval threshold: an operator may apply it directly")
    )
    lines = [
        f"# Remediation plan {view.id}",
        "",
        f"- status: **{view.status}** ({approval})",
        f"- risk: **{view.risk}**; created by {view.created_by or '-'} "
        f"at {view.created_at:%Y-%m-%d %H:%M} UTC"
        + (f"; expires {view.expires_at:%Y-%m-%d %H:%M} UTC" if view.expires_at else ""),
        f"- approved by: {view.approved_by}" if view.approved_by else "- approved by: nobody yet",
        f"- strategy: {', '.join(f'{k}={v}' for k, v in plan.strategy.items())}",
        f"- method: {'terraform in ' + plan.terraform_dir if plan.terraform_dir else 'provider API calls'}",
        "",
        "## Blast radius",
        "",
        f"- {s.get('actions', 0)} action(s): "
        + (", ".join(f"{n} {k}" for k, n in sorted((s.get("by_kind") or {}).items())) or "none"),
        f"- destructive: {s.get('destructive', 0)}; API calls: {s.get('api_calls', 0)}; "
        f"Terraform commands: {s.get('terraform_commands', 0)}",
        f"- types: {', '.join(f'{t} ×{n}' for t, n in sorted((s.get('by_type') or {}).items())) or '-'}",
        f"- regions: {', '.join(s.get('regions') or []) or '-'}",
        f"- refused: {s.get('refused', 0)}",
        "",
        "## Actions (in order)",
        "",
    ]
    for a in plan.actions:
        flag = " **DESTRUCTIVE**" if a.destructive else ""
        target = a.address or f"{a.type} {a.resource_id}"
        after = f" (after {', '.join(a.depends_on)})" if a.depends_on else ""
        lines.append(f"### {a.id}: {a.kind} {target} — risk {a.risk}{flag}{after}")
        lines.append("")
        for c in a.changes:
            lines.append(f"- `{c.get('path')}`: `{_text(c.get('expected'))}` → `{_text(c.get('actual'))}`")
        if a.note:
            lines.append(f"- note: {a.note}")
        lines += [f"- {st.description}" for st in a.steps if st.kind == "file" and st.description]
        if a.steps:
            lines += ["", "```", *(st.command_line() for st in a.steps), "```"]
        lines.append("")
    if plan.refused:
        lines += ["## Refused", ""]
        for r in plan.refused:
            target = r.get("address") or f"{r.get('type')} {r.get('id')}"
            lines.append(f"- {r.get('kind')} {target}: {r.get('reason')}")
        lines.append("")
    if warnings:
        lines += ["## Warnings", "", *(f"- {w}" for w in warnings), ""]
    if view.comments:
        lines += ["## Comments", ""]
        lines += [f"- {c['author']} ({c['created_at'][:16]}): {c['body']}" for c in view.comments]
        lines.append("")
    if view.outcome:
        outcome = orjson.dumps(view.outcome, option=orjson.OPT_INDENT_2).decode()
        lines += ["## Outcome", "", "```json", outcome, "```", ""]
    return "\n".join(lines)


def _write(path: Path, data: str | bytes) -> None:
    staged = path.with_name(f".{path.name}.tmp")
    staged.write_bytes(data.encode() if isinstance(data, str) else data)
    staged.replace(path)


@remediate_app.command("plan")
def plan(
    ctx: typer.Context,
    output_dir: Annotated[
        str, typer.Option("--output-dir", "-o", help="Where plan.json, summary.md (and *.tf) go.")
    ],
    report: Annotated[
        str | None, typer.Option("--report", help="A `drift detect --format json` report.")
    ] = None,
    scan: Annotated[
        str | None,
        typer.Option("--scan", help="A stored scan id (its report, or the one --report came from)."),
    ] = None,
    strategy: Annotated[
        list[str] | None,
        typer.Option(
            "--strategy",
            help="STATUS=ACTION: drifted=revert|accept, missing=recreate|forget, unmanaged=codify|delete.",
        ),
    ] = None,
    select: Annotated[
        list[str] | None,
        typer.Option("--select", help="Only these addresses, ids or types (globs); repeatable."),
    ] = None,
    terraform_dir: Annotated[
        str | None,
        typer.Option("--terraform-dir", help="Terraform working directory: act through Terraform."),
    ] = None,
    config_dir: Annotated[
        str | None,
        typer.Option("--config", "--config-dir", help="Terraform configuration to patch (accept)."),
    ] = None,
    max_actions: Annotated[int | None, typer.Option("--max-actions", min=1, help="Cap (default 50).")] = None,
    protect: Annotated[
        list[str] | None, typer.Option("--protect", help="Never touch these addresses, ids or types (globs).")
    ] = None,
    draft: Annotated[
        bool, typer.Option("--draft", help="Store as a draft (submit later) instead of pending.")
    ] = False,
    as_user: AsOpt = None,
) -> int:
    """Build a plan from a drift report, store it for review, and write it to the output directory.

    Writes DIR/plan.json, DIR/summary.md, for codify actions DIR/imports.tf and DIR/generated.tf, and
    for accept actions with --config DIR/config.patch (the diff of the .tf files they patch);
    prints the plan id. Protected resources, the cap and unsupported actions are listed as refused.

    Example: driftmgr remediate plan --report drift.json --strategy unmanaged=codify --output-dir plan/
    """
    from driftmgr.errors import UsageError
    from driftmgr.services.remediation_planner import parse_strategy

    env: Env = ctx.obj
    if not report and not scan:
        raise UsageError("give --report REPORT.json or --scan SCAN_ID")
    out = Path(output_dir).expanduser()
    if out.exists() and not out.is_dir():
        raise UsageError("the output directory is a file", source=str(out))
    for d, name in ((terraform_dir, "--terraform-dir"), (config_dir, "--config")):
        if d is not None and not Path(d).expanduser().is_dir():
            raise UsageError(f"{name}: no such directory", source=d)
    chosen = parse_strategy(strategy)
    with _service(env, as_user) as (service, actor):
        doc = service.load_report(report) if report else service.report_of_scan(str(scan))
        if report and scan:
            service.report_of_scan(scan)  # the scan named must exist
        options = service.options(
            strategy=chosen,
            select=select,
            terraform_dir=str(Path(terraform_dir).expanduser().resolve()) if terraform_dir else None,
            config_dir=str(Path(config_dir).expanduser().resolve()) if config_dir else None,
            max_actions=max_actions,
            protect=protect,
            scan_id=scan,
        )
        out.mkdir(parents=True, exist_ok=True)
        built = service.build(actor, doc, options)
        view = service.create(actor, built, submit=not draft)
    plan_doc = {"id": view.id, "status": view.status, "needs_approval": view.needs_approval, **view.plan}
    _write(out / "plan.json", orjson.dumps(plan_doc, option=orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS))
    _write(out / "summary.md", summary_markdown(view, built.warnings))
    written = ["plan.json", "summary.md"]
    if built.imports_tf is not None and built.generated_tf is not None:
        _write(out / "imports.tf", built.imports_tf + "\n")
        _write(out / "generated.tf", built.generated_tf + "\n")
        written += ["imports.tf", "generated.tf"]
    if built.config_patch:
        _write(out / "config.patch", built.config_patch)
        written.append("config.patch")
    for w in built.warnings:
        env.warn(w)
    s = view.summary
    env.stdout.write(view.id + "\n")
    print(
        f"plan {view.id}: {view.status}, {s.get('actions', 0)} action(s), {s.get('refused', 0)} refused, "
        f"risk {view.risk}{', needs approval' if view.needs_approval else ''}; wrote {', '.join(written)} "
        f"to {out}",
        file=env.stderr,
    )
    return ExitStatus.OK


@remediate_app.command("show")
def show(
    ctx: typer.Context, plan_id: PlanArg, format: FormatOpt = Format.table, as_user: AsOpt = None
) -> int:
    """A plan: status, risk, blast radius, each action's diff and exact steps, refusals, comments, outcome.

    Example: driftmgr remediate show 3f2a… --format json
    """
    env: Env = ctx.obj
    with _service(env, as_user) as (service, actor):
        view = service.get(actor, plan_id)
    if format is Format.json:
        _dump(env, view.to_dict())
    else:
        env.stdout.write(summary_markdown(view))
    return ExitStatus.OK


@remediate_app.command("list")
def list_plans(
    ctx: typer.Context,
    status: Annotated[
        str | None, typer.Option("--status", help="draft, pending, approved, running, …")
    ] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, max=10_000)] = 50,
    format: FormatOpt = Format.table,
    as_user: AsOpt = None,
) -> int:
    """Plans, newest first.

    Example: driftmgr remediate list --status pending
    """
    env: Env = ctx.obj
    with _service(env, as_user) as (service, actor):
        views, total = service.list(actor, status=status, limit=limit)
    if format is Format.json:
        _dump(env, {"plans": [v.to_dict(full=False) for v in views], "total": total})
        return ExitStatus.OK
    env.stdout.write(f"{'ID':<33} {'STATUS':<13} {'RISK':<9} {'ACTIONS':>7} {'CREATED BY':<20} CREATED\n")
    for v in views:
        env.stdout.write(
            f"{v.id:<33} {v.status:<13} {v.risk:<9} {v.summary.get('actions', 0):>7} "
            f"{(v.created_by or '-'):<20} {v.created_at:%Y-%m-%d %H:%M}\n"
        )
    return ExitStatus.OK


@remediate_app.command("submit")
def submit(ctx: typer.Context, plan_id: PlanArg, as_user: AsOpt = None) -> int:
    """Put a draft plan up for review (pending).

    Example: driftmgr remediate submit 3f2a…
    """
    env: Env = ctx.obj
    with _service(env, as_user) as (service, actor):
        view = service.submit(actor, plan_id)
    env.stdout.write(f"plan {view.id}: {view.status}\n")
    return ExitStatus.OK


@remediate_app.command("approve")
def approve(
    ctx: typer.Context,
    plan_id: PlanArg,
    comment: Annotated[str | None, typer.Option("--comment", "-m", help="Why (kept with the plan).")] = None,
    as_user: AsOpt = None,
) -> int:
    """Approve a pending plan (an approver or admin who did not create it).

    Example: driftmgr remediate approve 3f2a… --as alice --comment "checked with the owners"
    """
    env: Env = ctx.obj
    with _service(env, as_user) as (service, actor):
        view = service.approve(actor, plan_id, comment)
    env.stdout.write(f"plan {view.id}: {view.status} by {view.approved_by}\n")
    return ExitStatus.OK


@remediate_app.command("reject")
def reject(
    ctx: typer.Context,
    plan_id: PlanArg,
    comment: Annotated[str, typer.Option("--comment", "-m", help="Why (required).")],
    as_user: AsOpt = None,
) -> int:
    """Reject a plan (an approver or admin who did not create it); the reason is kept.

    Example: driftmgr remediate reject 3f2a… --as alice --comment "the SG change is intended"
    """
    env: Env = ctx.obj
    with _service(env, as_user) as (service, actor):
        view = service.reject(actor, plan_id, comment)
    env.stdout.write(f"plan {view.id}: {view.status}\n")
    return ExitStatus.OK


@remediate_app.command("comment")
def comment(
    ctx: typer.Context,
    plan_id: PlanArg,
    text: Annotated[str, typer.Argument(help="The comment.")],
    as_user: AsOpt = None,
) -> int:
    """Add a comment to a plan.

    Example: driftmgr remediate comment 3f2a… "can we wait for the release?"
    """
    env: Env = ctx.obj
    with _service(env, as_user) as (service, actor):
        view = service.comment(actor, plan_id, text)
    env.stdout.write(f"plan {view.id}: {len(view.comments)} comment(s)\n")
    return ExitStatus.OK


def _ended(env: Env, view: PlanView, ok_status: str) -> int:
    env.stdout.write(f"plan {view.id}: {view.status}\n")
    outcome = view.outcome or {}
    part = (outcome.get("rollback") or {}) if ok_status == "rolled_back" else outcome
    for a in part.get("actions") or []:
        env.stdout.write(
            f"  {a.get('id')}: {a.get('status')}{(' - ' + str(a['error'])) if a.get('error') else ''}\n"
        )
        for line in a.get("ran") or []:
            env.stdout.write(f"    {line}\n")
    for v in part.get("validation") or []:
        state = "in sync" if v.get("in_sync") else f"still out of sync: {_text(v.get('remaining'))}"
        env.stdout.write(f"  check {v.get('id')}: {state}\n")
    if view.status != ok_status:
        print(
            f"error: plan {view.id} {view.status}: {part.get('error') or 'see the actions above'}",
            file=env.stderr,
        )
        return ExitStatus.ERROR
    return ExitStatus.OK


@remediate_app.command("apply")
def apply(
    ctx: typer.Context,
    plan_id: PlanArg,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print exactly what would run; change nothing.")
    ] = False,
    wait: WaitOpt = False,
    timeout: TimeoutOpt = None,
    as_user: AsOpt = None,
) -> int:
    """Run a plan as a job: approved, or below the approval threshold. Exit 1 when it failed (--wait).

    Example: driftmgr remediate apply 3f2a… --dry-run ; driftmgr remediate apply 3f2a… --wait
    """
    env: Env = ctx.obj
    with _service(env, as_user) as (service, actor):
        result = service.apply(actor, plan_id, dry_run=dry_run)
        if dry_run:
            env.stdout.write("".join(line + "\n" for line in result.lines))
            print(f"dry run: {len(result.lines)} step(s) would run; nothing was changed", file=env.stderr)
            return ExitStatus.OK
        assert result.job_id is not None
        if not wait:
            env.stdout.write(f"plan {plan_id}: running as job {result.job_id}\n")
            return ExitStatus.OK
        service.run_here(result.job_id, timeout)
        view = service.get(actor, plan_id)
    return _ended(env, view, "succeeded")


@remediate_app.command("rollback")
def rollback(
    ctx: typer.Context,
    plan_id: PlanArg,
    wait: WaitOpt = False,
    timeout: TimeoutOpt = None,
    as_user: AsOpt = None,
) -> int:
    """Restore the snapshot taken before the plan ran. Exit 1 when it failed (--wait).

    Example: driftmgr remediate rollback 3f2a… --wait
    """
    env: Env = ctx.obj
    with _service(env, as_user) as (service, actor):
        result = service.rollback(actor, plan_id)
        assert result.job_id is not None
        if not wait:
            env.stdout.write(f"plan {plan_id}: rolling back as job {result.job_id}\n")
            return ExitStatus.OK
        service.run_here(result.job_id, timeout)
        view = service.get(actor, plan_id)
    return _ended(env, view, "rolled_back")

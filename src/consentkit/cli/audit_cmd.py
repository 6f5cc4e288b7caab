"""``consentkit audit verify | show CASE_ID | head``: the tamper-evident audit log."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from consentkit.cli._common import needed_workspace
from consentkit.errors import CaseError, IntegrityError

SHOWN_PROBLEMS = 20


@click.group()
def audit() -> None:
    """The tamper-evident audit log: check it, read a case's events, make a signed tree head."""


@audit.command()
@click.option(
    "--against",
    "against",
    multiple=True,
    type=click.Path(path_type=Path),
    metavar="HEAD",
    help="A head kept elsewhere: a head.json from 'audit head --export', an evidence bundle (.zip) or an unpacked "
    "bundle folder; the log must extend every head in it. Repeatable.",
)
@click.pass_context
def verify(ctx: click.Context, against: tuple[Path, ...]) -> None:
    """Recompute the whole log from its stored rows: every event's hash, every subtree hash, every tree head's
    signature and timestamp, and the current tree's consistency with each head — the stored ones, every head kept
    outside the database (.consentkit/heads/), and each --against head. A log rolled back or wiped with a database
    shell no longer extends the heads kept outside it.

    Exit 0 when everything holds (a warning, e.g. no heads kept outside the database although it holds heads, is
    printed but does not fail); 1 with the problems, first one first, when anything was altered; 3 when an
    --against path is not a head, a bundle or a bundle folder."""
    from consentkit.audit.kept_heads import load_exported
    from consentkit.audit.log import AuditLog
    from consentkit.audit.store import StoreError
    from consentkit.errors import VerificationError

    ws = needed_workspace(ctx)
    exported = []
    damaged: list[str] = []
    for path in against:
        try:
            exported += load_exported(path)
        except VerificationError as exc:  # a damaged head is a finding; a path that is no head at all, bad input
            damaged.append(f"exported head {exc.message}")
    try:
        log = AuditLog.for_workspace(ws)
    except StoreError as exc:  # a database that cannot even be opened is a failed check, not bad input
        raise IntegrityError(f"the audit database cannot be read: {exc.message}") from exc
    with log:
        report = log.verify(against=exported)
    summary = (
        f"{report.size} events, {report.subtrees_checked} subtree hashes, {report.heads_checked} signed heads, "
        f"{report.kept_checked} heads kept outside the database"
        + (f", {report.exported_checked} exported heads" if against else "")
    )
    problems = [*damaged, *(str(p) for p in report.problems)]
    for warning in report.warnings:  # not proof of tampering: exit 0 when nothing else is wrong
        click.echo(f"warning: {warning}", err=True)
    if not problems:
        click.echo(f"audit log OK: {summary}; root {report.root.hex()}")
        return
    click.echo(f"audit log NOT OK: {summary}", err=True)
    for problem in problems[:SHOWN_PROBLEMS]:
        click.echo(f"  {problem}", err=True)
    more = len(problems) - SHOWN_PROBLEMS
    if more > 0 or report.truncated:
        click.echo(f"  … and {'more than ' if report.truncated else ''}{max(more, 0)} more", err=True)
    raise IntegrityError(f"{problems[0]} ({len(problems)}{'+' if report.truncated else ''} problems)")


@audit.command()
@click.argument("case_id")
@click.option("--actor", help="Who is reading (a staff login); default: the operating-system user.")
@click.option(
    "--role",
    "actor_role",
    type=click.Choice(["physician", "nurse", "staff", "reviewer", "auditor"]),
    default="staff",
    show_default=True,
    help="The reader's role.",
)
@click.pass_context
def show(ctx: click.Context, case_id: str, actor: str | None, actor_role: str) -> None:
    """Print CASE_ID's events in log order. The read itself is logged first (a case.read event)."""
    from consentkit.audit import events as ev
    from consentkit.audit.log import AuditLog, os_user

    ws = needed_workspace(ctx)
    with AuditLog.for_workspace(ws) as log:
        stored = log.case_events(case_id)
        if not stored:
            raise CaseError(f"the audit log holds no events for case {case_id!r}")
        subject = stored[-1].event.subject
        read = log.append(
            ev.case_read(
                case=case_id,
                subject=subject,
                actor=actor or os_user(),
                actor_role=actor_role,  # type: ignore[arg-type]
                via="audit-show",
            )
        )
    _print_case(ws, case_id, subject, [(s.index, s.leaf, s.event) for s in stored], read.index)


def _print_case(ws: Any, case_id: str, subject: str, rows: list[tuple[int, bytes, Any]], read_index: int) -> None:
    from rich.console import Console
    from rich.table import Table

    zone = ws.zone
    table = Table(title=f"case {case_id} — subject {subject[:24]}…", title_justify="left")
    table.add_column("#", justify="right")
    table.add_column(f"time ({zone.key})")
    table.add_column("event", no_wrap=True)
    table.add_column("by")
    table.add_column("details")
    table.add_column("documents")
    table.add_column("leaf", style="dim")
    for index, leaf, event in rows:
        data = event.data.model_dump(mode="json")
        details = ", ".join(f"{k}={_short(v)}" for k, v in sorted(data.items()))
        docs = "\n".join(f"{d.name} {d.sha256[7:19]}…" for d in event.documents)
        table.add_row(
            str(index),
            event.time.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S"),
            event.type,
            f"{_short(event.actor.id)} ({event.actor.role})",
            details,
            docs,
            leaf.hex()[:12],
        )
    console = Console()
    if not console.is_terminal:  # piped or captured: keep each row on its line rather than folding to 80 columns
        console = Console(width=220)
    console.print(table)
    console.print(f"this read was logged as event {read_index}")


def _short(value: Any) -> str:
    if isinstance(value, list):
        return "+".join(_short(v) for v in value) or "-"
    text = str(value)
    if text.startswith(("sha256:", "hmac-sha256:")):
        return text.split(":", 1)[0] + ":" + text.split(":", 1)[1][:10] + "…"
    return text


@audit.command()
@click.option(
    "--export",
    "export",
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="HEAD.json",
    help="Also write the head as HEAD.json (the signed bytes), HEAD.sig and HEAD.tsr, to keep outside the database.",
)
@click.pass_context
def head(ctx: click.Context, export: Path | None) -> None:
    """Sign the current tree with the audit-log key, timestamp it with the TSA, store it, and print it."""
    from consentkit.audit.events import format_time
    from consentkit.audit.log import AuditLog

    ws = needed_workspace(ctx)
    with AuditLog.for_workspace(ws) as log:
        sth = log.head()
    local = sth.head.time.astimezone(ws.zone)
    click.echo(f"tree head #{sth.id}: {sth.size} events")
    click.echo(f"  root  {sth.root.hex()}")
    click.echo(f"  time  {format_time(sth.head.time)} ({local:%Y-%m-%d %H:%M:%S} {ws.zone.key})")
    click.echo(f"  log   {sth.head.log}")
    if export is not None:
        files = sth.export(export)
        click.echo("exported: " + ", ".join(str(f) for f in files))
        click.echo("check with:")
        click.echo(f"  openssl dgst -sha256 -verify audit-log.pub.pem -signature {files[1]} {files[0]}")
        click.echo(f"  openssl ts -verify -data {files[0]} -in {files[2]} -CAfile clinic-root.pem")

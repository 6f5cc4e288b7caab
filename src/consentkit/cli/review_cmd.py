"""``consentkit review diff | approve | status | report``: what legal and compliance read, compare and approve."""

from __future__ import annotations

import json
import os
import shutil
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import click

from consentkit.cli._common import current_workspace, needed_workspace

if TYPE_CHECKING:
    from consentkit.review.status import ProcedureStatus
    from consentkit.workspace import Workspace


@click.group()
def review() -> None:
    """Compare procedure versions, approve them, and file the library's status (docs/review.md)."""


@review.command()
@click.argument("old")
@click.argument("new")
@click.option("--format", "fmt", default="text", show_default=True, type=click.Choice(["text", "html", "json"]))
@click.option("--lang", "langs", multiple=True, help="Compare the rendered documents in this locale only (repeatable).")
@click.option(
    "--doc",
    "docs",
    multiple=True,
    type=click.Choice(["consent", "disclosure", "care-guide"]),
    help="Compare this rendered document only (repeatable).",
)
@click.option("--no-render", is_flag=True, help="Only the semantic summary; do not render the documents.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="Write to a file, not stdout.")
@click.pass_context
def diff(
    ctx: click.Context,
    old: str,
    new: str,
    fmt: str,
    langs: tuple[str, ...],
    docs: tuple[str, ...],
    no_render: bool,
    output: Path | None,
) -> None:
    """Compare two versions of a procedure: OLD and NEW are spec files, PROCEDURE (the current version) or
    PROCEDURE@VERSION (from the workspace's git history, else the built-in library).

    A semantic summary comes first — risks added, removed, re-banded, re-rated or re-worded (naming the locales),
    contraindications, cooling-off, follow-up, options, version — then each rendered document, side by side, with
    the changed words marked [-old-] {+new+} (coloured on a terminal unless NO_COLOR is set). Each side says where
    it came from: the workspace's git history or working tree, or consentkit's built-in library.

    \b
    Examples:
      consentkit review diff botulinum-toxin@1.0.1 botulinum-toxin
      consentkit review diff old/rhinoplasty.yaml procedures/rhinoplasty.yaml --format html -o diff.html
    """
    from consentkit.review.diff import rendered_diff, semantic_diff, write_atomic
    from consentkit.review.diffview import DiffResult, as_html, as_json, as_text
    from consentkit.review.history import BUILTIN, resolve_version

    ws = current_workspace(ctx)
    before, after = resolve_version(ws, old), resolve_version(ws, new)
    for ref, version in ((old, before), (new, after)):
        if ws is not None and version.origin.startswith(BUILTIN) and "@" in ref:
            click.echo(
                f"note: {ref} is not in the workspace's git history or working tree; it comes from consentkit's "
                f"{version.origin}",
                err=True,
            )
    if before.model.id != after.model.id:
        click.echo(f"note: comparing two different procedures ({before.model.id}, {after.model.id})", err=True)
    changes = semantic_diff(before.model, after.model)
    documents = []
    if not no_render:
        documents = rendered_diff(
            ws, before, after, docs=docs or ("consent", "disclosure", "care-guide"), locales=list(langs) or None
        )
    result = DiffResult(before, after, changes, documents)
    if fmt == "json":
        text = as_json(result)
    elif fmt == "html":
        text = as_html(result)
    else:
        tty = output is None and sys.stdout.isatty() and "NO_COLOR" not in os.environ
        width = shutil.get_terminal_size((160, 40)).columns if output is None else 160
        text = as_text(result, width=width, color=tty)
    if output is not None:
        write_atomic(output, text.encode("utf-8"))
        click.echo(f"wrote {output} ({len(changes)} changes)", err=True)
    else:
        click.echo(text, nl=False)


@review.command()
@click.argument("procedure")
@click.option("--version", "version", help="The version being approved (must be the current one).")
@click.option("--reviewer", required=True, help="Your name or slug, as issued by 'consentkit pki issue reviewer'.")
@click.option("--role", required=True, type=click.Choice(["clinical", "legal"]), help="The review you sign for.")
@click.option(
    "--pkcs11",
    "pkcs11_uri",
    metavar="URI",
    help="Sign with your key on a PKCS#11 token (pkcs11: URI, PIN from the environment variable it names); default: "
    "the token your credential was issued for, else your key file in the workspace.",
)
@click.option(
    "--passphrase-env",
    metavar="VAR",
    help="The environment variable holding your own key passphrase (default CONSENTKIT_SIGNER_PASSPHRASE; else "
    "asked on the terminal).",
)
@click.pass_context
def approve(
    ctx: click.Context,
    procedure: str,
    version: str | None,
    reviewer: str,
    role: str,
    pkcs11_uri: str | None,
    passphrase_env: str | None,
) -> None:
    """Approve the current version of PROCEDURE as it renders now: its spec content hash and the hashes of the
    templates and fixed wording, signed with the reviewer's own key, recorded in the audit log (spec.approved) and
    filed under approvals/ (commit that folder).

    The certificate that signs must be issued for the --role review ('pki issue reviewer NAME --review-role
    ROLE'). Refused when the reviewer has no such credential, already approved this version in another required
    role, the spec has lint errors, --version is not the current one, or this version was approved with other
    content (bump the version). The workspace passphrase comes from the environment variable in consentkit.toml
    or a prompt."""
    from consentkit.review import approve as approve_spec

    ws = needed_workspace(ctx)
    approval = approve_spec(
        ws,
        procedure,
        reviewer=reviewer,
        role=role,
        version=version,
        secret=None,
        pkcs11=pkcs11_uri,
        signer_secret=_own_passphrase(ws, reviewer, role, pkcs11_uri, passphrase_env),
    )
    st = approval.statement
    click.echo(
        f"approved {st.procedure} {st.version} ({st.role}) by {st.reviewer.name} at {st.approved_at:%Y-%m-%d %H:%M} "
        f"UTC: spec {st.spec[:19]}…, {len(st.templates)} template files; audit event {approval.index}"
    )
    click.echo(f"  {approval.path.relative_to(ws.root)} (+ .p7s signature, .log.json audit reference)")


def _own_passphrase(
    ws: Workspace, reviewer: str, role: str, pkcs11_uri: str | None, passphrase_env: str | None
) -> bytes | None:
    """The reviewer's own key passphrase, asked only when the key is a file in the workspace (not a token)."""
    import datetime as dt

    from consentkit import keystore
    from consentkit.pki import WorkspacePki
    from consentkit.review.approvals import reviewer_credential

    if pkcs11_uri:
        return None
    record = reviewer_credential(WorkspacePki(ws).require(), reviewer, role, dt.datetime.now(dt.UTC))
    return keystore.signer_passphrase(record.name, env=passphrase_env) if record.key_storage == "pkcs12" else None


@review.command()
@click.option("--format", "fmt", default="table", show_default=True, type=click.Choice(["table", "json"]))
@click.option("--no-lint", is_flag=True, help="Skip counting lint findings (faster).")
@click.argument("procedures", nargs=-1)
@click.pass_context
def status(ctx: click.Context, fmt: str, no_lint: bool, procedures: tuple[str, ...]) -> None:
    """Every procedure (the workspace's and the built-in ones): version, spec hash, approval per required role (by
    whom and when, or "changed since approval"), next clinical review, open lint findings.

    Exit 0 when every procedure shown is approved; 1 when one is not (for scripts)."""
    from consentkit.review.status import library_status

    ws = current_workspace(ctx)
    statuses = library_status(ws, procedures=procedures, lint=not no_lint)
    if fmt == "json":
        click.echo(json.dumps([s.as_dict() for s in statuses], ensure_ascii=False, indent=2))
    else:
        _table(statuses, ws is not None)
    if not all(s.approved for s in statuses):
        ctx.exit(1)


def _table(statuses: Sequence[ProcedureStatus], in_workspace: bool) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title="Procedure library review status", show_lines=True)
    for name in ("procedure", "version", "spec", "approvals", "next review", "lint"):
        table.add_column(name, overflow="fold", min_width=44 if name == "approvals" else None)
    for s in statuses:
        roles = [f"{role}: {s.role_text(role)}" for role in s.state.roles] or ["no approval required"]
        colour = "green" if s.approved else "red"
        review = s.next_review.isoformat() if s.next_review else "—"
        if s.review_overdue:
            review = f"[red]{review} (overdue)[/red]"
        lint = "—" if s.lint is None else f"{s.lint.errors} errors, {s.lint.warnings} warnings"
        table.add_row(
            f"{s.id}\n[dim]{s.source}[/dim]",
            s.version,
            s.spec_hash.removeprefix("sha256:")[:12],
            f"[{colour}]" + "\n".join(roles).replace("[", "\\[") + f"[/{colour}]",
            review,
            lint,
        )
    # a terminal gets its own width; a pipe or file gets lines long enough to grep
    width = shutil.get_terminal_size((160, 40)).columns if sys.stdout.isatty() else 200
    console = Console(width=max(120, width))
    console.print(table)
    if not in_workspace:
        console.print("outside a workspace: the built-in library, no approvals (run inside a workspace)")


@review.command()
@click.option(
    "-o", "--output", required=True, type=click.Path(dir_okay=False, path_type=Path), help="report.pdf or report.html"
)
@click.option(
    "--lang",
    "langs",
    multiple=True,
    help="Locale of the SPECIMEN documents (repeatable; default: every locale the clinic issues).",
)
@click.argument("procedures", nargs=-1)
@click.pass_context
def report(ctx: click.Context, output: Path, langs: tuple[str, ...], procedures: tuple[str, ...]) -> None:
    """A report a compliance officer can file: a cover page listing every procedure, then per procedure a status
    page (approvals, policy checks, lint) followed by its rendered SPECIMEN consent form, risk disclosure and care
    guide in every locale the clinic issues (or --lang). PDF (PDF/A-3b, pages numbered across the report) or one
    self-contained, printable HTML file, by the file name."""
    from consentkit.review.report import write_report

    if output.suffix.lower() not in (".pdf", ".html", ".htm"):
        raise click.UsageError("-o must name a .pdf or .html file")
    ws = current_workspace(ctx)
    start = time.perf_counter()
    done = write_report(ws, output, procedures=procedures, locales=langs)
    size = f"{output.stat().st_size // 1024} KiB in {time.perf_counter() - start:.1f} s"
    specimens = f"{done.documents} SPECIMEN documents ({', '.join(done.locales)})"
    if done.pages is not None:
        click.echo(f"wrote {output}: {done.procedures} procedures, {done.pages} pages, {specimens}, {size}", err=True)
    else:
        click.echo(
            f"wrote {output}: {done.procedures} procedures, {specimens}, one self-contained HTML file (no external "
            f"files; fonts by name, see docs/review.md), {size}",
            err=True,
        )

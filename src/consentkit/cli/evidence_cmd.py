"""``consentkit evidence CASE_ID -o BUNDLE.zip`` and ``consentkit verify-evidence BUNDLE.zip``."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from consentkit.cli._common import needed_workspace
from consentkit.cli._workflow_options import actor_option
from consentkit.errors import EXIT_PROBLEMS


@click.command()
@click.argument("case_id")
@click.option(
    "-o", "--output", required=True, type=click.Path(dir_okay=False, path_type=Path), help="The bundle to write (.zip)."
)
@click.option(
    "--packet",
    "packet_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="The packet folder (default: the case's current packet).",
)
@actor_option("staff", ("staff", "auditor", "physician", "nurse"))
@click.pass_context
def evidence(
    ctx: click.Context, case_id: str, output: Path, packet_dir: Path | None, actor: str | None, actor_role: str
) -> None:
    """Write CASE_ID's evidence bundle: the signed packet and manifest, the case's audit events with inclusion
    proofs to a freshly signed and timestamped tree head, every RFC 3161 token as a .tsr file, the certificate
    chains, the approvals, a one-page disclosure certificate (PDF) and VERIFY.md with the plain openssl, pdfsig
    and sha256sum commands that check it all. The file is written atomically; evidence.exported is logged after."""
    from consentkit.workflow import actor as make_actor
    from consentkit.workflow import export_evidence

    ws = needed_workspace(ctx)
    done = export_evidence(ws, case_id, output, packet_dir=packet_dir, who=make_actor(actor, actor_role))
    events = [e for e in done.bundle.events if e.type != "spec.approved"]
    stamps = sum(1 for n in done.bundle.files if n.startswith("timestamps/"))
    click.echo(f"wrote {done.path} ({done.size // 1024} KiB, sha256 {done.sha256})")
    click.echo(
        f"  {len(events)} case events and {len(done.bundle.events) - len(events)} approvals, each with an inclusion "
        f"proof to tree head {done.head.root.hex()[:16]}… ({done.head.size} events, signed and timestamped)"
    )
    click.echo(f"  {stamps} RFC 3161 tokens, certificate chains, disclosure-certificate.pdf, VERIFY.md")
    click.echo(f"logged: evidence.exported, audit event {done.event.index}")
    root, key = ws.signatures_dir / "trust" / "clinic-root.pem", ws.state_dir / "pki" / "audit-log.pub.pem"
    click.echo(f"check it: consentkit verify-evidence {done.path} --trust-root {root} --log-key {key}")


@click.command(name="verify-evidence")
@click.argument("bundle", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--procedure-at",
    "procedure_at",
    metavar="TIME",
    help="When the procedure started (ISO 8601; without a zone, the clinic's). Default: the procedure.started event.",
)
@click.option(
    "--trust-root",
    "trust_roots",
    multiple=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Pin the clinic's root certificate (PEM), repeatable. Default: the one in the bundle (reported as unpinned).",
)
@click.option(
    "--log-key",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Pin the clinic's audit-log public key (PEM). Default: the one in the bundle (reported as unpinned).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the full report as JSON.")
def verify_evidence(
    bundle: Path, procedure_at: str | None, trust_roots: tuple[Path, ...], log_key: Path | None, as_json: bool
) -> None:
    """Check an evidence bundle offline, without a workspace, and say first, in one sentence, whether the
    disclosure provably preceded the procedure by at least the cooling-off period; then the details.

    \b
    Exit codes: 0 it did and everything verified; 1 it did not, or something does not verify; 3 unreadable or
    unsafe bundle."""
    from consentkit.evidence.verify_bundle import verify_evidence as run

    at = None
    if procedure_at:
        from consentkit.evidence.zipread import read_bundle
        from consentkit.workflow.timeparse import parse_time

        at = parse_time(procedure_at, _bundle_zone(read_bundle(bundle)), "--procedure-at")
    report = run(bundle, procedure_at=at, trust_roots=trust_roots, log_key=log_key)
    if as_json:
        click.echo(json.dumps(report.to_dict(), ensure_ascii=False, indent=2))
    else:
        print_report(report)
    if not report.ok:
        sys.exit(EXIT_PROBLEMS)


def _bundle_zone(files: dict[str, bytes]) -> Any:
    from zoneinfo import ZoneInfo

    try:
        return ZoneInfo(json.loads(files["bundle.json"])["timezone"])
    except Exception:  # no index or zone: UTC; verification itself reports the bundle's problems
        return ZoneInfo("UTC")


def print_report(report: Any, echo: Any = click.echo) -> None:
    import datetime as dt

    zone = report.zone

    def when(value: dt.datetime | str | None) -> str:
        if value is None:
            return "—"
        moment = dt.datetime.fromisoformat(value) if isinstance(value, str) else value
        here = moment.astimezone(zone)
        return f"{here:%Y-%m-%d %H:%M:%S} {here.tzname()}"

    echo(click.style(report.sentence, fg="green" if report.ok else "red", bold=True))
    echo("")
    echo(f"times in {zone.key}")
    echo("anchors relied on:")
    for a in report.anchors:
        state = "pinned" if a.pinned else "NOT pinned: compare with the clinic's published fingerprint"
        echo(f"  {a.what:<13} sha256 {a.fingerprint}  {a.name}  ({a.source}; {state})")
    if report.head:
        h = report.head
        valid = "" if h.get("ok") else " — NOT VALID"
        echo(f"tree head: {h['size']} events, root {h['root']}, timestamped {when(h.get('timestamp'))}{valid}")
    echo(f"events proven in the tree: {len(report.events)}")
    for s in report.signatures:
        mark = "ok" if s["ok"] else "NOT VALID"
        echo(f"  {s['field']:<24} {s['role'] or '?':<19} {when(s['time'])}  {mark}  {s['signer'] or '?'}")
    if report.timeline:
        echo("timeline:")
        for m in report.timeline:
            echo(f"  {when(m.time)}  {m.label('en'):<36} [{m.source}]")
    if report.period is not None:
        echo(f"cooling-off: {report.period.describe('en')} (the terms printed in the packet)")
        if report.procedure_at is not None:
            echo(f"  procedure time from {report.procedure_source}: {when(report.procedure_at)}")
    if report.approvals:
        echo("who approved the disclosure text:")
        for a in report.approvals:
            signed = "signed statement verified" if a.statement_verified else "no signed statement checked"
            echo(f"  {a.review:<9} {a.reviewer} ({a.reviewer_id}), {when(a.approved_at)}; {signed}")
    if report.problems:
        echo(click.style("problems:", fg="red", bold=True))
        for p in report.problems:
            echo(f"  ✗ {p}")
    for note in report.notes:
        echo(f"note: {note}")

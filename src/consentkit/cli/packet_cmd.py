"""``consentkit packet CASE.yaml -o DIR``."""

from __future__ import annotations

from pathlib import Path

import click

from consentkit.cli._common import needed_workspace
from consentkit.cli._workflow_options import actor_option


@click.command()
@click.argument("case_file", metavar="CASE.yaml", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "-o",
    "--output",
    "out_dir",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder to create (it must not exist, or be empty).",
)
@click.option("--draft", is_flag=True, help='Stamp every page "DRAFT — NOT FOR SIGNATURE" (manifest: draft: true).')
@actor_option("staff", ("staff", "physician", "nurse"))
@click.pass_context
def packet(ctx: click.Context, case_file: Path, out_dir: Path, draft: bool, actor: str | None, actor_role: str) -> None:
    """Make a patient's packet from a case file: packet.pdf (PDF/A-3b, manifest attached), care-guide.pdf,
    three DOCX copies, follow-up.ics and manifest.json.

    \b
    Exit codes: 0 written; 1 refused (absolute contraindication, relative one without an override, minor not
    allowed); 3 bad case file (file, line and field in the message), including a planned time in the past or
    earlier than the cooling-off period allows (a --draft is made anyway, with a note). Nothing is left in DIR
    unless it succeeded.
    The audit log records packet.generated (the hashes of every file) and the folder becomes the case's current
    packet for present, checkin and evidence.
    """
    from consentkit.workflow import actor as make_actor
    from consentkit.workflow import generate_packet

    ws = needed_workspace(ctx)
    who = make_actor(actor, actor_role)
    generated = generate_packet(ws, case_file, out_dir, draft=draft, who=who)
    result = generated.packet
    m = result.manifest
    click.echo(f"packet {m.packet_id} for case {m.case_id}: {m.procedure.id} {m.procedure.version}")
    for name in sorted(result.paths):
        click.echo(f"  {result.paths[name]}")
    roles = ", ".join(f"{b.role} (page {b.page})" for b in m.signature_boxes)
    click.echo(f"signatures needed: {roles}")
    if m.draft:
        click.echo("draft: every page is stamped DRAFT — NOT FOR SIGNATURE")
    for note in result.notes:
        click.echo(f"note: {note}", err=True)
    click.echo(f"logged: packet.generated, audit event {generated.event.index}")

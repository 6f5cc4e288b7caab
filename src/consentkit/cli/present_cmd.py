"""``consentkit present CASE_ID --how printed|screen``."""

from __future__ import annotations

from pathlib import Path

import click

from consentkit.cli._common import needed_workspace
from consentkit.cli._workflow_options import actor_option


@click.command()
@click.argument("case_id")
@click.option(
    "--how", required=True, type=click.Choice(["printed", "screen"]), help="Handed over on paper, or shown on a screen."
)
@click.option(
    "--packet",
    "packet_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="The packet folder (default: the case's current packet).",
)
@actor_option("staff", ("staff", "nurse", "physician"))
@click.pass_context
def present(
    ctx: click.Context, case_id: str, how: str, packet_dir: Path | None, actor: str | None, actor_role: str
) -> None:
    """Record that the disclosure was handed to the patient (printed) or shown on a screen: a
    disclosure.presented audit event with the hashes of the packet shown. Drafts and altered packets are refused."""
    from consentkit.workflow import actor as make_actor
    from consentkit.workflow import present_disclosure

    ws = needed_workspace(ctx)
    who = make_actor(actor, actor_role)
    done = present_disclosure(ws, case_id, how=how, packet_dir=packet_dir, who=who)  # type: ignore[arg-type]
    click.echo(
        f"recorded: disclosure {'handed over (printed)' if how == 'printed' else 'shown on screen'} for case "
        f"{case_id} — audit event {done.index}"
    )

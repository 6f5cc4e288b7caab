"""``consentkit checkin CASE_ID [--at TIME] [--physician NAME]``: the pre-procedure gate."""

from __future__ import annotations

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
    "--at",
    "at_text",
    metavar="TIME",
    help="Check-in time (ISO 8601; without a zone, the clinic's). Default: now; never more than 2 minutes from now "
    "(a watch a little off, never a planned time or a check-in recorded after the procedure).",
)
@click.option(
    "--physician",
    metavar="NAME",
    help="Who is operating (default: physicians.operating in the case file); must be the physician who signed.",
)
@click.option(
    "--packet",
    "packet_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="The packet folder (default: the case's current packet).",
)
@click.option(
    "--lang",
    type=click.Choice(["zh-CN", "zh-TW", "en"]),
    help="Language of the reasons (default: the clinic's first language).",
)
@actor_option("nurse", ("nurse", "physician", "staff"))
@click.pass_context
def checkin(
    ctx: click.Context,
    case_id: str,
    at_text: str | None,
    physician: str | None,
    packet_dir: Path | None,
    lang: str | None,
    actor: str | None,
    actor_role: str,
) -> None:
    """Check, just before the procedure, that it may start: the packet is the signed one the log recorded, everyone
    required has signed and every signature verifies, a minor's guardian signed, the cooling-off period has passed
    since the patient signed, and (where the policy requires it) the operating physician is the one who signed.

    \b
    The decision is logged either way (procedure.checkin; procedure.started when it passes).
    Exit codes: 0 may start; 1 refused (every reason listed, most important first); 3 bad input."""
    from consentkit.workflow import actor as make_actor
    from consentkit.workflow import checkin as run_checkin
    from consentkit.workflow.timeparse import parse_time

    ws = needed_workspace(ctx)
    who = make_actor(actor, actor_role)
    at = parse_time(at_text, ws.zone, "--at") if at_text else None
    result = run_checkin(ws, case_id, at=at, physician=physician, packet_dir=packet_dir, who=who)
    locale = lang or next((x for x in ws.config.clinic.locales if x in ("zh-CN", "zh-TW", "en")), "en")
    print_decision(result, ws.zone, locale)
    if not result.passed:
        sys.exit(EXIT_PROBLEMS)


def print_decision(result: Any, zone: Any, locale: str, echo: Any = click.echo) -> None:
    from consentkit.evidence.gate_words import local_time, role_list

    d = result.decision
    when = local_time(d.at, zone)
    if not d.passed:
        count = len(d.failures)
        echo(
            click.style(
                f"REFUSED: do not start the procedure for case {result.packet.case_id} "
                f"(check-in time {when}); {count} reason{'s' if count > 1 else ''}:",
                fg="red",
                bold=True,
            )
        )
        for n, failure in enumerate(d.failures, start=1):
            echo(f"  {n}. {failure.message(locale)}")
        echo(f"logged: procedure.checkin, audit event {result.checkin.index} (refused: {', '.join(d.codes)})")
        return
    m = result.packet.manifest
    echo(
        click.style(
            f"PASSED: the procedure for case {result.packet.case_id} may start (check-in time {when}).",
            fg="green",
            bold=True,
        )
    )
    echo(f"  - the packet is the signed file the log recorded (sha256 {d.pdf_sha256[:16]}…)")
    echo(f"  - signed by {role_list(list(m.required_roles), 'en')}; sealed; every signature verifies")
    if d.consent_signed_at is not None and d.earliest is not None and d.period is not None:
        echo(
            f"  - cooling-off: signed {local_time(d.consent_signed_at, zone)}; {d.period.describe('en')}; "
            f"earliest start {local_time(d.earliest, zone)}"
        )
    if d.proven_after is not None:
        echo(
            f"  - checked in after {local_time(d.proven_after, zone)}, the RFC 3161 time of the tree head made just "
            "before (named in the check-in event)"
        )
    if d.physician_signer:
        echo(f"  - operating physician {d.operating_physician or d.physician_signer} signed the disclosure")
    started = result.started.index if result.started else "?"
    echo(f"logged: procedure.checkin (pass), audit event {result.checkin.index}; procedure.started, event {started}")

"""``consentkit sign`` and ``consentkit verify``."""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from consentkit.cli._common import current_workspace, needed_workspace
from consentkit.errors import EXIT_PROBLEMS, InputError

if TYPE_CHECKING:
    from consentkit.sign.signing import SignerRef
    from consentkit.workflow import Actor
    from consentkit.workspace import Workspace

ROLES = ["clinic", "physician", "patient", "guardian", "witness", "seal"]


@click.command()
@click.argument("pdf", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--role", type=click.Choice(ROLES), help="Who signs now ('seal': the final clinic seal).")
@click.option(
    "--renew-archive",
    is_flag=True,
    help="Instead of a role: add a new archival (document) timestamp over a sealed packet and the validation data "
    "of its newest one, before that one stops validating (PAdES LTA renewal).",
)
@click.option("--signer", metavar="NAME", help="Physician or witness: name, file slug or serial in 'pki list'.")
@click.option("--pkcs11", "pkcs11_uri", metavar="URI", help="Sign with a key on a PKCS#11 token (pkcs11: URI).")
@click.option(
    "--passphrase-env",
    metavar="VAR",
    help="Physician or witness: the environment variable holding the signer's own key passphrase (default "
    "CONSENTKIT_SIGNER_PASSPHRASE; else asked on the terminal).",
)
@click.option(
    "--case", "case_path", type=click.Path(dir_okay=False, path_type=Path), help="Patient or guardian: the case file."
)
@click.option(
    "--signature-image",
    type=click.Path(dir_okay=False, path_type=Path),
    help="A drawn signature (PNG or JPEG) shown in the signature box.",
)
@click.option(
    "--manifest",
    "manifest_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="The packet's manifest.json (default: beside the PDF).",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the signed file here (default: replace PDF).",
)
@click.option(
    "--no-seal", is_flag=True, help="Do not apply the clinic seal after the last role (use --role seal later)."
)
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.option(
    "--actor",
    metavar="LOGIN",
    help="Who ran the signing, as a login for the audit log (default: the signer's slug, or the operating-system "
    "user for the clinic and seal; the patient and guardian are always logged by their pseudonym).",
)
@click.pass_context
def sign(
    ctx: click.Context,
    pdf: Path,
    role: str | None,
    renew_archive: bool,
    signer: str | None,
    pkcs11_uri: str | None,
    passphrase_env: str | None,
    case_path: Path | None,
    signature_image: Path | None,
    manifest_path: Path | None,
    output: Path | None,
    no_seal: bool,
    as_json: bool,
    actor: str | None,
) -> None:
    """Sign PDF as ROLE, in the signing profile's order (clinic, physician, patient or guardian, witness).
    After the last role the clinic seal locks the packet and a document timestamp makes it PAdES B-LTA.
    The file is replaced atomically. Each signature is logged (document.signed) with a signed tree head; the
    patient and guardian are logged by their pseudonym, others by --actor (default: the signer's slug, or the
    operating-system user for the clinic). With --renew-archive instead of --role: a new archival timestamp
    keeps a sealed packet verifiable past its newest timestamp's TSA certificate (or CRLs); it is logged
    (document.timestamped, with a tree head), so the gate and the evidence take the renewed file."""
    from consentkit import keystore
    from consentkit.case import load_case
    from consentkit.workflow import actor as make_actor
    from consentkit.workflow import sign_role

    if (role is None) == (not renew_archive):
        raise click.UsageError("give --role ROLE, or --renew-archive for a sealed packet")
    ws = needed_workspace(ctx)
    if renew_archive:
        _renew(ws, pdf, output, manifest_path, make_actor(actor, "clinic") if actor else None, as_json)
        return
    assert role is not None
    who = make_actor(actor, "clinic") if actor else None
    case = load_case(case_path)[0] if case_path else None
    image = _read(signature_image) if signature_image else None
    secret = keystore.passphrase(ws)
    step = sign_role(
        ws,
        pdf,
        role,
        _signer_ref(ws, role, signer, pkcs11_uri, passphrase_env),
        secret=secret,
        case=case,
        manifest_path=manifest_path,
        output=output,
        signature_image=image,
        seal=not no_seal,
        who=who,
    )
    result = step.result
    if as_json:
        data = _result_dict(result)
        click.echo(json.dumps(data, ensure_ascii=False, indent=2))
        return
    zone = ws.zone
    click.echo(
        f"signed {result.path} as {result.role} ({result.signer_name}); TSA time "
        f"{result.tsa_time.astimezone(zone):%Y-%m-%d %H:%M:%S %Z} from {result.tsa_name}; revision {result.revision}"
    )
    if result.seal is not None:
        s = result.seal
        when = s.tsa_time.astimezone(zone)
        click.echo(
            f"sealed: clinic seal locks every field; document timestamp {when:%Y-%m-%d %H:%M:%S %Z} ({s.pades_level})"
        )
    click.echo(f"sha256 {result.sha256}  {result.size} bytes")
    logged = ", ".join(str(e.index) for e in step.events)
    click.echo(
        f"logged: document.signed, audit event{'s' if len(step.events) > 1 else ''} {logged}; tree head of "
        f"{step.head.size} events signed and timestamped"
    )


def _renew(
    ws: Workspace, pdf: Path, output: Path | None, manifest: Path | None, who: Actor | None, as_json: bool
) -> None:
    from consentkit import keystore
    from consentkit.workflow import renew_archive

    # through the workflow: the renewal is logged (document.timestamped, with a head), so the gate and the evidence
    # take the renewed file as the packet's latest
    step = renew_archive(
        ws,
        pdf,
        secret=keystore.passphrase(ws),
        manifest_path=manifest,
        output=output,
        who=who,
    )
    result = step.result
    if as_json:
        click.echo(json.dumps(_result_dict(result), ensure_ascii=False, indent=2))
        return
    when = result.tsa_time.astimezone(ws.zone)
    click.echo(
        f"renewed {result.path}: archival timestamp {result.field} {when:%Y-%m-%d %H:%M:%S %Z} from {result.tsa_name} "
        f"({result.timestamps} document timestamps); sha256 {result.sha256}  {result.size} bytes"
    )
    click.echo(
        f"logged: document.timestamped, audit event {step.event.index}; tree head of {step.head.size} events signed "
        "and timestamped"
    )


def _signer_ref(
    ws: Workspace, role: str, signer: str | None, pkcs11_uri: str | None, passphrase_env: str | None
) -> SignerRef | None:
    """Who signs, with their own key passphrase when their key is a PKCS#12 in the workspace (asked only then)."""
    from consentkit import keystore
    from consentkit.pki import WorkspacePki
    from consentkit.sign.signing import SignerRef

    if not (signer or pkcs11_uri):
        return None
    own = None
    if signer and not pkcs11_uri and role in ("physician", "witness"):
        record = WorkspacePki(ws).require().find(signer, roles=(role,))
        if record.key_storage == "pkcs12":
            own = keystore.signer_passphrase(record.name, env=passphrase_env)
    return SignerRef(name=signer, pkcs11=pkcs11_uri, passphrase=own)


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror}") from exc


def _result_dict(result: object) -> dict[str, object]:
    from dataclasses import asdict

    def clean(value: object) -> object:
        if isinstance(value, dict):
            return {k: clean(v) for k, v in value.items()}
        if isinstance(value, dt.datetime):
            return value.isoformat()
        if isinstance(value, Path):
            return str(value)
        return value

    data = clean(asdict(result))  # type: ignore[call-overload]
    assert isinstance(data, dict)
    return data


@click.command()
@click.argument("pdf", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the full report as JSON.")
@click.option(
    "--trust",
    "trust_files",
    multiple=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="The clinic's root (PEM), trusted for signers and timestamps; repeatable (default: signatures/trust/ of "
    "the workspace and built-in).",
)
@click.option(
    "--tsa-trust",
    "tsa_trust_files",
    multiple=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="An external TSA's root (PEM), trusted for timestamps only; repeatable.",
)
@click.option(
    "--manifest",
    "manifest_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="The packet's manifest.json (default: beside the PDF, else the one attached to it).",
)
@click.option("--at", "at_text", metavar="TIME", help="Validate as of this ISO 8601 time (default: now).")
@click.pass_context
def verify(
    ctx: click.Context,
    pdf: Path,
    as_json: bool,
    trust_files: tuple[Path, ...],
    tsa_trust_files: tuple[Path, ...],
    manifest_path: Path | None,
    at_text: str | None,
) -> None:
    """Check every signature of PDF offline, with only the validation data it carries: who signed in which role,
    certificate chain, intact / valid / trusted, TSA time, DocMDP, coverage, PAdES level, long-term validation.
    Exit 0 when every required role has signed and every check passes, 1 otherwise (reason first)."""
    from consentkit.sign.profile import load_profile
    from consentkit.sign.trust import TrustAnchors, trust_roots_from, workspace_trust_roots
    from consentkit.sign.verify import verify_packet

    ws = current_workspace(ctx)
    given = workspace_trust_roots(ws) if not trust_files else TrustAnchors(tuple(trust_roots_from(trust_files)))
    roots = TrustAnchors(given.clinic, (*given.tsa_only, *trust_roots_from(tsa_trust_files)))
    profile = load_profile(ws.signature_roots(), ws.config.signing.profile).model if ws else None
    at = _parse_time(at_text) if at_text else None
    report = verify_packet(pdf, trust_roots=roots, manifest=manifest_path, at=at, profile=profile)
    if as_json:
        click.echo(json.dumps(report.to_dict(), ensure_ascii=False, indent=2))
    else:
        _print_report(report, ws.zone if ws else dt.UTC)
    if not report.ok:
        sys.exit(EXIT_PROBLEMS)


def _parse_time(text: str) -> dt.datetime:
    try:
        value = dt.datetime.fromisoformat(text)
    except ValueError as exc:
        raise InputError(f"--at: '{text}' is not an ISO 8601 time (e.g. 2036-12-01T09:00:00+08:00)") from exc
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def _print_report(report: object, zone: dt.tzinfo) -> None:
    from consentkit.sign.report import VerificationReport

    assert isinstance(report, VerificationReport)
    verdict = "VALID" if report.ok else "NOT VALID"
    click.echo(
        f"{report.path}: {verdict} — PAdES {report.pades_level}, "
        f"{'sealed' if report.sealed else 'not sealed'}; sha256 {report.sha256}"
    )
    for reason in report.reasons:
        click.echo(f"  ✗ {reason}")
    for note in report.notes:
        click.echo(f"  ! {note}")
    for c in report.signatures:
        when = (
            c.timestamp.time.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S %Z")
            if c.timestamp and c.timestamp.time
            else "—"
        )
        marks = f"intact={_yn(c.intact)} valid={_yn(c.valid)} trusted={_yn(c.trusted)}"
        click.echo(f"- {c.field} [{c.role or '?'}] revision {c.revision}: {c.signer or '?'}  {marks}")
        ltv = "—" if c.kind == "document-timestamp" else "passed" if c.ltv else "not passed"
        indication = f" ({c.ltv_indication})" if c.ltv_indication else ""
        tsa = c.timestamp.tsa if c.timestamp else "—"
        click.echo(f"    time {when} via {tsa}; level {c.pades_level}; LTV {ltv}{indication}")
        extra = [f"changes after it: {c.modification}"]
        if c.docmdp:
            extra.append(f"allows: {c.docmdp}")
        if c.locks_fields:
            extra.append("locks the fields")
        extra.append(
            "covers the whole file"
            if c.covers_whole_file
            else "covers its revision"
            if c.covers_revision
            else "does not cover its revision"
        )
        click.echo("    " + "; ".join(extra))
        if c.chain:
            click.echo(f"    chain: {' ← '.join(c.chain)}")
        if c.binding:
            click.echo(f"    {c.binding}")
    for gap in report.uncovered:
        click.echo(f"  not covered by any signature: bytes {gap.start}–{gap.end} ({gap.what})")


def _yn(value: bool) -> str:
    return "yes" if value else "NO"

"""``consentkit pki issue|list|revoke|identity``: the workspace's signers and their certificates."""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path

import click

from consentkit.cli._common import needed_workspace
from consentkit.errors import EXIT_PROBLEMS, InputError

CLINIC_KEYS = ("clinic-certify", "clinic-seal", "tsa")


@click.group()
def pki() -> None:
    """Issue, list and revoke the certificates of the workspace CA."""


@pki.command()
@click.argument("role", type=click.Choice(["physician", "witness", "reviewer", *CLINIC_KEYS]))
@click.argument("name", required=False)
@click.option("--slug", help="File name under .consentkit/pki/signers/ (default: from the name).")
@click.option(
    "--review-role",
    type=click.Choice(["clinical", "legal"]),
    help="Reviewer only (required): the review this certificate approves for; it is written into the certificate "
    "(OU=clinical review | legal review). One person with both duties gets two certificates.",
)
@click.option(
    "--pkcs11",
    "pkcs11_uri",
    metavar="URI",
    help="The key is on a token (pkcs11:token=…;object=…?module-path=…&pin-source=env:VAR): certify its public "
    "key and store the certificate on the token too.",
)
@click.option(
    "--passphrase-env",
    metavar="VAR",
    help="The environment variable holding this person's own key passphrase (default "
    "CONSENTKIT_SIGNER_PASSPHRASE; else asked twice on the terminal). Not the workspace passphrase.",
)
@click.pass_context
def issue(
    ctx: click.Context,
    role: str,
    name: str | None,
    slug: str | None,
    review_role: str | None,
    pkcs11_uri: str | None,
    passphrase_env: str | None,
) -> None:
    """Issue a certificate for a physician or witness NAME (the name printed on the packet), or for a reviewer
    NAME who approves procedure versions ('consentkit review approve') in one review: --review-role clinical|legal.

    Without --pkcs11 a new key is made and kept as PKCS#12 in the workspace, encrypted with that person's own
    passphrase (sole control: the workspace passphrase, also asked for, only lets the clinic CA certify it).

    clinic-certify, clinic-seal or tsa (no NAME): the clinic's certification, seal or embedded-TSA key is on a
    token (--pkcs11 URI, or consentkit.toml [signing.keys.ROLE]); its public key gets a new certificate that
    replaces the workspace's, stored on the token too."""
    from consentkit import keystore
    from consentkit.pki import WorkspacePki

    if role in CLINIC_KEYS:
        _issue_clinic_key(ctx, role, pkcs11_uri)
        return
    if not name:
        raise click.UsageError(f"name the {role}: consentkit pki issue {role} NAME")
    if (role == "reviewer") != (review_role is not None):
        raise click.UsageError(
            "a reviewer certificate needs --review-role clinical|legal"
            if role == "reviewer"
            else "--review-role is for reviewer certificates only"
        )
    ws = needed_workspace(ctx)
    authority = WorkspacePki(ws).require()
    secret = keystore.passphrase(ws)
    if pkcs11_uri:
        from consentkit.sign.signers import Pkcs11Ref, store_token_certificate, token_public_key

        ref = Pkcs11Ref.parse(pkcs11_uri)
        public = token_public_key(ref)
        cert, record = authority.issue_for_public_key(
            role, name, public, secret, slug=slug, pkcs11_uri=ref.uri(), review_role=review_role
        )
        store_token_certificate(ref, cert)
        where = f"key on token '{ref.token_label}', certificate stored there and in signers/{record.slug}.pem"
    else:
        own = keystore.signer_passphrase(name, env=passphrase_env, new=True)
        record = authority.issue_signer(role, name, secret, slug=slug, review_role=review_role, passphrase=own)
        where = f"signers/{record.slug}.p12"
    kind = f"{role} ({review_role} review)" if review_role else role
    click.echo(
        f"issued {kind} certificate for {record.name}: serial {record.serial}, valid until "
        f"{record.not_after:%Y-%m-%d} ({where})"
    )


def _issue_clinic_key(ctx: click.Context, role: str, pkcs11_uri: str | None) -> None:
    from consentkit import keystore
    from consentkit.pki import WorkspacePki
    from consentkit.sign.tokens import Pkcs11Ref, store_token_certificate, token_public_key

    ws = needed_workspace(ctx)
    configured = ws.config.signing.keys.get(role)  # type: ignore[call-overload]
    if pkcs11_uri:
        ref = Pkcs11Ref.parse(pkcs11_uri)
    elif configured is not None:
        ref = Pkcs11Ref.from_config(configured, f"consentkit.toml [signing.keys.{role}]")
    else:
        raise click.UsageError(
            f"the {role} key on a token: give --pkcs11 URI, or [signing.keys.{role}] in consentkit.toml"
        )
    authority = WorkspacePki(ws).require()
    secret = keystore.passphrase(ws)
    cert, record = authority.issue_clinic_key(role, token_public_key(ref), secret, pkcs11_uri=ref.uri())  # type: ignore[arg-type]
    store_token_certificate(ref, cert)
    click.echo(
        f"issued {role} certificate for the key on token '{ref.token_label}': serial {record.serial}, valid until "
        f"{record.not_after:%Y-%m-%d}; it replaces {role}.pem (the former certificate is revoked as superseded and "
        "kept beside it; its key file is deleted)"
    )


@pki.command(name="list")
@click.option("--all", "show_all", is_flag=True, help="Include patients' one-time certificates.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_context
def list_(ctx: click.Context, show_all: bool, as_json: bool) -> None:
    """Every certificate the workspace CA issued: subject, role, serial, validity, revocation."""
    from consentkit.pki import WorkspacePki

    records = WorkspacePki(needed_workspace(ctx)).require().records()
    if not show_all:
        records = [r for r in records if r.key_storage != "discarded"]
    now = dt.datetime.now(dt.UTC)
    if as_json:
        click.echo(
            json.dumps([{**r.to_json(), "status": r.status(now)} for r in records], ensure_ascii=False, indent=2)
        )
        return
    for r in records:
        role = f"{r.role} ({r.review_role})" if r.review_role else r.role
        click.echo(
            f"{role:<15} {r.name:<28} serial {r.serial:<42} {r.not_before:%Y-%m-%d} → {r.not_after:%Y-%m-%d}  "
            f"{r.status(now)}"
        )
        click.echo(f"{'':15} {r.subject}")


@pki.command()
@click.argument("who")
@click.option(
    "--reason",
    required=True,
    type=click.Choice(["unspecified", "key-compromise", "affiliation-changed", "superseded", "cessation-of-operation"]),
    help="Why (goes into the CRL).",
)
@click.pass_context
def revoke(ctx: click.Context, who: str, reason: str) -> None:
    """Revoke the certificate of WHO (a name, file slug or serial). The new CRL is embedded in every later
    signature's validation data."""
    from consentkit import keystore
    from consentkit.pki import WorkspacePki

    ws = needed_workspace(ctx)
    record = WorkspacePki(ws).require().revoke(who, reason, keystore.passphrase(ws))
    click.echo(f"revoked {record.role} certificate of {record.name} (serial {record.serial}): {reason}; CRL updated")


@pki.command()
@click.argument("pdf", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--case", "case_path", type=click.Path(dir_okay=False, path_type=Path), help="The case file.")
@click.option("--document", metavar="TYPE:NUMBER", help="An identity document shown to you, e.g. resident-id:1101….")
@click.option(
    "--role",
    type=click.Choice(["patient", "guardian"]),
    default="patient",
    show_default=True,
    help="With --document: whose certificate to compare.",
)
@click.pass_context
def identity(ctx: click.Context, pdf: Path, case_path: Path | None, document: str | None, role: str) -> None:
    """Confirm that the one-time certificate that signed PDF binds an identity document: the patient's and
    guardian's of --case, or --document TYPE:NUMBER. The binding is an HMAC keyed with this workspace's secret, so
    only the clinic can answer this (for an auditor who has seen the document). Only an intact signature by a
    certificate this workspace's CA issued counts. Exit 0 when every compared certificate matches, 1 otherwise."""
    from consentkit.case import load_case
    from consentkit.pki.identity import check_identities, parse_document

    if (case_path is None) == (document is None):
        raise click.UsageError("give either --case CASE.yaml or --document TYPE:NUMBER")
    ws = needed_workspace(ctx)
    documents: dict[str, tuple[str, str]] = {}
    if case_path is not None:
        case = load_case(case_path)[0]
        for who, person in (("patient", case.patient), ("guardian", case.guardian)):
            if person is not None:
                documents[who] = (person.identity.type, person.identity.number)
    else:
        documents[role] = parse_document(document or "")
    try:
        data = pdf.read_bytes()
    except OSError as exc:
        raise InputError(f"{pdf}: cannot read: {exc.strerror}") from exc
    checks = check_identities(ws, data, documents)
    if not checks:
        click.echo(f"{pdf}: no one-time certificate of the {' or '.join(documents)} signed it")
        sys.exit(EXIT_PROBLEMS)
    for c in checks:
        verdict = "matches" if c.matches else "does NOT match"
        if c.problem is not None:
            verdict = f"cannot be confirmed: {c.problem}"
        click.echo(f"{c.role} {c.name} (case {c.case_id}, {c.kind}): the identity document {verdict}")
    if not all(c.matches for c in checks):
        sys.exit(EXIT_PROBLEMS)

"""``consentkit init``."""

from __future__ import annotations

from pathlib import Path

import click

from consentkit.workspace import init_workspace


@click.command()
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "--jurisdiction",
    default="cn",
    show_default=True,
    help="Policy to apply: cn, tw, uk, fr, us, or the workspace's own procedures/policies/<code>.yaml.",
)
@click.option("--timezone", default="Asia/Shanghai", show_default=True, help="The clinic's IANA time zone.")
@click.option("--clinic-name", help="Clinic name written into consentkit.toml (edit it there later).")
def init(directory: Path, jurisdiction: str, timezone: str, clinic_name: str | None) -> None:
    """Create a workspace in DIRECTORY: consentkit.toml, procedures/, templates/, and the git-ignored
    state folder .consentkit/ that holds the database, keys and secrets.

    It also creates the workspace PKI: clinic root and issuing CA, the clinic's certification and seal
    certificates, the embedded time-stamping authority, the audit-log key and the first CRLs. Private keys are
    encrypted with the passphrase from $CONSENTKIT_PASSPHRASE (asked for when it is not set)."""
    from consentkit import keystore
    from consentkit.errors import WorkspaceError
    from consentkit.pki import WorkspacePki
    from consentkit.workspace import CONFIG_FILE, Workspace, WorkspaceConfig, config_text, schemas_kept

    if (directory / CONFIG_FILE).exists():
        raise WorkspaceError(f"{directory} is already a workspace ({CONFIG_FILE} exists); nothing changed")
    # check the options and ask for the passphrase before anything is written
    config_text(directory, jurisdiction=jurisdiction, timezone=timezone, clinic_name=clinic_name)
    probe = Workspace(directory, WorkspaceConfig.model_validate(_PROBE_CONFIG))
    secret = keystore.passphrase(probe, confirm=True)

    def create_pki(ws: Workspace) -> None:
        WorkspacePki(ws).create(secret)

    kept = schemas_kept(directory)
    # a failure anywhere, the PKI included, leaves nothing behind: the command can be run again
    ws = init_workspace(
        directory, jurisdiction=jurisdiction, timezone=timezone, clinic_name=clinic_name, populate=create_pki
    )
    click.echo(f"created workspace {ws.root}")
    click.echo(f"  edit {ws.root / 'consentkit.toml'} (clinic name, phones, time zone, jurisdiction)")
    click.echo(f"  state (never commit): {ws.state_dir}")
    click.echo(
        f"  clinic root certificate (give it to anyone who verifies): {ws.signatures_dir / 'trust' / 'clinic-root.pem'}"
    )
    for path in kept:
        click.echo(f"  kept {path}: not this version's schema; replace it with: consentkit schema --all -o schema")
    click.echo("  next: consentkit pki issue physician NAME")


_PROBE_CONFIG = {"clinic": {"name": {"en": "probe"}, "phone": "000", "urgent_phone": "000"}}

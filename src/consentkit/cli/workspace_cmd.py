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
    help="Policy to apply: cn, tw, uk, fr, us (procedures/policies/<code>.yaml).",
)
@click.option("--timezone", default="Asia/Shanghai", show_default=True, help="The clinic's IANA time zone.")
@click.option("--clinic-name", help="Clinic name written into consentkit.toml (edit it there later).")
def init(directory: Path, jurisdiction: str, timezone: str, clinic_name: str | None) -> None:
    """Create a workspace in DIRECTORY: consentkit.toml, procedures/, templates/, and the git-ignored
    state folder .consentkit/ that holds the database, keys and secrets."""
    ws = init_workspace(directory, jurisdiction=jurisdiction, timezone=timezone, clinic_name=clinic_name)
    click.echo(f"created workspace {ws.root}")
    click.echo(f"  edit {ws.root / 'consentkit.toml'} (clinic name, phones, time zone, jurisdiction)")
    click.echo(f"  state (never commit): {ws.state_dir}")

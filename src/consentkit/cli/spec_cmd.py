"""``consentkit schema``."""

from __future__ import annotations

from pathlib import Path

import click

from consentkit.files import write_atomically
from consentkit.spec.schema import SCHEMA_FILES, SCHEMA_KINDS, json_schema_text


@click.command()
@click.option(
    "--kind",
    type=click.Choice(sorted(SCHEMA_KINDS)),
    default="procedure",
    show_default=True,
    help="Which file's schema.",
)
@click.option(
    "--all",
    "every",
    is_flag=True,
    help="Write every schema (procedure.json, intake.json, policy.json, signing-profile.json) into the folder -o DIR.",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path),
    help="Write to FILE (with --all: into the folder DIR) instead of standard output.",
)
def schema(kind: str, every: bool, output: Path | None) -> None:
    """Write the JSON Schema of procedure specs (or the intake catalogue, a policy, a signing profile).

    \b
    Hook it to your editor with a first line in each spec:
        # yaml-language-server: $schema=../schema/procedure.json
    `consentkit init` writes every schema into the workspace's schema/ folder;
    refresh them after upgrading with: consentkit schema --all -o schema
    """
    if every:
        if output is None:
            raise click.UsageError("--all needs -o DIR, the folder to write the schemas into")
        if output.exists() and not output.is_dir():
            raise click.UsageError(f"--all needs a folder; {output} is a file")
        for name_kind, name in SCHEMA_FILES.items():
            _write(output / name, json_schema_text(name_kind))
        return
    text = json_schema_text(kind)
    if output is None:
        click.echo(text, nl=False)
        return
    if output.is_dir():
        raise click.UsageError(f"{output} is a folder; give a file name, or use --all to write every schema into it")
    _write(output, text)


def _write(output: Path, text: str) -> None:
    output.parent.mkdir(parents=True, exist_ok=True)
    write_atomically(output, text)
    click.echo(f"wrote {output}", err=True)

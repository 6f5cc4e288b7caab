"""``consentkit schema``."""

from __future__ import annotations

from pathlib import Path

import click

from consentkit.spec.schema import SCHEMA_KINDS, json_schema_text


@click.command()
@click.option(
    "--kind",
    type=click.Choice(sorted(SCHEMA_KINDS)),
    default="procedure",
    show_default=True,
    help="Which file's schema.",
)
@click.option(
    "-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="Write to FILE instead of standard output."
)
def schema(kind: str, output: Path | None) -> None:
    """Write the JSON Schema of procedure specs (or the intake catalogue, or a policy).

    \b
    Hook it to your editor with a first line in each spec:
        # yaml-language-server: $schema=../schema/procedure.json
    """
    text = json_schema_text(kind)
    if output is None:
        click.echo(text, nl=False)
        return
    output.parent.mkdir(parents=True, exist_ok=True)
    tmp = output.with_name(f".{output.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(output)
    click.echo(f"wrote {output}", err=True)

"""``consentkit render PROCEDURE --doc … --lang … --format … -o FILE``: the legal preview."""

from __future__ import annotations

from pathlib import Path

import click

from consentkit.cli._common import current_workspace
from consentkit.files import write_atomically


@click.command()
@click.argument("procedure")
@click.option("--doc", "doc", required=True, type=click.Choice(["consent", "disclosure", "care-guide"]))
@click.option("--lang", "lang", required=True, help="A locale (zh-CN, zh-TW, en) or a bilingual pair like zh-CN+en.")
@click.option("--format", "fmt", default="pdf", show_default=True, type=click.Choice(["pdf", "docx", "html"]))
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False, path_type=Path), help="File to write.")
@click.pass_context
def render(ctx: click.Context, procedure: str, doc: str, lang: str, fmt: str, output: Path) -> None:
    """Render PROCEDURE's consent form, risk disclosure or care guide without a patient, for legal review:
    every optional risk and instruction is shown with its condition, and every page is stamped SPECIMEN.

    Inside a workspace its procedures, templates, clinic and policy are used; outside one, the built-in library,
    the cn policy and a clearly fictional sample clinic.
    """
    from consentkit.render.specimen import parse_locales, render_document, specimen_input
    from consentkit.spec.library import load_library

    if not output.parent.is_dir():  # a typo in -o must not create a tree of folders somewhere
        raise click.BadParameter(
            f"the folder {output.parent} does not exist; create it first, or write to an existing folder",
            param_hint="'-o' / '--output'",
        )
    ws = current_workspace(ctx)
    roots = ws.procedure_roots() if ws else None
    if roots is not None:
        spec = load_library(roots).procedure(procedure).model
    else:
        from consentkit.resources import builtin_dir

        spec = load_library([builtin_dir("procedures")]).procedure(procedure).model
    locales = parse_locales(lang, spec.locales)
    inp, templates = specimen_input(procedure, locales, workspace=ws)
    data = render_document(inp, doc, fmt, templates)  # type: ignore[arg-type]
    write_atomically(output, data)
    click.echo(f"wrote {output} ({len(data) // 1024} KiB, SPECIMEN of {procedure} {spec.version}, {lang})", err=True)

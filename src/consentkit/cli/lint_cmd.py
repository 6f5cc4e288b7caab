"""``consentkit lint``."""

from __future__ import annotations

import os
import re
import sys
from datetime import datetime
from pathlib import Path

import click

from consentkit.cli._common import workspace_option
from consentkit.files import write_atomically
from consentkit.lint.report import FORMATS


def _ids(value: str | None) -> list[str]:
    ids = [part.strip().upper() for part in (value or "").split(",") if part.strip()]
    for rule_id in ids:
        if not re.fullmatch(r"CK\d{0,3}", rule_id):
            raise click.BadParameter(f"'{rule_id}' is not a rule id or prefix like CK150 or CK1")
    return ids


@click.command()
@click.argument("paths", nargs=-1, type=click.Path(exists=True, path_type=Path))
@click.option(
    "--format",
    "fmt",
    type=click.Choice(list(FORMATS)),
    default="text",
    show_default=True,
    help="text for people; json (one object per finding); junit and sarif for CI dashboards and code scanning; "
    "github for pull-request annotations.",
)
@click.option("--strict", is_flag=True, help="Report warnings as errors (exit 1 on any finding).")
@click.option(
    "--policy", metavar="CODE", help="Check against policies/CODE.yaml (default: the workspace's jurisdiction, or cn)."
)
@click.option(
    "-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="Write the report to FILE (atomically)."
)
@click.option(
    "--builtin/--no-builtin",
    default=None,
    help="In a workspace, also check the built-in specs, intake and policies it uses (those it does not override), "
    "under its templates, policy and locales [default: on when a whole workspace is linted]. --no-builtin: only "
    "the workspace's own files.",
)
@click.option(
    "--include-builtin",
    is_flag=True,
    hidden=True,
    help="Deprecated: the default now (same as --builtin).",
)
@click.option(
    "--today",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    help="Check review dates as of this day, YYYY-MM-DD (default: today).",
)
@click.option(
    "--select",
    metavar="IDS",
    help="Only these rules: comma-separated ids or prefixes (CK150,CK19 or CK1).",
)
@click.option("--ignore", metavar="IDS", help="Skip these rules: comma-separated ids or prefixes (CK190,CK2).")
@click.option(
    "--cache/--no-cache",
    default=True,
    show_default=True,
    help="Reuse the findings of unchanged spec files (kept in .consentkit/cache/ or ~/.cache/consentkit).",
)
@click.option("--jobs", type=click.IntRange(min=1), help="Worker processes (default: one per core for 100+ specs).")
@click.option("--timings", is_flag=True, hidden=True, help="Print phase timings to standard error.")
@click.pass_context
def lint(
    ctx: click.Context,
    paths: tuple[Path, ...],
    fmt: str,
    strict: bool,
    policy: str | None,
    output: Path | None,
    builtin: bool | None,
    include_builtin: bool,
    today: datetime | None,
    select: str | None,
    ignore: str | None,
    cache: bool,
    jobs: int | None,
    timings: bool,
) -> None:
    """Check procedure specs, the intake catalogue and policies; exit 1 if any error is found.

    PATH may be a workspace folder, a procedures or signatures folder, or files. Without PATH: the current
    workspace, else the built-in library. A workspace is checked as the clinic uses it: its own specs, intake,
    policies and signing profiles, and every built-in spec it does not override (--no-builtin: only its own).
    Otherwise only the files named are reported on. Rules and fixes: docs/lint.md.

    \b
    Exit codes: 0 no errors; 1 errors found (or warnings, with --strict);
    2 usage error (a PATH that does not exist, an unknown --policy); 3 unreadable consentkit.toml.
    """
    from consentkit.lint import lint_paths
    from consentkit.lint.report import render
    from consentkit.lint.report.text import summary

    verbose = bool((ctx.find_root().obj or {}).get("verbose"))
    if include_builtin:
        click.echo("note: --include-builtin is the default now and will be removed; use --builtin", err=True)
        builtin = True if builtin is None else builtin
    report = lint_paths(
        paths,
        workspace_dir=workspace_option(ctx),
        policy=policy,
        include_builtin=builtin,
        today=today.date() if today else None,
        strict=strict,
        debug=verbose,
        jobs=jobs,
        select=_ids(select),
        ignore=_ids(ignore),
        use_cache=cache and os.environ.get("CONSENTKIT_LINT_CACHE", "1") != "0",
    )
    color = fmt == "text" and output is None and sys.stdout.isatty() and "NO_COLOR" not in os.environ
    text = render(report, fmt, color=color)
    if output is None:
        click.echo(text, nl=False)
    else:
        output.parent.mkdir(parents=True, exist_ok=True)
        write_atomically(output, text)
        click.echo(f"{summary(report)}; report written to {output}", err=True)
    if timings:
        shown = ", ".join(
            f"{k} {v * 1000:.0f} ms" if k != "cached files" else f"cached {v:.0f} files"
            for k, v in report.timings.items()
            if not k.startswith("CK")
        )
        click.echo(f"timings: {shown}", err=True)
    ctx.exit(report.exit_code)

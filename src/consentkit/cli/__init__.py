"""The ``consentkit`` command. Thin: each command lives in its own module, imported only when it runs, and every
library error becomes a one-line message and an exit code here, in one place."""

from __future__ import annotations

import importlib
import logging
import sys
import traceback
from typing import Any

import click

from consentkit import __version__
from consentkit.errors import EXIT_BAD_INPUT, EXIT_PROBLEMS, ConsentkitError, MultiInputError

# command name → "module:function" (modules under consentkit.cli), so `consentkit --help` imports nothing heavy
COMMANDS: dict[str, tuple[str, str]] = {
    "init": ("consentkit.cli.workspace_cmd:init", "Create a workspace: config, folders, keys."),
    "schema": ("consentkit.cli.spec_cmd:schema", "Write the JSON Schema of procedure specs."),
    "lint": ("consentkit.cli.lint_cmd:lint", "Check procedure specs, intake and policies (for CI)."),
    "packet": ("consentkit.cli.packet_cmd:packet", "Make a patient's packet (PDF/A, DOCX, calendar, manifest)."),
    "render": ("consentkit.cli.render_cmd:render", "Render a procedure's document as a SPECIMEN for legal review."),
    "pki": ("consentkit.cli.pki_cmd:pki", "Issue, list and revoke signer certificates (workspace CA)."),
    "sign": ("consentkit.cli.sign_cmd:sign", "Sign a packet as one role (PAdES, RFC 3161), sealing after the last."),
    "verify": ("consentkit.cli.sign_cmd:verify", "Check a signed packet offline: signers, timestamps, changes, LTV."),
    "tsa": ("consentkit.cli.tsa_cmd:tsa", "Serve the embedded RFC 3161 time-stamping authority over HTTP."),
    "audit": ("consentkit.cli.audit_cmd:audit", "The tamper-evident audit log: verify, show a case, signed heads."),
    "review": ("consentkit.cli.review_cmd:review", "Compare procedure versions, approve them, file a review report."),
    "present": ("consentkit.cli.present_cmd:present", "Record that the disclosure was handed over or shown."),
    "checkin": ("consentkit.cli.checkin_cmd:checkin", "The pre-procedure gate: may this procedure start now?"),
    "evidence": ("consentkit.cli.evidence_cmd:evidence", "Write a case's offline-verifiable evidence bundle (zip)."),
    "verify-evidence": ("consentkit.cli.evidence_cmd:verify_evidence", "Check an evidence bundle offline."),
    "demo": ("consentkit.cli.demo_cmd:demo", "Run the whole story on the embedded defaults, end to end."),
}


class LazyGroup(click.Group):
    """Imports a command's module only when that command is run or its help is shown."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = COMMANDS.get(cmd_name)
        if target is None:
            return None
        module_name, attr = target[0].split(":")
        command = getattr(importlib.import_module(module_name), attr)
        assert isinstance(command, click.Command)
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, COMMANDS[name][1]) for name in self.list_commands(ctx)]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 110})
@click.version_option(__version__, prog_name="consentkit")
@click.option(
    "--workspace",
    "-w",
    type=click.Path(file_okay=False, path_type=str),
    envvar="CONSENTKIT_WORKSPACE",
    help="Workspace folder (default: found by walking up from the current folder).",
)
@click.option("--verbose", "-v", is_flag=True, help="Show tracebacks and debug logging.")
@click.pass_context
def cli(ctx: click.Context, workspace: str | None, verbose: bool) -> None:
    """consentkit — informed-consent packets a clinic can prove.

    Exit codes: 0 success; 1 a check found problems; 2 usage error; 3 bad input (file and line in the message).
    """
    ctx.ensure_object(dict)
    ctx.obj["workspace"] = workspace
    ctx.obj["verbose"] = verbose
    if verbose:
        logging.basicConfig(level=logging.DEBUG, format="%(name)s: %(message)s")


def _report(err: ConsentkitError) -> None:
    click.secho(f"error: {err}", fg="red", err=True)
    if isinstance(err, MultiInputError) and len(err.problems) > 1:
        for line in err.details()[1:]:
            click.echo(f"error: {line}", err=True)


def main(argv: list[str] | None = None) -> Any:
    """Entry point: run the CLI, mapping errors to messages and exit codes."""
    args = sys.argv[1:] if argv is None else argv
    verbose = "--verbose" in args or "-v" in args
    try:
        return cli.main(args=args, prog_name="consentkit", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(EXIT_PROBLEMS)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except ConsentkitError as err:
        if verbose:
            traceback.print_exc()
        _report(err)
        sys.exit(err.exit_code)
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        sys.exit(130)
    except OSError as exc:  # a file we could not read or write: name it, no traceback
        if verbose:
            traceback.print_exc()
        where = f"{exc.filename}: " if exc.filename else ""
        click.secho(f"error: {where}{exc.strerror or exc}", fg="red", err=True)
        sys.exit(EXIT_BAD_INPUT)

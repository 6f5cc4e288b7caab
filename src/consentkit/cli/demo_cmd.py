"""``consentkit demo [--keep DIR]``."""

from __future__ import annotations

from pathlib import Path

import click


@click.command()
@click.option(
    "--keep",
    type=click.Path(file_okay=False, path_type=Path),
    help="Build the demo workspace in this (new or empty) folder instead of a temporary one.",
)
def demo(keep: Path | None) -> None:
    """Run the whole story on the embedded defaults: a clinic workspace with its own CA and time-stamping
    authority, a sample patient's packet for a double-eyelid operation, the disclosure handed over, every
    signature, a check-in refused because the cooling-off period has not passed, a check-in after it (simulated
    clock) that passes, and the evidence bundle exported and verified offline. Prints where every file is and
    what each step proved."""
    from rich.console import Console
    from rich.table import Table

    from consentkit.demo import run_demo

    console = Console(highlight=False)
    if not console.is_terminal:
        console = Console(width=120, highlight=False)
    console.print("[bold]consentkit demo[/bold]: one patient's informed consent, from approved text to evidence\n")
    run = run_demo(keep, console)
    table = Table(title="What each step proved", title_justify="left", show_lines=False)
    table.add_column("#", justify="right")
    table.add_column("step", no_wrap=True)
    table.add_column("what it proved")
    table.add_column("where", overflow="fold")
    table.add_column("s", justify="right")
    for n, proof in enumerate(run.proofs, start=1):
        table.add_row(str(n), proof.step, proof.proved, proof.where, f"{proof.seconds:.1f}")
    console.print()
    console.print(table)
    console.print("\n[bold]Files[/bold]")
    for name, path in run.paths.items():
        console.print(f"  {name:<24} {path}")
    if run.clock_offset:
        from consentkit.evidence.gate_words import duration

        console.print(
            "\n[bold]The clock was simulated[/bold] from the late check-in on: it ran "
            f"{duration(run.clock_offset, 'en')} ahead of the real time, for the events, the tree heads and the "
            "embedded TSA's timestamps alike, so the story's 15 days passed in seconds. Only the demo can do this; "
            "a real workspace always uses the real time."
        )
    console.print(
        f"\ndemo finished in {run.seconds:.1f} s. Check the evidence yourself: "
        f"consentkit verify-evidence {run.paths['evidence bundle']}, or follow {run.paths['VERIFY.md']}"
    )
    if keep is not None:
        console.print(
            f"To keep working in this demo workspace: cd {run.root} && export CONSENTKIT_PASSPHRASE='{run.passphrase}' "
            "(a throwaway passphrase for demo keys only; make a real workspace with 'consentkit init')."
        )

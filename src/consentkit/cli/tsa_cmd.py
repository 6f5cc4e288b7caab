"""``consentkit tsa serve``: the workspace's embedded time-stamping authority over HTTP."""

from __future__ import annotations

import click

from consentkit.cli._common import needed_workspace


@click.group()
def tsa() -> None:
    """The embedded RFC 3161 time-stamping authority."""


@tsa.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option(
    "--port",
    default=3180,
    show_default=True,
    type=click.IntRange(0, 65535),
    help="Port to listen on (0: any free port).",
)
@click.pass_context
def serve(ctx: click.Context, host: str, port: int) -> None:
    """Answer RFC 3161 time-stamp requests (POST application/timestamp-query) for other machines of the clinic,
    signed with this workspace's TSA key. Other workspaces list the URL in [timestamping] tsa_urls and copy
    this workspace's signatures/trust/clinic-root.pem into their signatures/trust/."""
    from consentkit import keystore
    from consentkit.tsa import embedded_tsa
    from consentkit.tsa.server import make_server

    ws = needed_workspace(ctx)
    authority = embedded_tsa(ws, keystore.passphrase(ws))
    server = make_server(authority, host, port)
    click.echo(f"time-stamping authority {authority.name} at http://{host}:{server.server_port}/ (Ctrl-C stops)")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        click.echo("stopped")
    finally:
        server.server_close()

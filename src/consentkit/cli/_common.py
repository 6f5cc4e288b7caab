"""Helpers shared by the CLI modules: finding the workspace and the library the command works on."""

from __future__ import annotations

from pathlib import Path

import click

from consentkit.resources import builtin_dir
from consentkit.spec.library import Library, load_library
from consentkit.workspace import Workspace, find_workspace, require_workspace


def workspace_option(ctx: click.Context) -> Path | None:
    root = ctx.find_root()
    value = (root.obj or {}).get("workspace")
    return Path(value) if value else None


def current_workspace(ctx: click.Context) -> Workspace | None:
    return find_workspace(explicit=workspace_option(ctx))


def needed_workspace(ctx: click.Context) -> Workspace:
    return require_workspace(explicit=workspace_option(ctx))


def library_for(ctx: click.Context) -> Library:
    """The workspace's library layered over the built-ins, or the built-in library alone outside a workspace."""
    ws = current_workspace(ctx)
    roots = ws.procedure_roots() if ws else (builtin_dir("procedures"),)
    return load_library(roots)

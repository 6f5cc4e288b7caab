"""Options shared by the workflow commands (present, checkin, evidence, packet, sign): who is acting."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

F = Callable[..., Any]


def actor_option(default_role: str, roles: tuple[str, ...]) -> Callable[[F], F]:
    """``--actor LOGIN`` and ``--as ROLE``: recorded in the audit event (a login, never a personal name)."""

    def decorate(func: F) -> F:
        func = click.option(
            "--as",
            "actor_role",
            type=click.Choice(list(roles)),
            default=default_role,
            show_default=True,
            help="The role of the person acting, for the audit log.",
        )(func)
        return click.option(
            "--actor",
            metavar="LOGIN",
            help="Who is acting, as a login (e.g. li.na) for the audit log; default: the operating-system user.",
        )(func)

    return decorate

"""Who does a step: an actor id for the audit log (a staff login, a signer's slug, or the patient's pseudonym) and
a role. Ids are checked here, before any work is done, so a bad ``--actor`` never leaves work unlogged."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import cast

from consentkit.audit.events import ActorRole
from consentkit.errors import InputError

STAFF_ROLES = ("nurse", "physician", "staff", "clinic")
_LOGIN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")


@dataclass(frozen=True)
class Actor:
    id: str
    role: ActorRole


def os_actor(role: str) -> Actor:
    from consentkit.audit.log import os_user

    user = os_user()
    return Actor(user if _LOGIN.fullmatch(user) else "os-user", cast(ActorRole, role))


def checked(who: Actor) -> Actor:
    """``who`` again, refused now if its id could not go into an audit event (before any work is done)."""
    if not _LOGIN.fullmatch(who.id) and not re.fullmatch(r"hmac-sha256:[0-9a-f]{64}", who.id):
        actor(who.id, who.role)
    return who


def actor(name: str | None, role: str) -> Actor:
    """``name`` (a login such as ``li.na`` or ``dr-wang``), or the operating-system user when None."""
    if name is None:
        return os_actor(role)
    if not _LOGIN.fullmatch(name):
        raise InputError(
            f"--actor: {name!r} is not a login name (letters, digits and . _ @ -, up to 64 characters); "
            "the audit log never holds personal names"
        )
    return Actor(name, cast(ActorRole, role))

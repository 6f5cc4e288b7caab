"""One audit log per call, or the caller's (a web app or the demo keeps one open)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from consentkit.audit.log import AuditLog
    from consentkit.workspace import Workspace


@contextmanager
def opened(ws: Workspace, log: AuditLog | None) -> Iterator[AuditLog]:
    if log is not None:
        yield log
        return
    from consentkit.audit.log import AuditLog

    own = AuditLog.for_workspace(ws)
    try:
        yield own
    finally:
        own.close()

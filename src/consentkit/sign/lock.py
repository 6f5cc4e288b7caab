"""One signer at a time per packet: an exclusive ``fcntl`` lock on ``.<packet>.lock`` beside the PDF, held for the
whole read → check → sign → replace (→ log) sequence, so two ``consentkit sign`` runs on one packet cannot both read
the same revision and both write (one signature silently lost, two ``document.signed`` events).

The lock file is never deleted (deleting it would let a third process lock a new file while the second still holds
the old one). Within one process the lock is re-entrant per path: the workflow takes it around signing and logging,
and :func:`consentkit.sign.signing.sign_packet` takes it again inside.
"""

from __future__ import annotations

import fcntl
import os
import threading
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

from consentkit.errors import InputError, SourceLocation

_HELD: dict[str, tuple[int, int]] = {}  # lock path -> (file descriptor, depth)
_THREADS: dict[str, threading.RLock] = {}
_GUARD = threading.Lock()


def lock_path(pdf: Path) -> Path:
    return pdf.with_name(f".{pdf.name}.lock")


@contextmanager
def packet_lock(*pdfs: Path) -> Iterator[None]:
    """Hold the exclusive lock of every packet in ``pdfs`` (in a fixed order, so two callers cannot deadlock);
    waits for another process that holds one."""
    paths = sorted({str(lock_path(p.resolve())) for p in pdfs})
    with ExitStack() as stack:
        for path in paths:
            stack.enter_context(_locked(path))
        yield


@contextmanager
def _locked(path: str) -> Iterator[None]:
    with _GUARD:
        thread_lock = _THREADS.setdefault(path, threading.RLock())
    with thread_lock:
        fd, depth = _HELD.get(path, (-1, 0))
        if depth == 0:
            try:
                fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
            except OSError as exc:
                raise InputError(f"cannot lock for signing: {exc.strerror}", location=SourceLocation(path)) from exc
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)  # blocks while another process signs this packet
            except OSError as exc:  # e.g. a file system without locks
                os.close(fd)
                raise InputError(f"cannot lock for signing: {exc.strerror}", location=SourceLocation(path)) from exc
            except BaseException:  # interrupted while waiting: keep no descriptor behind
                os.close(fd)
                raise
        _HELD[path] = (fd, depth + 1)
        try:
            yield
        finally:
            fd, depth = _HELD.pop(path)
            if depth > 1:
                _HELD[path] = (fd, depth - 1)
            else:
                fcntl.flock(fd, fcntl.LOCK_UN)
                os.close(fd)

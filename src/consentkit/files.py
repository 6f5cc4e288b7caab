"""Writing a file so that a reader sees the old content or the new, never half of it."""

from __future__ import annotations

import os
import threading
from pathlib import Path


def write_atomically(path: Path, data: bytes | str, *, mode: int = 0o666) -> None:
    """Write ``data`` (text as UTF-8) to ``path``: into a temporary file beside it (named with the process and thread,
    so concurrent writers never share one) created with ``mode`` (less the umask; ``0o600`` for a secret, private
    from the first byte), flushed to disk, then renamed over ``path``. On any failure, the temporary file is removed
    and ``path`` is left as it was; the error is raised. Example: ``write_atomically(folder / "policy.json", text)``.
    """
    payload = data.encode("utf-8") if isinstance(data, str) else data
    tmp = path.with_name(f".{path.name}.{os.getpid()}-{threading.get_ident()}.tmp")
    try:
        with os.fdopen(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode), "wb") as fh:
            fh.write(payload)
            fh.flush()
            os.fsync(fh.fileno())
        tmp.replace(path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise

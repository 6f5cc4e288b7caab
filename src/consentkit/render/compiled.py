"""Compiled templates kept between runs, so a new process does not compile the same Jinja source again.

Compiling the HTML templates and the DOCX templates' XML parts costs about 0.1 s in every new process (a third of
the lint's template dry run warming up, and of a `consentkit packet`'s first render). Jinja's bytecode cache keeps
the compiled code in ``$XDG_CACHE_HOME/consentkit/templates/`` (a 0700 folder), keyed by template and checked
against a checksum of the source, so an edited template is compiled afresh; the output is the same either way.
``CONSENTKIT_TEMPLATE_CACHE=0`` turns it off. A cache folder that cannot be written is simply not used.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import stat
import sys
from collections.abc import Callable
from functools import cache
from pathlib import Path

from jinja2 import Environment, Template
from jinja2.bccache import Bucket, BytecodeCache, FileSystemBytecodeCache

from consentkit.files import write_atomically


class _QuietCache(FileSystemBytecodeCache):
    """A cache that never fails a render: an unreadable or unwritable entry is compiled as if there were none."""

    def load_bytecode(self, bucket: Bucket) -> None:
        try:
            super().load_bytecode(bucket)
        except (OSError, ValueError, EOFError, TypeError):
            bucket.reset()

    def dump_bytecode(self, bucket: Bucket) -> None:
        with contextlib.suppress(OSError, ValueError):
            super().dump_bytecode(bucket)


@cache
def _folder(kind: str) -> Path | None:
    """This user's cache folder for one ``kind`` of entry, or None when the cache is off or cannot be made."""
    if os.environ.get("CONSENTKIT_TEMPLATE_CACHE", "1") in ("0", "false", "no"):
        return None
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    folder = base / "consentkit" / "templates" / (sys.implementation.cache_tag or "python") / kind
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        info = folder.stat()
        # someone else's folder, or one others may write to: never load code from it (Jinja's own default cache
        # folder is refused unless 0700 too)
        if info.st_uid != os.getuid() or stat.S_IMODE(info.st_mode) & 0o022 or not os.access(folder, os.W_OK):
            return None
    except OSError:
        return None
    return folder


@cache
def template_cache(kind: str) -> BytecodeCache | None:
    """The per-user cache of compiled templates of one ``kind`` (one folder per kind of Jinja environment: the
    compiled code depends on the environment's options, which Jinja's cache key does not include), or None when it
    is turned off or cannot be made."""
    folder = _folder(kind)
    return None if folder is None else _QuietCache(str(folder))


def compiled_from_string(env: Environment, source: str, kind: str) -> Template:
    """``env.from_string(source)``, with the compiled code taken from and kept in :func:`template_cache`."""
    bcc = template_cache(kind)
    if bcc is None:  # what Environment.from_string does (a subclass may override that method with this function)
        return env.template_class.from_code(env, env.compile(source), env.make_globals(None), None)
    name = "string:" + hashlib.sha256(source.encode("utf-8")).hexdigest()
    bucket = bcc.get_bucket(env, name, None, source)
    code = bucket.code
    if code is None:
        code = env.compile(source)
        bucket.code = code
        bcc.set_bucket(bucket)
    return env.template_class.from_code(env, code, env.make_globals(None), None)


def cached_texts(kind: str, key: str, make: Callable[[], tuple[str, ...]]) -> tuple[str, ...]:
    """``make()``, a pure function of ``key`` (e.g. a file's SHA-256), kept as JSON in the ``kind`` folder of the
    cache: the Jinja sources docxtpl makes of a DOCX template (importing docxtpl and cleaning its XML up costs
    ~0.09 s a process)."""
    folder = _folder(kind)
    if folder is None:
        return make()
    file = folder / f"{hashlib.sha256(key.encode('utf-8')).hexdigest()}.json"
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
        if isinstance(data, list) and all(isinstance(t, str) for t in data):
            return tuple(data)
    except (OSError, ValueError):
        pass
    texts = make()
    with contextlib.suppress(OSError):
        write_atomically(file, json.dumps(list(texts)))
    return texts

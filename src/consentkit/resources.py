"""Where the built-in procedures, templates and signing profiles live: beside the package when installed from a
wheel (``consentkit/_builtin/...``), at the repository's top level when run from a clone."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from consentkit.errors import ConfigError

_PACKAGE = Path(__file__).resolve().parent


@cache
def builtin_dir(name: str) -> Path:
    """``procedures``, ``templates`` or ``signatures``."""
    for candidate in (_PACKAGE / "_builtin" / name, _PACKAGE.parent.parent / name):
        if candidate.is_dir():
            return candidate
    raise ConfigError(f"the built-in '{name}' folder is missing from this installation; reinstall consentkit")

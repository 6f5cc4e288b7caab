"""Shared fixtures. Everything here is offline and deterministic."""

from __future__ import annotations

from pathlib import Path

import pytest

from consentkit.resources import builtin_dir
from consentkit.spec.library import Library, load_library

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def builtin_library() -> Library:
    return load_library([builtin_dir("procedures")])

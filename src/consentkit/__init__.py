"""consentkit — informed-consent packets for medical-aesthetics clinics that a clinic can prove.

The public API is what this root package exports; everything else may change between versions.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"

from consentkit.errors import (
    ConsentkitError,
    InputError,
    IntegrityError,
    RefusedError,
    RenderError,
    SigningError,
    VerificationError,
)
from consentkit.spec.canonical import canonical_json, content_hash
from consentkit.spec.library import Library, load_library
from consentkit.spec.models import IntakeCatalogue, Policy, ProcedureSpec
from consentkit.workspace import Workspace, find_workspace, init_workspace

# Heavy parts (WeasyPrint, pyHanko) load on first use, so importing consentkit stays fast.
_LAZY = {
    "build_packet": "consentkit.packet",
    "sign_packet": "consentkit.sign.signing",
    "verify_packet": "consentkit.sign.verify",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'consentkit' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)


__all__ = [
    "ConsentkitError",
    "InputError",
    "IntakeCatalogue",
    "IntegrityError",
    "Library",
    "Policy",
    "ProcedureSpec",
    "RefusedError",
    "RenderError",
    "SigningError",
    "VerificationError",
    "Workspace",
    "__version__",
    "build_packet",
    "canonical_json",
    "content_hash",
    "find_workspace",
    "init_workspace",
    "load_library",
    "sign_packet",
    "verify_packet",
]

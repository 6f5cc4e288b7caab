"""consentkit — informed-consent packets for medical-aesthetics clinics that a clinic can prove.

The public API is what this root package exports; everything else may change between versions.
"""

from __future__ import annotations

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
    "canonical_json",
    "content_hash",
    "find_workspace",
    "init_workspace",
    "load_library",
]

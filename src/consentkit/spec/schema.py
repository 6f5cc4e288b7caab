"""JSON Schema of the files people write, for editors with a YAML language server."""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel

from consentkit.spec.models import IntakeCatalogue, Policy, ProcedureSpec


def _signing_profile() -> type[BaseModel]:
    from consentkit.sign.profile import SigningProfile  # owned by signing; imported only when asked for

    return SigningProfile


SCHEMA_KINDS: dict[str, tuple[type[BaseModel] | None, str]] = {
    "procedure": (ProcedureSpec, "consentkit procedure spec (v1)"),
    "intake": (IntakeCatalogue, "consentkit intake catalogue (v1)"),
    "policy": (Policy, "consentkit jurisdiction policy (v1)"),
    "signing-profile": (None, "consentkit signing profile (v1)"),
}
SCHEMA_FILES = {kind: f"{kind}.json" for kind in SCHEMA_KINDS}
"""The file each schema is kept in: ``schema/`` at the repository's top level and in every workspace."""


def json_schema(kind: str = "procedure") -> dict[str, Any]:
    model, title = SCHEMA_KINDS[kind]
    if model is None:
        model = _signing_profile()
    schema = model.model_json_schema(by_alias=True, mode="validation")
    # draft-07: what the YAML language server (VS Code's YAML extension) fully supports; pydantic's output uses no
    # later keyword, and its "#/$defs/..." references are plain JSON pointers that draft-07 resolves
    schema["$schema"] = "http://json-schema.org/draft-07/schema#"
    schema["$id"] = f"https://consentkit.invalid/schema/{kind}-v1.json"
    schema["title"] = title
    return schema


def json_schema_text(kind: str = "procedure") -> str:
    return json.dumps(json_schema(kind), ensure_ascii=False, indent=2, sort_keys=False) + "\n"

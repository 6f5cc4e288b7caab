"""JSON Schema of the files people write, for editors with a YAML language server."""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel

from consentkit.spec.models import IntakeCatalogue, Policy, ProcedureSpec

SCHEMA_KINDS: dict[str, tuple[type[BaseModel], str]] = {
    "procedure": (ProcedureSpec, "consentkit procedure spec (v1)"),
    "intake": (IntakeCatalogue, "consentkit intake catalogue (v1)"),
    "policy": (Policy, "consentkit jurisdiction policy (v1)"),
}


def json_schema(kind: str = "procedure") -> dict[str, Any]:
    model, title = SCHEMA_KINDS[kind]
    schema = model.model_json_schema(by_alias=True, mode="validation")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = f"https://consentkit.invalid/schema/{kind}-v1.json"
    schema["title"] = title
    return schema


def json_schema_text(kind: str = "procedure") -> str:
    return json.dumps(json_schema(kind), ensure_ascii=False, indent=2, sort_keys=False) + "\n"

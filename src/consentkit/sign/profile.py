"""Signing profiles: which roles sign, in which order, into which field, with which printed meaning.

Built-in profiles live in ``signatures/<id>.yaml``; a workspace's ``signatures/<id>.yaml`` overrides one by id.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, StringConstraints, model_validator

from consentkit.errors import ConfigError
from consentkit.spec.library import Loaded
from consentkit.spec.models import Id, Model, Role, Text
from consentkit.spec.validate import validate_document
from consentkit.spec.yamlfile import load_mapping

FieldName = Annotated[str, StringConstraints(pattern=r"^sig-[a-z-]+$")]
SIGNING_ORDER: tuple[Role, ...] = ("clinic", "physician", "patient", "guardian", "witness")


class RoleSpec(Model):
    role: Role
    field: FieldName
    anchor: Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9-]*$")]
    meaning: Text
    certify: bool = False


class SealSpec(Model):
    field: FieldName
    lock: bool = True


class TimestampingSpec(Model):
    document_timestamp: bool = True
    document_timestamp_field: FieldName = "sig-document-timestamp"


class SigningProfile(Model):
    id: Id
    pades_level: Literal["B-T", "B-LT", "B-LTA"] = "B-LTA"
    roles: list[RoleSpec] = Field(min_length=1)
    seal: SealSpec | None = None
    timestamping: TimestampingSpec = Field(default_factory=TimestampingSpec)

    @model_validator(mode="after")
    def _order_and_uniqueness(self) -> SigningProfile:
        roles = [r.role for r in self.roles]
        if len(set(roles)) != len(roles):
            raise ValueError("a role is listed twice")
        fields = [r.field for r in self.roles] + ([self.seal.field] if self.seal else [])
        if len(set(fields)) != len(fields):
            raise ValueError("two roles use the same field")
        if roles[0] != "clinic" or not self.roles[0].certify:
            raise ValueError("the first role must be the clinic with certify: true (certification signs first)")
        if any(r.certify for r in self.roles[1:]):
            raise ValueError("only the first signature may certify")
        return self

    def role_for_field(self, field: str) -> str | None:
        """The role whose signature goes into ``field`` ("seal" for the seal field)."""
        if self.seal is not None and field == self.seal.field:
            return "seal"
        return next((r.role for r in self.roles if r.field == field), None)

    def order(self, required: Iterable[str]) -> list[str]:
        """``required`` roles in this profile's signing order; the certifying clinic role always comes first."""
        wanted = set(required) | {self.roles[0].role}
        unknown = wanted - {r.role for r in self.roles}
        if unknown:
            raise ConfigError(
                f"signing profile '{self.id}' has no role {', '.join(sorted(unknown))} "
                f"(roles: {', '.join(r.role for r in self.roles)})"
            )
        return [r.role for r in self.roles if r.role in wanted]

    def role(self, role: str) -> RoleSpec:
        for spec in self.roles:
            if spec.role == role:
                return spec
        raise ConfigError(
            f"signing profile '{self.id}' has no role '{role}' (roles: {', '.join(r.role for r in self.roles)})"
        )


def load_profile(roots: Iterable[Path], profile_id: str = "default") -> Loaded[SigningProfile]:
    """The first ``<root>/<profile_id>.yaml`` found, validated."""
    tried = []
    for root in roots:
        path = root / f"{profile_id}.yaml"
        tried.append(str(path))
        if path.is_file():
            doc = load_mapping(path, what="signing profile")
            profile = validate_document(SigningProfile, doc, error=ConfigError)
            if profile.id != profile_id:
                raise ConfigError(
                    f"id '{profile.id}' must match the file name '{profile_id}'", location=doc.location(("id",))
                )
            return Loaded(profile, doc)
    raise ConfigError(f"signing profile '{profile_id}' not found (looked in {', '.join(tried)})")

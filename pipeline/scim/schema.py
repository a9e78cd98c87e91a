"""SCIM schemas as plain read-only descriptions (RFC 7643 section 7).

The server's `/Schemas` drive columns and validation; without them, the RFC's own
User, Group and enterprise User schemas are used.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

CORE_USER = "urn:ietf:params:scim:schemas:core:2.0:User"
CORE_GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
ENTERPRISE_USER = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"


@dataclass(frozen=True)
class Attribute:
    """One attribute or sub-attribute of a schema."""

    name: str
    type: str = "string"
    multi_valued: bool = False
    required: bool = False
    mutability: str = "readWrite"
    uniqueness: str = "none"
    case_exact: bool = False
    canonical_values: tuple[str, ...] = ()
    sub_attributes: tuple[Attribute, ...] = ()

    @property
    def writable(self) -> bool:
        return self.mutability != "readOnly"

    def __post_init__(self) -> None:
        by_name = {a.name.lower(): a for a in self.sub_attributes}
        object.__setattr__(self, "_by_name", by_name)

    def sub(self, name: str) -> Attribute | None:
        """The sub-attribute of that name, case-insensitively (RFC 7643 2.1)."""
        found: Attribute | None = self._by_name.get(name.lower())  # type: ignore[attr-defined]
        return found

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Attribute:
        return cls(
            name=data["name"],
            type=data.get("type", "string"),
            multi_valued=bool(data.get("multiValued", False)),
            required=bool(data.get("required", False)),
            mutability=data.get("mutability", "readWrite"),
            uniqueness=data.get("uniqueness", "none"),
            case_exact=bool(data.get("caseExact", False)),
            canonical_values=tuple(data.get("canonicalValues") or ()),
            sub_attributes=tuple(
                cls.from_json(sub) for sub in data.get("subAttributes") or ()
            ),
        )


@dataclass(frozen=True)
class Schema:
    """A schema: its URN, name and top-level attributes."""

    id: str
    name: str
    attributes: tuple[Attribute, ...]

    def __post_init__(self) -> None:
        by_name = {a.name.lower(): a for a in self.attributes}
        object.__setattr__(self, "_by_name", by_name)

    def attribute(self, name: str) -> Attribute | None:
        """The attribute of that name, case-insensitively (RFC 7643 2.1)."""
        found: Attribute | None = self._by_name.get(name.lower())  # type: ignore[attr-defined]
        return found

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Schema:
        return cls(
            id=data["id"],
            name=data.get("name") or data["id"].rsplit(":", 1)[-1],
            attributes=tuple(
                Attribute.from_json(a) for a in data.get("attributes", ())
            ),
        )


@dataclass(frozen=True)
class UserSchema:
    """The core User schema and the extensions a User may carry."""

    core: Schema
    extensions: tuple[Schema, ...] = field(default=())

    @property
    def schemas(self) -> tuple[Schema, ...]:
        return (self.core, *self.extensions)

    def extension(self, urn: str) -> Schema | None:
        wanted = urn.lower()
        return next((s for s in self.extensions if s.id.lower() == wanted), None)

    @property
    def enterprise(self) -> Schema | None:
        return self.extension(ENTERPRISE_USER)


def is_user_extension(schema_id: str) -> bool:
    """Whether a schema URN names an extension of User (``...:extension:...:User``)."""
    return ":extension:" in schema_id and schema_id.endswith(":User")


# Common to every resource (RFC 7643 3.1) and so in no schema document.
EXTERNAL_ID = Attribute(name="externalId", case_exact=True)


def with_common_attributes(core: Schema) -> Schema:
    """The core schema with `externalId`, which servers do not list, added."""
    if core.attribute(EXTERNAL_ID.name) is not None:
        return core
    return Schema(core.id, core.name, (*core.attributes, EXTERNAL_ID))


def user_schema_from_json(documents: list[dict[str, Any]]) -> UserSchema:
    """Build the User schema from the documents `/Schemas` returned.

    A server that serves no core User schema gets the built-in one, with its own
    extensions added.
    """
    parsed = [Schema.from_json(d) for d in documents if d.get("id")]
    by_id = {s.id: s for s in parsed}
    builtin = builtin_user_schema()
    core = with_common_attributes(by_id.get(CORE_USER, builtin.core))
    extensions = tuple(s for s in parsed if is_user_extension(s.id))
    if not documents:
        extensions = builtin.extensions
    return UserSchema(core=core, extensions=extensions)


def builtin_schema_documents() -> list[dict[str, Any]]:
    """The RFC 7643 schemas (User, Group, enterprise User) as JSON documents."""
    from scim2_server.utils import load_json_resource

    documents: list[dict[str, Any]] = load_json_resource("default-schemas.json")
    return documents


def builtin_user_schema() -> UserSchema:
    parsed = {s["id"]: Schema.from_json(s) for s in builtin_schema_documents()}
    core = with_common_attributes(parsed[CORE_USER])
    return UserSchema(core=core, extensions=(parsed[ENTERPRISE_USER],))

"""SCIM User resources <-> flat rows of readable columns, both ways (pure).

A column is named by a header such as `name.givenName`, `emails.work`,
`emails.work.2`, `addresses.home.locality`, `employeeNumber` or a full
`urn:...:User:attr` path. `Layout` turns headers into `Column`s for a given schema,
flattens resources into rows and writes cells back into resources.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import pandas as pd

from pipeline.scim.schema import ENTERPRISE_USER, Attribute, Schema, UserSchema

CLEAR = "<clear>"
OTHER_TYPE = "other"

# Kinds of column.
ID = "id"
GROUPS = "groups"
MANAGER = "manager"
SIMPLE = "simple"  # an attribute, or a sub-attribute of a single complex one
ENTRY = "entry"  # a sub-attribute of the entry of one type in a multi-valued one
PRIMARY = "primary"  # which entry of a multi-valued attribute is primary
IGNORED = "ignored"  # read-only metadata our own export may carry, e.g. meta.*

# Attributes the server manages: never written as columns, never sent.
SERVER_MANAGED = frozenset({"id", "meta", "schemas", "groups"})
TRUE_WORDS = frozenset({"true", "yes", "y", "1"})
FALSE_WORDS = frozenset({"false", "no", "n", "0"})
_SPACES = re.compile(r"\s+")
# How `flatten` turns the value under one key into cells.
_SKIP, _SCALAR, _COMPLEX, _ENTRIES, _LIST, _ACTIVE, _MANAGER = (
    "skip",
    "scalar",
    "complex",
    "entries",
    "list",
    "active",
    "manager",
)


class UnknownColumn(ValueError):
    """A header that names no attribute of the schema."""

    def __init__(self, header: str, suggestion: str | None, why: str = "") -> None:
        hint = f"; did you mean {suggestion!r}?" if suggestion else ""
        reason = f" ({why})" if why else ""
        super().__init__(f"unknown column {header!r}{reason}{hint}")
        self.header = header
        self.suggestion = suggestion


@dataclass(frozen=True)
class Column:
    """What one header means."""

    header: str
    kind: str
    schema: str = ""
    attribute: Attribute | None = None
    sub: Attribute | None = None
    entry_type: str = ""
    index: int = 1

    @property
    def value_attribute(self) -> Attribute | None:
        """The attribute whose type the cells of this column have."""
        return self.sub or self.attribute

    @property
    def value_type(self) -> str:
        attribute = self.value_attribute
        return attribute.type if attribute else "string"

    @property
    def writable(self) -> bool:
        return all(a is None or a.writable for a in (self.attribute, self.sub))


def parse_bool(text: str) -> bool | None:
    """true/false, yes/no, 1/0, y/n in any case and spacing; None for anything else."""
    word = _SPACES.sub("", text).lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    return None


def as_bool(value: Any) -> bool | None:
    """A JSON boolean as is; a server's string "false" as False, not True."""
    return value if isinstance(value, bool) else parse_bool(str(value))


def username_key(text: str) -> str:
    """The form in which two userNames are the same: trimmed, NFC, case-folded."""
    text = text.strip()
    if not text.isascii():
        text = unicodedata.normalize("NFC", text)
    return text.casefold()


def username_keys(frame: pd.DataFrame) -> pd.Series:
    """`username_key` of every row's userName cell; None where it is blank."""
    if "userName" not in frame:
        return pd.Series(None, index=frame.index, dtype=object)
    keys = [
        None
        if name is None or (isinstance(name, float) and name != name)
        else username_key(str(name))
        for name in frame["userName"]
    ]
    return pd.Series(keys, index=frame.index, dtype=object)


def scalar_text(value: Any) -> str:
    """A JSON scalar as the text a cell shows."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def entry_key(entry_type: str, index: int) -> str:
    return entry_type if index == 1 else f"{entry_type}.{index}"


class Layout:
    """The columns of one User schema, and the conversions through them."""

    def __init__(self, schema: UserSchema) -> None:
        self.schema = schema
        self.enterprise = schema.enterprise
        self._bare = self._bare_extension_names()
        self._cache: dict[str, Column] = {}
        self._made: dict[tuple[str, str, str, str, str, int], Column] = {}
        self._ways: dict[tuple[str, str], tuple[str, Any, str]] = {}
        self._sub_headers: dict[tuple[str, str, str], str | None] = {}
        self._entry_headers: dict[tuple[str, str, str, int, str], str] = {}

    # Headers -> columns

    def column(self, header: str) -> Column:
        """The column a header names; raises UnknownColumn with the closest match."""
        cached = self._cache.get(header)
        if cached is None:
            cached = self._resolve(header)
            self._cache[header] = cached
        return cached

    def known_headers(self) -> list[str]:
        """Every header this schema offers for one entry of each canonical type."""
        headers = [ID]
        for schema in self.schema.schemas:
            for attribute in schema.attributes:
                if attribute.name in SERVER_MANAGED or not attribute.writable:
                    continue
                headers.extend(self._headers_of(schema, attribute))
        headers.append(GROUPS)
        return headers

    def attribute_header(self, schema: Schema, attribute: Attribute) -> str:
        """The header of a simple attribute: bare for core and unambiguous
        extension attributes, else its full URN path."""
        return self._make(schema, attribute, None, SIMPLE).header

    def _resolve(self, header: str) -> Column:
        lowered = header.lower()
        if lowered == ID:
            return Column(header=ID, kind=ID)
        if lowered == GROUPS:
            return Column(header=GROUPS, kind=GROUPS)
        if lowered == MANAGER and self.enterprise is not None:
            return self._manager_column()
        if lowered.startswith("meta.") or lowered == "meta":
            return Column(header=header, kind=IGNORED)
        schema, path = self._split_schema(header)
        column = self._attribute_column(schema, path) if schema else None
        if column is None:
            raise UnknownColumn(header, self._closest(header))
        return column

    def _split_schema(self, header: str) -> tuple[Schema | None, list[str]]:
        if header.lower().startswith("urn:"):
            for schema in self.schema.schemas:
                prefix = schema.id.lower() + ":"
                if header.lower().startswith(prefix):
                    return schema, header[len(prefix) :].split(".")
            return None, []
        parts = header.split(".")
        if self.schema.core.attribute(parts[0]) is not None:
            return self.schema.core, parts
        owner = self._bare.get(parts[0].lower())
        return owner, parts

    def _attribute_column(self, schema: Schema, parts: list[str]) -> Column | None:
        attribute = schema.attribute(parts[0])
        if attribute is None or attribute.name in SERVER_MANAGED:
            return None
        if schema.id == ENTERPRISE_USER and attribute.name == "manager":
            return self._manager_column() if len(parts) == 1 else None
        rest = parts[1:]
        if attribute.multi_valued and attribute.type == "complex":
            return self._entry_column(schema, attribute, rest)
        if not rest:
            return self._make(schema, attribute, None, SIMPLE)
        sub = attribute.sub(rest[0]) if attribute.type == "complex" else None
        if sub is None or len(rest) > 1:
            return None
        return self._make(schema, attribute, sub, SIMPLE)

    def _entry_column(
        self, schema: Schema, attribute: Attribute, rest: list[str]
    ) -> Column | None:
        if rest == ["primary"]:
            return self._make(schema, attribute, None, PRIMARY)
        if not rest or not rest[0]:
            return None
        entry_type, rest = rest[0], rest[1:]
        index = 1
        if rest and rest[0].isdigit() and int(rest[0]) >= 2:
            index, rest = int(rest[0]), rest[1:]
        if len(rest) > 1:
            return None
        sub = attribute.sub(rest[0]) if rest else attribute.sub("value")
        if sub is None or sub.name == "type":
            return None
        return self._make(schema, attribute, sub, ENTRY, entry_type, index)

    def _make(
        self,
        schema: Schema,
        attribute: Attribute,
        sub: Attribute | None,
        kind: str,
        entry_type: str = "",
        index: int = 1,
    ) -> Column:
        key = (
            schema.id,
            attribute.name,
            sub.name if sub else "",
            kind,
            entry_type,
            index,
        )
        made = self._made.get(key)
        if made is None:
            made = self._made[key] = self._new_column(
                schema, attribute, sub, kind, entry_type, index
            )
        return made

    def _new_column(
        self,
        schema: Schema,
        attribute: Attribute,
        sub: Attribute | None,
        kind: str,
        entry_type: str,
        index: int,
    ) -> Column:
        path = [attribute.name]
        if kind == PRIMARY:
            path.append("primary")
        elif kind == ENTRY:
            path.append(entry_key(entry_type, index))
            if sub is not None and sub.name != "value":
                path.append(sub.name)
        elif sub is not None:
            path.append(sub.name)
        header = ".".join(path)
        if (
            schema.id != self.schema.core.id
            and attribute.name.lower() not in self._bare
        ):
            header = f"{schema.id}:{header}"
        return Column(header, kind, schema.id, attribute, sub, entry_type, index)

    def _manager_column(self) -> Column:
        assert self.enterprise is not None
        manager = self.enterprise.attribute("manager")
        sub = manager.sub("value") if manager else None
        return Column(MANAGER, MANAGER, ENTERPRISE_USER, manager, sub)

    def _bare_extension_names(self) -> dict[str, Schema]:
        """Extension attributes a bare name reaches: those no other schema shares."""
        seen: dict[str, list[Schema]] = {}
        for schema in self.schema.extensions:
            for attribute in schema.attributes:
                seen.setdefault(attribute.name.lower(), []).append(schema)
        return {
            name: owners[0]
            for name, owners in seen.items()
            if len(owners) == 1 and self.schema.core.attribute(name) is None
        }

    def _headers_of(self, schema: Schema, attribute: Attribute) -> list[str]:
        if schema.id == ENTERPRISE_USER and attribute.name == "manager":
            return [MANAGER]
        if attribute.multi_valued and attribute.type == "complex":
            types = attribute.sub("type")
            kinds = (types.canonical_values if types else ()) or (OTHER_TYPE,)
            subs = (
                [attribute.sub("value")]
                if attribute.sub("value")
                else [
                    s
                    for s in attribute.sub_attributes
                    if s.name not in ("type", "primary")
                ]
            )
            columns = [
                self._make(schema, attribute, sub, ENTRY, kind, 1)
                for kind in kinds
                for sub in subs
                if sub is not None and sub.writable
            ]
            primary = self._make(schema, attribute, None, PRIMARY)
            return [c.header for c in columns] + [primary.header]
        if attribute.type == "complex" and not attribute.multi_valued:
            return [
                self._make(schema, attribute, sub, SIMPLE).header
                for sub in attribute.sub_attributes
                if sub.writable
            ]
        return [self._make(schema, attribute, None, SIMPLE).header]

    def _closest(self, header: str) -> str | None:
        known = self.known_headers()
        by_lower = {h.lower(): h for h in known}
        match = difflib.get_close_matches(
            header.lower(), list(by_lower), n=1, cutoff=0.6
        )
        return by_lower[match[0]] if match else None

    # Resources -> rows

    def flatten(
        self,
        resource: dict[str, Any],
        usernames: dict[str, str] | None = None,
        group_names: Iterable[str] = (),
    ) -> dict[str, Any]:
        """One user as {header: value}; `active` stays a bool, the rest is text.

        `usernames` maps user ids to userNames, for the manager column;
        `group_names` are the user's direct groups.
        """
        row: dict[str, Any] = {}
        if "id" in resource:
            row[ID] = str(resource["id"])
        for schema in self.schema.schemas:
            container = (
                resource if schema is self.schema.core else resource.get(schema.id)
            )
            if isinstance(container, dict):
                self._flatten_container(schema, container, row, usernames or {})
        names = list(group_names)
        if names:
            row[GROUPS] = ";".join(names)
        return row

    def _flatten_container(
        self,
        schema: Schema,
        container: dict[str, Any],
        row: dict[str, Any],
        usernames: dict[str, str],
    ) -> None:
        for key, value in container.items():
            if value is None:
                continue
            way = self._ways.get((schema.id, key))
            if way is None:
                way = self._ways[(schema.id, key)] = self._way_of(schema, key)
            mode, attribute, header = way
            if mode == _SCALAR:
                row[header] = value if type(value) is str else scalar_text(value)
            elif mode == _COMPLEX and isinstance(value, dict):
                for sub_name, sub_value in value.items():
                    sub_header = self._sub_header(schema, attribute, sub_name)
                    if sub_header is not None and sub_value is not None:
                        row[sub_header] = scalar_text(sub_value)
            elif mode == _ENTRIES and isinstance(value, list):
                self._flatten_entries(schema, attribute, value, row)
            elif mode == _LIST and isinstance(value, list):
                row[header] = ";".join(scalar_text(v) for v in value)
            elif mode == _ACTIVE:
                row["active"] = as_bool(value)
            elif mode == _MANAGER and isinstance(value, dict):
                manager_id = value.get("value")
                if manager_id:
                    row[MANAGER] = usernames.get(manager_id, manager_id)

    def _way_of(self, schema: Schema, key: str) -> tuple[str, Any, str]:
        """How the values under one key of a resource become cells."""
        attribute = schema.attribute(key)
        if attribute is None or attribute.name in SERVER_MANAGED:
            return _SKIP, None, ""
        if attribute.mutability == "writeOnly":
            return _SKIP, None, ""
        if schema.id == ENTERPRISE_USER and attribute.name == "manager":
            return _MANAGER, attribute, MANAGER
        if attribute.multi_valued and attribute.type == "complex":
            return _ENTRIES, attribute, ""
        if attribute.type == "complex":
            return _COMPLEX, attribute, ""
        header = self._make(schema, attribute, None, SIMPLE).header
        if attribute.multi_valued:
            return _LIST, attribute, header
        if attribute.name == "active" and schema is self.schema.core:
            return _ACTIVE, attribute, header
        return _SCALAR, attribute, header

    def _sub_header(
        self, schema: Schema, attribute: Attribute, sub_name: str
    ) -> str | None:
        key = (schema.id, attribute.name, sub_name)
        if key not in self._sub_headers:
            sub = attribute.sub(sub_name)
            self._sub_headers[key] = (
                None
                if sub is None
                else self._make(schema, attribute, sub, SIMPLE).header
            )
        return self._sub_headers[key]

    def _flatten_entries(
        self,
        schema: Schema,
        attribute: Attribute,
        entries: list[Any],
        row: dict[str, Any],
    ) -> None:
        counts: dict[str, int] = {}
        has_value = attribute.sub("value") is not None
        for entry in entries:
            if not isinstance(entry, dict):
                continue
            entry_type = str(entry.get("type") or OTHER_TYPE)
            index = counts[entry_type] = counts.get(entry_type, 0) + 1
            if entry.get("primary") is True:
                primary = self._make(schema, attribute, None, PRIMARY)
                row[primary.header] = entry_key(entry_type, index)
            if has_value:
                value = entry.get("value")
                if value is not None:
                    header = self._entry_header(
                        schema, attribute, entry_type, index, "value"
                    )
                    row[header] = value if type(value) is str else scalar_text(value)
                continue
            for sub_name, sub_value in entry.items():
                if sub_name in ("type", "primary") or sub_value is None:
                    continue
                header = self._entry_header(
                    schema, attribute, entry_type, index, sub_name
                )
                if header:
                    row[header] = scalar_text(sub_value)

    def _entry_header(
        self, schema: Schema, attribute: Attribute, kind: str, index: int, sub_name: str
    ) -> str:
        key = (schema.id, attribute.name, kind, index, sub_name)
        header = self._entry_headers.get(key)
        if header is None:
            sub = attribute.sub(sub_name)
            header = (
                ""
                if sub is None
                else self._make(schema, attribute, sub, ENTRY, kind, index).header
            )
            self._entry_headers[key] = header
        return header

    # Cells -> resources

    def apply_cell(
        self, resource: dict[str, Any], column: Column, value: Any | None
    ) -> None:
        """Write one typed value into a resource; None removes it (`<clear>`)."""
        assert column.attribute is not None
        container = self._container(resource, column.schema, create=value is not None)
        if container is None:
            return
        name = column.attribute.name
        if column.kind == PRIMARY:
            set_primary(container.get(name), value)
        elif column.kind == ENTRY:
            assert column.sub is not None
            set_entry(container, name, column, value)
        elif column.sub is not None:
            set_sub(container, name, column.sub.name, value)
        elif value is None:
            container.pop(name, None)
        else:
            container[name] = value
        if column.schema != self.schema.core.id and not container:
            resource.pop(column.schema, None)

    def _container(
        self, resource: dict[str, Any], schema_id: str, create: bool
    ) -> dict[str, Any] | None:
        if schema_id == self.schema.core.id:
            return resource
        container = resource.get(schema_id)
        if not isinstance(container, dict):
            if not create:
                return None
            container = resource[schema_id] = {}
        schemas = resource.setdefault("schemas", [self.schema.core.id])
        if schema_id not in schemas:
            schemas.append(schema_id)
        return container


def set_sub(container: dict[str, Any], name: str, sub: str, value: Any) -> None:
    complex_value = container.get(name)
    if value is None:
        if isinstance(complex_value, dict):
            complex_value.pop(sub, None)
            if not complex_value:
                container.pop(name)
        return
    if not isinstance(complex_value, dict):
        complex_value = container[name] = {}
    complex_value[sub] = value


def find_entry(entries: Any, entry_type: str, index: int) -> dict[str, Any] | None:
    """The `index`-th entry of a type; an entry with no type counts as `other`."""
    if not isinstance(entries, list):
        return None
    seen = 0
    for entry in entries:
        if isinstance(entry, dict) and (entry.get("type") or OTHER_TYPE) == entry_type:
            seen += 1
            if seen == index:
                return entry
    return None


def set_entry(container: dict[str, Any], name: str, column: Column, value: Any) -> None:
    assert column.sub is not None
    entries = container.get(name)
    entry = find_entry(entries, column.entry_type, column.index)
    sub = column.sub.name
    if value is None:
        if entry is not None and isinstance(entries, list):
            entry.pop(sub, None)
            # An entry left with nothing but its type says nothing: drop it.
            if sub == "value" or not set(entry) - {"type", "primary", "display"}:
                entries.remove(entry)
            if not entries:
                container.pop(name)
        return
    if entry is None:
        if not isinstance(entries, list):
            entries = container[name] = []
        entry = {"type": column.entry_type}
        entries.append(entry)
    entry[sub] = value


def set_primary(entries: Any, key: str | None) -> None:
    """Mark the entry that `key` (`work`, `work.2`) names primary, and no other."""
    if not isinstance(entries, list):
        return
    entry_type, _, index = (key or "").partition(".")
    chosen = find_entry(entries, entry_type, int(index or 1)) if key else None
    for entry in entries:
        if isinstance(entry, dict):
            if entry is chosen:
                entry["primary"] = True
            else:
                entry.pop("primary", None)

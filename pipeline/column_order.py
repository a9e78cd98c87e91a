"""The order of columns in an export: id, userName, name.*, displayName, active,
emails.*, phoneNumbers.*, addresses.*, other core attributes, enterprise attributes,
manager, groups, then other extensions (DESIGN section 4)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from pipeline.columns import ENTRY, GROUPS, ID, MANAGER, PRIMARY, Column, Layout
from pipeline.scim.schema import ENTERPRISE_USER

_FIRST_CORE = ("userName", "name", "displayName", "active")
_ENTRY_CORE = ("emails", "phoneNumbers", "addresses")


def export_order(layout: Layout, headers: Iterable[str]) -> list[str]:
    """Headers in export order: id, userName, name.*, displayName, active, emails.*,
    phoneNumbers.*, addresses.*, other core, enterprise, manager, groups, others."""
    return sorted(headers, key=lambda header: _order_key(layout, layout.column(header)))


def _order_key(layout: Layout, column: Column) -> tuple[Any, ...]:
    core = layout.schema.core
    if column.kind == ID:
        return (0,)
    if column.kind == MANAGER:
        return (10,)
    if column.kind == GROUPS:
        return (11,)
    attribute = column.attribute
    if attribute is None:
        return (13, column.header)
    detail = _detail_key(column)
    if column.schema == core.id:
        position = core.attributes.index(attribute)
        if attribute.name in _FIRST_CORE:
            return (1 + _FIRST_CORE.index(attribute.name), *detail)
        if attribute.name in _ENTRY_CORE:
            return (5 + _ENTRY_CORE.index(attribute.name), *detail)
        return (8, position, *detail)
    schemas = layout.schema.extensions
    owner = next(s for s in schemas if s.id == column.schema)
    rank = 9 if column.schema == ENTERPRISE_USER else 12
    return (rank, schemas.index(owner), owner.attributes.index(attribute), *detail)


# People read a name given name first, whatever order the schema lists it in.
_NAME_ORDER = ("givenName", "middleName", "familyName", "honorificPrefix")


def _detail_key(column: Column) -> tuple[Any, ...]:
    attribute = column.attribute
    assert attribute is not None
    sub_position = (
        attribute.sub_attributes.index(column.sub) if column.sub is not None else -1
    )
    if attribute.name == "name" and column.sub is not None:
        sub = column.sub.name
        sub_position = (
            _NAME_ORDER.index(sub) - 10 if sub in _NAME_ORDER else sub_position
        )
    if column.kind == PRIMARY:
        return (1, "", 0, 0)
    if column.kind == ENTRY:
        types = attribute.sub("type")
        canonical = types.canonical_values if types else ()
        type_rank = (
            canonical.index(column.entry_type)
            if column.entry_type in canonical
            else len(canonical)
        )
        return (0, f"{type_rank:03d}{column.entry_type}", column.index, sub_position)
    return (0, "", 0, sub_position)

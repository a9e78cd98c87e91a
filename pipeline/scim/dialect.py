"""The ways SCIM servers differ in what this tool relies on."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Dialect:
    """How a server pages lists and suspends users."""

    name: str
    page_size_param: str
    suspend_by_delete: bool


# Psoda pages with `pageSize` and suspends a user on DELETE.
PSODA = Dialect(name="psoda", page_size_param="pageSize", suspend_by_delete=True)
# RFC 7644 servers page with `count`; their DELETE removes the user for good, so a
# suspension is a PUT with `active: false`.
RFC = Dialect(name="rfc", page_size_param="count", suspend_by_delete=False)

DIALECTS = {d.name: d for d in (PSODA, RFC)}

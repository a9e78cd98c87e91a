"""Pages of resources -> complete listings -> the users, groups and members frames.

Paging trusts nothing a server says about itself: it advances by the resources
actually received, de-duplicates by id, and ends only at an empty page, a page that
adds nothing new, or a short page once past the largest `totalResults` seen.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from pipeline.column_order import export_order
from pipeline.columns import GROUPS, MANAGER, Layout
from pipeline.scim.client import ScimClient

log = logging.getLogger(__name__)

Progress = Callable[[int, int | None], None]


@dataclass
class Listing:
    """Every resource of one endpoint, and whether the server gave them all."""

    endpoint: str
    resources: list[dict[str, Any]]
    announced: int | None
    complete: bool
    requests: list[int] = field(default_factory=list)

    @property
    def problem(self) -> str:
        """Why the listing is incomplete, in words; empty when complete."""
        if self.complete:
            return ""
        return (
            f"{self.endpoint}: totalResults said {self.announced} but "
            f"{len(self.resources)} distinct resources were received"
        )


@dataclass
class _Pass:
    resources: dict[str, dict[str, Any]]
    totals: set[int]
    requests: list[int]


def fetch_all(
    client: ScimClient,
    endpoint: str,
    page_size: int,
    progress: Progress | None = None,
    on_new: Callable[[dict[str, Any]], None] | None = None,
) -> Listing:
    """Every resource of `/Users` or `/Groups`.

    A first pass that comes up short of `totalResults`, or sees it move, is followed
    by a second; the listing is complete when at least as many distinct resources
    arrived as were ever announced and the two passes agree.
    """
    first = _page_through(client, endpoint, page_size, progress, on_new)
    resources, totals = first.resources, first.totals
    complete = _enough(resources, totals) and len(totals) <= 1
    if not complete:
        log.info("%s: the first pass came up short; reading the list again", endpoint)
        second = _page_through(client, endpoint, page_size, progress, on_new)
        resources = {**first.resources, **second.resources}
        totals = first.totals | second.totals
        complete = _enough(resources, totals) and set(first.resources) == set(
            second.resources
        )
    listing = Listing(
        endpoint=endpoint,
        resources=list(resources.values()),
        announced=max(totals) if totals else None,
        complete=complete,
        requests=first.requests,
    )
    if not listing.complete:
        log.warning("%s", listing.problem)
    return listing


def _enough(resources: dict[str, Any], totals: set[int]) -> bool:
    return len(resources) >= max(totals, default=0)


class _Pager:
    """One pass over a list: pages in, distinct resources and totals out."""

    def __init__(
        self,
        client: ScimClient,
        endpoint: str,
        page_size: int,
        progress: Progress | None,
        on_new: Callable[[dict[str, Any]], None] | None,
    ) -> None:
        self.client, self.endpoint, self.page_size = client, endpoint, page_size
        self.progress = progress
        self.on_new = on_new
        self.result = _Pass({}, set(), [])

    def fetch(self, start: int) -> list[dict[str, Any]]:
        page = self.client.list_page(self.endpoint, start, self.page_size)
        total = page.get("totalResults")
        if isinstance(total, int):
            self.result.totals.add(total)
        return list(page.get("Resources") or [])

    def absorb(self, start: int, resources: list[dict[str, Any]]) -> int:
        """Keep the resources not seen before; returns how many were new."""
        found = self.result.resources
        self.result.requests.append(start)
        before = len(found)
        for resource in resources:
            key = str(resource.get("id"))
            if key not in found:
                found[key] = resource
                if self.on_new is not None:
                    self.on_new(resource)
        if self.progress is not None:
            totals = self.result.totals
            self.progress(len(found), max(totals) if totals else None)
        return len(found) - before

    @property
    def announced(self) -> int:
        return max(self.result.totals, default=0)


def _page_through(
    client: ScimClient,
    endpoint: str,
    page_size: int,
    progress: Progress | None,
    on_new: Callable[[dict[str, Any]], None] | None = None,
) -> _Pass:
    """Page from startIndex 1, advancing by what arrived; once the first page shows
    the real page length, the pages up to `totalResults` are read in parallel
    (and taken in as they come, in order, while the rest are on their way)."""
    pager = _Pager(client, endpoint, page_size, progress, on_new)
    start = 1
    resources = pager.fetch(start)
    new = pager.absorb(start, resources)
    step = len(resources)
    starts = list(range(1 + step, pager.announced + 1, step)) if step else []
    workers = min(client.settings.concurrency, len(starts))
    if workers > 1:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            pages = pool.map(pager.fetch, starts)
            for start, resources in zip(starts, pages, strict=True):
                new = pager.absorb(start, resources)
    while resources and new:
        start += len(resources)
        short = len(resources) < page_size
        if short and start - 1 >= pager.announced:
            break
        resources = pager.fetch(start)
        new = pager.absorb(start, resources)
    return pager.result


def group_memberships(groups: list[dict[str, Any]]) -> dict[str, list[str]]:
    """Direct memberships: member id -> display names of its groups, in list order."""
    memberships: dict[str, list[str]] = {}
    for group in groups:
        name = str(group.get("displayName") or group.get("id"))
        for member in group.get("members") or ():
            value = member.get("value") if isinstance(member, dict) else None
            if value:
                memberships.setdefault(str(value), []).append(name)
    return memberships


def users_frame(
    users: list[dict[str, Any]],
    groups: list[dict[str, Any]],
    layout: Layout,
    flattened: dict[str, dict[str, Any]] | None = None,
) -> pd.DataFrame:
    """The users as rows of readable columns (DESIGN section 4), in export order.

    `flattened` holds rows already made from the users by id (as the pages came
    in); their manager ids become userNames and their groups are added here.
    """
    usernames = {str(u.get("id")): str(u.get("userName", "")) for u in users}
    memberships = group_memberships(groups)
    rows = []
    for user in users:
        user_id = str(user.get("id"))
        row = (flattened or {}).get(user_id) or layout.flatten(user)
        manager = row.get(MANAGER)
        if manager is not None:
            row[MANAGER] = usernames.get(manager, manager)
        if user_id in memberships:
            row[GROUPS] = ";".join(sorted(memberships[user_id], key=str.casefold))
        rows.append(row)
    headers = dict.fromkeys(header for row in rows for header in row)
    ordered = export_order(layout, headers) if headers else ["id", "userName"]
    return pd.DataFrame(
        {h: pd.Series([row.get(h) for row in rows], dtype=object) for h in ordered},
        columns=ordered,
    )


def groups_frame(groups: list[dict[str, Any]]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "id": pd.Series([g.get("id") for g in groups], dtype=object),
            "displayName": pd.Series(
                [g.get("displayName") for g in groups], dtype=object
            ),
            "externalId": pd.Series(
                [g.get("externalId") for g in groups], dtype=object
            ),
            "memberCount": pd.Series(
                [len(g.get("members") or ()) for g in groups], dtype="int64"
            ),
        }
    )


MEMBER_COLUMNS = ["groupId", "groupName", "memberId", "memberType", "memberName"]


def members_frame(
    users: list[dict[str, Any]], groups: list[dict[str, Any]]
) -> pd.DataFrame:
    """One row per group and direct member, named by userName or displayName."""
    names = {str(u.get("id")): u.get("userName") for u in users}
    group_ids = {str(g.get("id")) for g in groups}
    names.update({str(g.get("id")): g.get("displayName") for g in groups})
    rows = [
        (
            group.get("id"),
            group.get("displayName"),
            member.get("value"),
            member.get("type")
            or ("Group" if str(member.get("value")) in group_ids else "User"),
            names.get(str(member.get("value")), member.get("display")),
        )
        for group in groups
        for member in group.get("members") or ()
        if isinstance(member, dict)
    ]
    return pd.DataFrame(rows, columns=MEMBER_COLUMNS, dtype=object)

"""The whole roster: read every user and group, and export them to files."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipeline.atomic import make_folder
from pipeline.columns import Layout
from pipeline.export import write_csv, write_jsonl, write_xlsx
from pipeline.extract import (
    Listing,
    fetch_all,
    groups_frame,
    members_frame,
    users_frame,
)
from pipeline.scim.client import ScimClient
from pipeline.scim.schema import user_schema_from_json

log = logging.getLogger(__name__)

FORMATS = ("csv", "xlsx", "json")
PLAN_COLUMNS = ["row", "action", "field", "before", "after"]
ERROR_COLUMNS = ["row", "column", "value", "problem"]
Progress = Callable[[int, int | None], None]


@dataclass
class Roster:
    """Everything the server holds, as read in one go."""

    layout: Layout
    users: Listing
    groups: Listing

    @property
    def complete(self) -> bool:
        return self.users.complete and self.groups.complete

    @property
    def problems(self) -> list[str]:
        return [p for p in (self.users.problem, self.groups.problem) if p]


def read_roster(
    client: ScimClient,
    page_size: int,
    progress: Progress | None = None,
    flattened: dict[str, dict[str, Any]] | None = None,
) -> Roster:
    """Schemas, users and groups. With `flattened`, each user is also turned into
    its row as its page arrives, while later pages are still on their way."""
    layout = Layout(user_schema_from_json(client.schemas()))

    def flatten(user: dict[str, Any]) -> None:
        assert flattened is not None
        flattened[str(user.get("id"))] = layout.flatten(user)

    on_new = flatten if flattened is not None else None
    users = fetch_all(client, "Users", page_size, progress, on_new)
    groups = fetch_all(client, "Groups", page_size)
    return Roster(layout, users, groups)


@dataclass
class ExportResult:
    users: int
    groups: int
    members: int
    files: list[Path]
    problems: list[str]

    @property
    def complete(self) -> bool:
        return not self.problems


def export_roster(
    client: ScimClient,
    out_dir: Path,
    formats: tuple[str, ...] = FORMATS,
    excel_safe: bool = False,
    progress: Progress | None = None,
) -> ExportResult:
    """Write users, groups and members in the chosen formats; incomplete is reported,
    not hidden."""
    flattened: dict[str, dict[str, Any]] = {}
    roster = read_roster(client, client.settings.page_size, progress, flattened)
    make_folder(out_dir)
    return write_roster(roster, flattened, out_dir, formats, excel_safe=excel_safe)


def write_roster(
    roster: Roster,
    flattened: dict[str, dict[str, Any]],
    out_dir: Path,
    formats: tuple[str, ...],
    *,
    excel_safe: bool = False,
    csv_sheets: tuple[str, ...] = ("Users", "Groups", "Members"),
    mode: int | None = None,
) -> ExportResult:
    """The files of an export. JSONL first: it is the lossless copy, and the XLSX
    is the one file a very large tenant can be refused for."""
    users, groups = roster.users.resources, roster.groups.resources
    frames = {
        "Users": users_frame(users, groups, roster.layout, flattened),
        "Groups": groups_frame(groups),
        "Members": members_frame(users, groups),
    }
    files: list[Path] = []
    if "json" in formats:
        for name, listing in (("users", roster.users), ("groups", roster.groups)):
            path = out_dir / f"{name}.jsonl"
            write_jsonl(listing.resources, path, mode=mode)
            files.append(path)
    if "csv" in formats:
        for name in csv_sheets:
            path = out_dir / f"{name.lower()}.csv"
            write_csv(frames[name], path, excel_safe=excel_safe, mode=mode)
            files.append(path)
    if "xlsx" in formats:
        write_xlsx(frames, out_dir / "roster.xlsx", mode=mode)
        files.append(out_dir / "roster.xlsx")
    return ExportResult(
        len(users), len(groups), len(frames["Members"]), files, roster.problems
    )

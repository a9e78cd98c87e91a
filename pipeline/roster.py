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
    users, groups = roster.users.resources, roster.groups.resources
    frames = {
        "Users": users_frame(users, groups, roster.layout, flattened),
        "Groups": groups_frame(groups),
        "Members": members_frame(users, groups),
    }
    make_folder(out_dir)
    files: list[Path] = []
    if "csv" in formats:
        for name, frame in frames.items():
            path = out_dir / f"{name.lower()}.csv"
            write_csv(frame, path, excel_safe=excel_safe)
            files.append(path)
    if "xlsx" in formats:
        write_xlsx(frames, out_dir / "roster.xlsx")
        files.append(out_dir / "roster.xlsx")
    if "json" in formats:
        for name, listing in (("users", roster.users), ("groups", roster.groups)):
            write_jsonl(listing.resources, out_dir / f"{name}.jsonl")
            files.append(out_dir / f"{name}.jsonl")
    return ExportResult(
        len(users), len(groups), len(frames["Members"]), files, roster.problems
    )

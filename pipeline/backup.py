"""Offline backups: a folder per run that is whole or absent, and its verification.

`backup` builds `DIR/.<stamp>.partial/` and renames it to `DIR/<stamp>/` only once
every file and the manifest are written, so a backup killed half way leaves no
folder that looks like a backup. Folders are 0700 and files 0600: a backup holds
personal data. The manifest records the sha256 of every file; `verify` checks
them, parses every JSON line and compares the counts.
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pandas as pd

from pipeline import __version__
from pipeline.atomic import atomic_path, file_sha256, make_folder
from pipeline.columns import ID, Layout
from pipeline.errors import PipelineError, UsageError
from pipeline.extract import fetch_all, users_frame
from pipeline.importing import ImportOptions, ImportOutcome, Progress, import_frames
from pipeline.plan import Plan
from pipeline.roster import read_roster, write_roster
from pipeline.scim.client import ScimClient
from pipeline.scim.schema import user_schema_from_json

MANIFEST = "manifest.json"
INCOMPLETE = "the backup is marked incomplete"
STAMP = re.compile(r"^\d{8}T\d{6}Z$")
FOLDER_MODE = 0o700
FILE_MODE = 0o600


@dataclass
class BackupResult:
    folder: Path
    users: int
    groups: int
    complete: bool
    problems: list[str]
    removed: list[Path] = field(default_factory=list)


def run_backup(
    client: ScimClient,
    out: Path,
    keep: int | None = None,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> BackupResult:
    """Back up every user, group and schema into a new folder of `out`."""
    started = clock()
    stamp = started.strftime("%Y%m%dT%H%M%SZ")
    final = out / stamp
    if final.exists():
        raise UsageError(f"{final} already exists; wait a second and run again")
    make_folder(out)
    partial = out / f".{stamp}.partial"
    make_folder(partial, mode=FOLDER_MODE)
    try:
        result = _write_backup(client, partial, started, clock)
        partial.rename(final)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    result.folder = final
    if keep is not None and result.complete:
        result.removed = prune(out, keep, final)
    return result


def _write_backup(
    client: ScimClient,
    folder: Path,
    started: datetime,
    clock: Callable[[], datetime],
) -> BackupResult:
    flattened: dict[str, dict[str, Any]] = {}
    roster = read_roster(client, client.settings.page_size, None, flattened)
    schemas = client.schemas()
    with atomic_path(folder / "schemas.json", mode=FILE_MODE) as temp:
        temp.write_bytes(orjson.dumps(schemas, option=orjson.OPT_INDENT_2))
    exported = write_roster(
        roster,
        flattened,
        folder,
        ("json", "csv", "xlsx"),
        csv_sheets=("Users",),
        mode=FILE_MODE,
    )
    names = sorted(p.name for p in [*exported.files, folder / "schemas.json"])
    manifest = {
        "tool": "scim-pipeline",
        "version": __version__,
        "server": client.settings.base_url,
        "dialect": client.dialect.name,
        "started": started.isoformat(),
        "finished": clock().isoformat(),
        "counts": {
            "users": exported.users,
            "groups": exported.groups,
            "members": exported.members,
        },
        "files": {name: file_sha256(folder / name) for name in names},
        "complete": exported.complete,
        "problems": exported.problems,
    }
    with atomic_path(folder / MANIFEST, mode=FILE_MODE) as temp:
        temp.write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    return BackupResult(
        folder, exported.users, exported.groups, exported.complete, exported.problems
    )


def read_manifest(folder: Path) -> dict[str, Any]:
    path = folder / MANIFEST
    if not path.is_file():
        raise UsageError(f"{folder} holds no {MANIFEST}; give a backup folder")
    try:
        manifest: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise PipelineError(f"{path} is not valid JSON ({error})") from error
    return manifest


def prune(out: Path, keep: int, newest: Path) -> list[Path]:
    """Remove the oldest complete backups beyond `keep`; never `newest`."""
    complete = []
    for folder in sorted(out.iterdir()):
        if folder.is_dir() and STAMP.match(folder.name):
            try:
                if read_manifest(folder).get("complete") is True:
                    complete.append(folder)
            except PipelineError:
                continue
    extra = [f for f in complete if f != newest][: max(len(complete) - keep, 0)]
    for folder in extra:
        shutil.rmtree(folder)
    return extra


def verify_backup(folder: Path) -> list[str]:
    """Every problem with a backup folder; empty when it is whole."""
    manifest = read_manifest(folder)
    problems = []
    for name, expected in sorted(manifest.get("files", {}).items()):
        path = folder / name
        if not path.is_file():
            problems.append(f"{name}: missing")
        elif file_sha256(path) != expected:
            problems.append(f"{name}: checksum differs from the manifest")
    counts = manifest.get("counts", {})
    for name, key in (("users.jsonl", "users"), ("groups.jsonl", "groups")):
        path = folder / name
        if path.is_file():
            problems += _check_lines(path, counts.get(key))
    schemas = folder / "schemas.json"
    if schemas.is_file():
        try:
            json.loads(schemas.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError):
            problems.append("schemas.json: not valid JSON")
    if manifest.get("complete") is not True:
        problems.append(
            "the backup is marked incomplete: "
            + "; ".join(manifest.get("problems") or ["no reason recorded"])
        )
    return problems


def _check_lines(path: Path, expected: int | None) -> list[str]:
    count = 0
    for number, line in enumerate(path.read_bytes().splitlines(), start=1):
        try:
            resource = orjson.loads(line)
        except orjson.JSONDecodeError:
            return [f"{path.name}: line {number} is not valid JSON"]
        if not isinstance(resource, dict) or not resource.get("id"):
            return [f"{path.name}: line {number} is not a resource with an id"]
        count += 1
    if expected is not None and count != expected:
        return [f"{path.name}: {count} resources, the manifest says {expected}"]
    return []


def restore_backup(
    client: ScimClient,
    folder: Path,
    report_dir: Path,
    options: ImportOptions,
    progress: Progress | None = None,
    show_plan: Callable[[Plan], None] | None = None,
) -> ImportOutcome:
    """Plan (and with `options.apply` carry out) putting a server back as a backup
    has it: missing users and groups created, differing ones updated by full PUT,
    suspensions mirrored, group memberships by userName.

    The backup's users become the rows of an import, without their ids (a new
    server gives new ones), with `--exact-groups` and `--create-groups`.
    """
    problems = [p for p in verify_backup(folder) if not p.startswith(INCOMPLETE)]
    if problems:
        raise PipelineError(
            f"{folder} does not verify ({problems[0]}); run `scim-pipeline verify` "
            "on it, and restore from another backup"
        )
    users = _read_jsonl(folder / "users.jsonl")
    groups = _read_jsonl(folder / "groups.jsonl")
    schemas = json.loads((folder / "schemas.json").read_text(encoding="utf-8"))
    layout = Layout(user_schema_from_json(schemas))
    rows = users_frame(users, groups, layout).drop(columns=[ID])
    if "active" in rows:
        rows["active"] = rows["active"].map(
            lambda value: None if value is None else ("true" if value else "false")
        )
    rows.index = pd.RangeIndex(2, len(rows) + 2)
    group_rows = pd.DataFrame(
        {
            "displayName": [g.get("displayName") for g in groups],
            "externalId": [g.get("externalId") for g in groups],
        },
        index=pd.RangeIndex(2, len(groups) + 2),
        dtype=object,
    )
    restoring = replace(options, exact_groups=True, create_groups=True)
    outcome = import_frames(
        client,
        rows,
        group_rows,
        lambda: file_sha256(folder / MANIFEST),
        report_dir,
        restoring,
        progress,
        show_plan,
    )
    if options.apply and not outcome.errors and not outcome.failed:
        restore_nested_groups(client, groups)
    return outcome


def restore_nested_groups(client: ScimClient, backup: list[dict[str, Any]]) -> int:
    """Groups that are members of groups, mapped by display name once every group
    exists on the server; returns how many groups were changed."""
    names = {str(g.get("id")): str(g.get("displayName")) for g in backup}
    wanted = {
        str(g.get("displayName")): {
            names[str(m.get("value"))]
            for m in g.get("members") or ()
            if str(m.get("value")) in names
        }
        for g in backup
    }
    current = fetch_all(client, "Groups", client.settings.page_size).resources
    by_name = {str(g.get("displayName")): g for g in current}
    ids = {name: str(g["id"]) for name, g in by_name.items()}
    changed = 0
    for name, members in wanted.items():
        group = by_name.get(name)
        if group is None:
            continue
        have = {
            str(m.get("value"))
            for m in group.get("members") or ()
            if isinstance(m, dict)
        }
        missing = [ids[m] for m in sorted(members) if m in ids and ids[m] not in have]
        if not missing:
            continue
        body = {k: v for k, v in group.items() if k != "meta"}
        body["members"] = [
            *(group.get("members") or []),
            *({"value": i, "type": "Group"} for i in missing),
        ]
        client.replace("Groups", str(group["id"]), body)
        changed += 1
    return changed


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [orjson.loads(line) for line in path.read_bytes().splitlines() if line]

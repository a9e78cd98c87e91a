"""Backups: whole or absent, private, verifiable, pruned; against the sandbox."""

from __future__ import annotations

import json
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from pipeline.backup import run_backup, verify_backup
from pipeline.errors import ScimHttpError
from tests.replay import ReplayServer, load_case
from tests.sandbox_kit import seeded_app

SEED = Path(__file__).parent.parent / "samples" / "seed.json"
KEY = "test-key"  # the sandbox kit's key


def seeded(tmp_path: Path):
    seed = json.loads(SEED.read_text(encoding="utf-8"))
    return seeded_app(tmp_path, seed["users"], seed["groups"]), seed


def ticking(start: datetime):
    moments = iter(start + timedelta(seconds=n) for n in range(1000))
    return lambda: next(moments)


def test_backup_is_whole_private_and_verifies(wsgi_client, tmp_path):
    app, seed = seeded(tmp_path)
    client = wsgi_client(app)
    clock = ticking(datetime(2026, 12, 1, 2, 0, tzinfo=UTC))

    result = run_backup(client, tmp_path / "backups", clock=clock)

    folder = tmp_path / "backups" / "20261201T020000Z"
    assert result.folder == folder and result.complete
    assert sorted(p.name for p in folder.iterdir()) == [
        "groups.jsonl",
        "manifest.json",
        "roster.xlsx",
        "schemas.json",
        "users.csv",
        "users.jsonl",
    ]
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert {stat.S_IMODE(p.stat().st_mode) for p in folder.iterdir()} == {0o600}
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["counts"]["users"] == len(seed["users"])
    assert manifest["counts"]["groups"] == len(seed["groups"])
    assert manifest["complete"] is True
    assert manifest["server"] == "http://127.0.0.1/scim/v2"
    assert verify_backup(folder) == []
    for path in folder.iterdir():
        assert KEY.encode() not in path.read_bytes()


def test_a_changed_byte_fails_verification_and_names_the_file(wsgi_client, tmp_path):
    app, _ = seeded(tmp_path)
    result = run_backup(wsgi_client(app), tmp_path / "b")
    users = result.folder / "users.jsonl"
    data = bytearray(users.read_bytes())
    data[10] ^= 0x01
    users.write_bytes(bytes(data))

    problems = verify_backup(result.folder)

    assert "users.jsonl: checksum differs from the manifest" in problems


def test_keep_leaves_the_newest_complete_backups(wsgi_client, tmp_path):
    app, _ = seeded(tmp_path)
    client = wsgi_client(app)
    clock = ticking(datetime(2026, 12, 1, 2, 0, tzinfo=UTC))

    for _ in range(5):
        last = run_backup(client, tmp_path / "b", keep=3, clock=clock)

    names = sorted(p.name for p in (tmp_path / "b").iterdir())
    assert len(names) == 3
    assert names[-1] == last.folder.name
    assert names[0] > "20261201T020002Z"


def test_a_backup_that_fails_half_way_leaves_no_folder(wsgi_client, tmp_path):
    app, _ = seeded(tmp_path)

    def groups_fail(environ, start_response):
        if environ["PATH_INFO"].endswith("/Groups"):
            start_response(
                "500 Internal Server Error", [("Content-Type", "text/plain")]
            )
            return [b"down"]
        return app(environ, start_response)

    with pytest.raises(ScimHttpError):
        run_backup(wsgi_client(groups_fail), tmp_path / "b")

    assert list((tmp_path / "b").iterdir()) == []


def test_an_incomplete_export_is_kept_and_marked(wsgi_client, tmp_path):
    server = ReplayServer(load_case("c03a_short_page_is_not_the_end.json"))

    result = run_backup(wsgi_client(server, dialect="rfc", page_size=5), tmp_path / "b")

    assert not result.complete
    manifest = json.loads((result.folder / "manifest.json").read_text())
    assert manifest["complete"] is False
    assert manifest["problems"] == [
        "Users: totalResults said 12 but 11 distinct resources were received"
    ]
    assert verify_backup(result.folder)[-1].startswith(
        "the backup is marked incomplete"
    )


def csv_without_ids(path: Path) -> list[dict[str, str]]:
    import csv

    with path.open(encoding="utf-8-sig") as handle:
        rows = [
            {k: v for k, v in row.items() if k != "id"}
            for row in csv.DictReader(handle)
        ]
    return sorted(rows, key=lambda row: row["userName"])


def user_memberships(path: Path) -> set[tuple[str, str, str]]:
    import csv

    with path.open(encoding="utf-8-sig") as handle:
        return {
            (row["groupName"], row["memberType"], row["memberName"])
            for row in csv.DictReader(handle)
        }


def test_restore_into_an_empty_server_round_trips(wsgi_client, tmp_path):
    from pipeline.backup import restore_backup
    from pipeline.importing import ImportOptions
    from pipeline.roster import export_roster

    for name in ("a", "c"):
        (tmp_path / name).mkdir()
    source, _ = seeded(tmp_path / "a")
    backup = run_backup(wsgi_client(source), tmp_path / "b")
    target = seeded_app(tmp_path / "c", [])
    client = wsgi_client(target)

    restored = restore_backup(
        client, backup.folder, tmp_path / "r1", ImportOptions(apply=True)
    )
    again = restore_backup(
        client, backup.folder, tmp_path / "r2", ImportOptions(apply=True)
    )
    export_roster(wsgi_client(source), tmp_path / "before", ("csv",))
    export_roster(client, tmp_path / "after", ("csv",))

    assert restored.failed == []
    assert again.plan is not None and again.plan.empty
    assert csv_without_ids(tmp_path / "after" / "users.csv") == csv_without_ids(
        tmp_path / "before" / "users.csv"
    )
    assert user_memberships(tmp_path / "after" / "members.csv") == user_memberships(
        tmp_path / "before" / "members.csv"
    )


def test_sandbox_starts_from_a_backup_folder(wsgi_client, tmp_path):
    from pipeline.sandbox import build_app

    app, seed = seeded(tmp_path)
    backup = run_backup(wsgi_client(app), tmp_path / "b")

    rehearsal = build_app(api_keys=("k",), seed_path=backup.folder)

    snapshot = rehearsal.storage.snapshot()
    assert len(snapshot["users"]) == len(seed["users"])
    assert len(snapshot["groups"]) == len(seed["groups"])

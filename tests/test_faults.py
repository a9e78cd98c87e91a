"""Imports through a faulty sandbox: every row is done once, no user twice."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from pipeline.importing import ImportOptions, import_sheet
from pipeline.sandbox import Faults, SandboxServer, build_app
from pipeline.scim.client import ConnectionSettings, ScimClient
from tests.sandbox_kit import Recorder, user

ROWS = 200


def sheet(tmp_path: Path, title: str = "Associate") -> Path:
    path = tmp_path / f"hires-{title}.csv"
    lines = ["userName,title,active"] + [
        f"hire{i:03d}@example.com,{title},true" for i in range(ROWS)
    ]
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def faulty_app(tmp_path: Path, faults: Faults) -> Recorder:
    seed = tmp_path / "seed.json"
    existing = [user("u1", "ana@example.com", active=True)]
    seed.write_text(json.dumps({"users": existing, "groups": []}))
    return Recorder(build_app(api_keys=("test-key",), seed_path=seed, faults=faults))


def usernames(app: Recorder) -> Counter[str]:
    stored = app.app.storage.snapshot()["users"]
    return Counter(u["userName"] for u in stored)


@pytest.mark.parametrize(
    "faults",
    [
        Faults(drop_rate=0.15, seed=3),
        Faults(drop_before_rate=0.15, seed=4),
        Faults(error_rate=0.15, seed=5),
        Faults(drop_rate=0.1, drop_before_rate=0.05, error_rate=0.1, seed=6),
    ],
    ids=["dropped-after-write", "dropped-before-write", "5xx", "mixed"],
)
def test_creates_through_faults_happen_once(wsgi_client, tmp_path, faults):
    app = faulty_app(tmp_path, faults)
    client = wsgi_client(app)
    check_import_through_faults(client, app, tmp_path)


def check_import_through_faults(client, app: Recorder, tmp_path: Path) -> None:
    """Import, import again, and a third run plans nothing: every row once."""
    first = import_sheet(
        client, sheet(tmp_path), tmp_path / "r1", ImportOptions(apply=True)
    )
    assert first.results is not None
    assert sorted(r.row for r in first.results) == list(range(2, ROWS + 2))
    again = import_sheet(
        client, sheet(tmp_path), tmp_path / "r2", ImportOptions(apply=True)
    )
    final = import_sheet(client, sheet(tmp_path), tmp_path / "r3", ImportOptions())

    counts = usernames(app)
    assert len(counts) == ROWS + 1
    assert max(counts.values()) == 1
    assert final.plan is not None and final.plan.empty
    failed = (tmp_path / "r1" / "failed.csv").read_text(encoding="utf-8-sig")
    assert len(failed.splitlines()) == 1 + len(first.failed)
    assert again.failed == []


def test_timeouts_over_loopback_happen_once(tmp_path):
    # Timeouts need a real socket: the server goes on and applies the write after
    # the client gave up, so the create is settled by reading.
    app = faulty_app(tmp_path, Faults(stall_rate=0.1, stall=0.5, seed=8))
    with SandboxServer(app.app) as server:
        settings = ConnectionSettings(
            url=server.url, api_key="test-key", timeout=0.25, concurrency=4
        )
        with ScimClient(settings, sleep=lambda seconds: None) as client:
            check_import_through_faults(client, app, tmp_path)


def test_conflict_on_create_becomes_an_update(wsgi_client, tmp_path):
    # Someone creates the same user between the plan and the apply: the POST
    # answers 409, and the user that now exists is updated instead.
    app = faulty_app(tmp_path, Faults())
    path = tmp_path / "s.csv"
    path.write_text("userName,title\nzed@example.com,Lead\n")
    other = wsgi_client(app)

    def meanwhile(plan):
        other.create("Users", {"userName": "zed@example.com", "nickName": "Z"})

    outcome = import_sheet(
        wsgi_client(app),
        path,
        tmp_path / "r",
        ImportOptions(apply=True),
        show_plan=meanwhile,
    )

    zed = [
        u
        for u in app.app.storage.snapshot()["users"]
        if u["userName"] == "zed@example.com"
    ]
    assert [(u["title"], u["nickName"]) for u in zed] == [("Lead", "Z")]
    assert [(r.action, r.outcome, r.user_id) for r in outcome.results] == [
        ("create", "done", zed[0]["id"])
    ]
    methods = [w.method for w in app.writes()]
    assert methods == ["POST", "POST", "PUT"]


@pytest.mark.parametrize("as_date", [False, True], ids=["seconds", "http-date"])
def test_rate_limited_import_waits_and_fails_no_row(wsgi_client, tmp_path, as_date):
    import time

    app = faulty_app(tmp_path, Faults(rate_limit=40, retry_after_date=as_date))
    path = tmp_path / "s.csv"
    path.write_text(
        "userName\n" + "".join(f"r{i:02d}@example.com\n" for i in range(60)),
        encoding="utf-8",
    )
    client = wsgi_client(app, sleep=time.sleep, concurrency=8)

    outcome = import_sheet(client, path, tmp_path / "r", ImportOptions(apply=True))

    assert outcome.failed == []
    assert len(usernames(app)) == 61
    assert any(r.status == 429 for r in app.requests)

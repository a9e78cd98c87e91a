"""An import killed with SIGKILL half way, then run again, ends as intended."""

from __future__ import annotations

import csv
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

from pipeline.sandbox import Faults, SandboxServer, build_app

ROWS = 150


def command(url: str, sheet: Path) -> list[str]:
    return [
        sys.executable,
        "-m",
        "pipeline",
        "import",
        str(sheet),
        "--apply",
        "--url",
        url,
        "--api-key",
        "kill-key",
        "--concurrency",
        "2",
        "-q",
    ]


def journal_results(root: Path) -> int:
    journals = list(root.glob("output/import-*/journal.jsonl"))
    return sum(j.read_bytes().count(b'"result"') for j in journals)


def test_killed_import_resumes_without_doing_anything_twice(tmp_path):
    sheet = tmp_path / "hires.csv"
    sheet.write_text(
        "userName,title\n"
        + "".join(f"k{i:03d}@example.com,Hire {i}\n" for i in range(ROWS)),
        encoding="utf-8",
    )
    app = build_app(api_keys=("kill-key",), faults=Faults(latency=0.02))
    env = {k: v for k, v in os.environ.items() if not k.startswith("SCIM_")}

    with SandboxServer(app) as server:
        first = subprocess.Popen(command(server.url, sheet), cwd=tmp_path, env=env)
        deadline = time.monotonic() + 60
        while journal_results(tmp_path) < 20 and time.monotonic() < deadline:
            time.sleep(0.05)
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=30)
        done_before_kill = journal_results(tmp_path)
        time.sleep(1.1)  # a new UTC stamp, so a new report folder
        second = subprocess.run(
            command(server.url, sheet), cwd=tmp_path, env=env, timeout=120
        )
        users = app.storage.snapshot()["users"]

    assert first.returncode == -signal.SIGKILL
    assert 20 <= done_before_kill < ROWS
    assert second.returncode == 0
    counts = Counter(u["userName"] for u in users)
    assert len(counts) == ROWS and max(counts.values()) == 1
    reports = sorted(tmp_path.glob("output/import-*"))
    with (reports[-1] / "results.csv").open(encoding="utf-8-sig") as handle:
        results = list(csv.DictReader(handle))
    assert sorted(int(r["row"]) for r in results) == list(range(2, ROWS + 2))
    outcomes = Counter(r["outcome"] for r in results)
    assert set(outcomes) <= {"done", "done earlier", "already as asked"}
    assert outcomes["done earlier"] >= 20

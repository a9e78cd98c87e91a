"""The command line's contract: one `Error:` line and the exit codes of DESIGN 3."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest


def run_cli(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None):
    environment = {k: v for k, v in os.environ.items() if not k.startswith("SCIM_")} | (
        env or {}
    )
    return subprocess.run(
        [sys.executable, "-m", "pipeline", *args],
        capture_output=True,
        text=True,
        env=environment,
        cwd=cwd,
        timeout=120,
    )


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_missing_url_is_a_usage_error(tmp_path):
    result = run_cli("export", "--api-key", "k", "--out", str(tmp_path))

    assert result.returncode == 2
    assert result.stderr == (
        "Error: no server URL; give --url https://<tenant>/scim/v2 or set SCIM_URL\n"
    )


def test_missing_key_is_a_usage_error(tmp_path):
    result = run_cli("export", "--url", "http://127.0.0.1:1/scim/v2")

    assert result.returncode == 2
    assert result.stderr.startswith("Error: no API key;")


def test_plain_http_to_a_remote_host_is_refused():
    result = run_cli(
        "export", "--url", "http://scim.example.invalid/scim/v2", "--api-key", "k"
    )

    assert result.returncode == 2
    assert "would send the key unencrypted" in result.stderr
    assert "Traceback" not in result.stderr


def test_unreachable_server_names_the_url(tmp_path):
    url = f"http://127.0.0.1:{free_port()}/scim/v2"

    result = run_cli("export", "--url", url, "--api-key", "k", "--out", str(tmp_path))

    assert result.returncode == 1
    lines = result.stderr.splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(f"Error: cannot reach {url}/Schemas:")
    assert lines[0].endswith("check --url and that the server is running")


def test_missing_input_file_is_a_usage_error(tmp_path):
    result = run_cli(
        "import",
        str(tmp_path / "nope.csv"),
        "--url",
        "http://127.0.0.1:1/scim/v2",
        "--api-key",
        "k",
    )

    assert result.returncode == 2
    assert result.stderr == (
        f"Error: {tmp_path / 'nope.csv'} does not exist; "
        "give the path of a CSV or XLSX file\n"
    )


def test_unknown_option_is_a_usage_error():
    result = run_cli("export", "--no-such-option")

    assert result.returncode == 2
    assert "No such option" in result.stderr


@pytest.mark.parametrize(
    "command",
    [
        "export",
        "import",
        "validate",
        "template",
        "schema",
        "backup",
        "verify",
        "restore",
        "sandbox",
        "demo",
    ],
)
def test_every_command_has_help_with_an_example(command):
    result = run_cli(command, "--help")

    assert result.returncode == 0
    assert "Example: scim-pipeline" in result.stdout


@pytest.fixture
def sandbox_url(tmp_path):
    from pipeline.sandbox import SandboxServer, build_app

    app = build_app(api_keys=("right-key",), state_path=tmp_path / "state.json")
    with SandboxServer(app) as server:
        yield server.url


def test_refused_key_is_one_error_line(sandbox_url, tmp_path):
    result = run_cli(
        "export", "--url", sandbox_url, "--api-key", "wrong-key", "--out", str(tmp_path)
    )

    assert result.returncode == 1
    assert result.stderr == (
        "Error: the server refused the API key (HTTP 401); check --api-key or "
        "SCIM_API_KEY, and --auth api-key|bearer\n"
    )
    assert "wrong-key" not in result.stdout + result.stderr


def test_environment_and_bearer_auth(sandbox_url, tmp_path):
    env = {"SCIM_URL": sandbox_url, "SCIM_API_KEY": "right-key", "SCIM_AUTH": "bearer"}

    out = tmp_path / "out"
    result = run_cli("export", "--out", str(out), "--format", "csv", "-v", env=env)

    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in out.iterdir()) == [
        "groups.csv",
        "members.csv",
        "users.csv",
    ]
    assert "GET /Users?startIndex=1&pageSize=100 200" in result.stderr
    assert "right-key" not in result.stderr


def test_demo_runs_the_main_job(tmp_path):
    result = run_cli("demo", "--out", str(tmp_path / "demo"))

    assert result.returncode == 0, result.stderr
    for folder in ("before", "after"):
        assert (tmp_path / "demo" / folder / "roster.xlsx").is_file()
    reports = sorted(p.name for p in (tmp_path / "demo" / "import").iterdir())
    assert reports == [
        "before.jsonl",
        "failed.csv",
        "journal.jsonl",
        "plan.csv",
        "plan.xlsx",
        "results.csv",
        "undo.csv",
    ]
    assert "Applied: 13 rows done, 0 failed" in result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["export", "--format", "pdf"], "Error: Invalid value for '--format'"),
        (["export", "--page-size", "0"], "Error: Invalid value for '--page-size'"),
        (["import"], "Error: Missing argument 'FILE'"),
    ],
)
def test_wrong_usage_is_one_error_line(args, message):
    result = run_cli(*args)

    assert result.returncode == 2
    assert len(result.stderr.splitlines()) == 1
    assert result.stderr.startswith(message)
    assert "--help'" in result.stderr


def test_output_folder_that_cannot_be_made_is_one_error_line(sandbox_url, tmp_path):
    blocker = tmp_path / "file.txt"
    blocker.write_text("x")

    result = run_cli(
        "export",
        "--url",
        sandbox_url,
        "--api-key",
        "right-key",
        "--out",
        str(blocker / "sub"),
    )

    assert result.returncode == 1
    assert result.stderr.startswith(
        f"Error: cannot create the folder {blocker / 'sub'}"
    )
    assert "Traceback" not in result.stderr


def test_schema_lists_multi_valued_attributes_offline():
    result = run_cli("schema")

    assert result.returncode == 0
    emails = next(line for line in result.stdout.splitlines() if " emails " in line)
    assert emails.split() == ["User", "emails", "complex", "readWrite", "yes"]


def test_template_has_headers_and_no_example_user(tmp_path):
    import openpyxl

    result = run_cli("template", "--out", str(tmp_path / "t.xlsx"))

    assert result.returncode == 0
    book = openpyxl.load_workbook(tmp_path / "t.xlsx")
    users = book["Users"]
    assert [c.value for c in users[1]][:3] == [
        "userName",
        "name.givenName",
        "name.familyName",
    ]
    assert all(c.value is None for row in users.iter_rows(min_row=2) for c in row)
    assert book.sheetnames == ["Users", "Instructions"]


def test_backup_and_verify_from_the_command_line(sandbox_url, tmp_path):
    backups = tmp_path / "backups"

    made = run_cli(
        "backup", "--out", str(backups), "--url", sandbox_url, "--api-key", "right-key"
    )
    folder = next(backups.iterdir())
    checked = run_cli("verify", str(folder))
    (folder / "groups.jsonl").write_text("not json\n")
    broken = run_cli("verify", str(folder))

    assert made.returncode == 0 and made.stdout == ""
    assert made.stderr.startswith("Backup complete: 0 users, 0 groups in ")
    assert checked.returncode == 0
    assert broken.returncode == 1
    assert "groups.jsonl: checksum differs from the manifest" in broken.stderr
    assert broken.stderr.splitlines()[-1].startswith("Error: ")

"""The main job end to end against a throwaway sandbox, for a first run."""

from __future__ import annotations

import secrets
import tempfile
from pathlib import Path

from pipeline.console import Output
from pipeline.importing import ImportOptions, import_sheet
from pipeline.roster import export_roster
from pipeline.scim.client import ConnectionSettings, ScimClient

SAMPLES = Path(__file__).resolve().parent.parent / "samples"


def run_demo(out: Path, output: Output) -> None:
    """Seed a sandbox, export it, import the onboarding sheet, export again."""
    from pipeline.sandbox import SandboxServer, build_app

    seed = SAMPLES / "seed.json"
    sheet = SAMPLES / "onboarding.xlsx"
    key = secrets.token_urlsafe(16)
    with tempfile.TemporaryDirectory(prefix="scim-demo-") as state_dir:
        app = build_app(
            api_keys=(key,), state_path=Path(state_dir) / "state.json", seed_path=seed
        )
        with SandboxServer(app) as server:
            output.say(f"Sandbox running at {server.url}, seeded from {seed}")
            settings = ConnectionSettings(url=server.url, api_key=key)
            with ScimClient(settings) as client:
                before = export_roster(client, out / "before")
                output.say(
                    f"1. Exported {before.users} users and {before.groups} groups "
                    f"to {out / 'before'}/"
                )
                options = ImportOptions(apply=True)
                output.say(f"2. Importing {sheet.name} with --apply:")
                outcome = import_sheet(
                    client, sheet, out / "import", options, show_plan=output.plan
                )
                output.problems(outcome.problems)
                if outcome.results is not None:
                    output.results(outcome.results)
                after = export_roster(client, out / "after")
                output.say(
                    f"3. Exported {after.users} users and {after.groups} groups "
                    f"to {out / 'after'}/"
                )
    output.say(
        f"Done. Compare {out / 'before' / 'users.csv'} with "
        f"{out / 'after' / 'users.csv'}; the import's reports are in {out / 'import'}/"
    )

"""The `scim-pipeline` command line: parse options, call one job, print the outcome."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.table import Table

from pipeline import __version__
from pipeline.backup import restore_backup, run_backup, verify_backup
from pipeline.cli_options import (
    check_input_file,
    optional_server_options,
    output_options,
    protected_usernames,
    server_layout,
    server_options,
    sheet_options,
    utc_stamp,
    write_options,
)
from pipeline.console import Output, counted
from pipeline.errors import PipelineError, UsageError
from pipeline.headers import read_mapping
from pipeline.importing import (
    ImportOptions,
    ImportOutcome,
    import_sheet,
    validate_file,
)
from pipeline.roster import FORMATS, export_roster
from pipeline.scim.client import ScimClient
from pipeline.template import schema_rows, write_template


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="scim-pipeline")
def cli() -> None:
    """Export, import and back up the users and groups of a SCIM 2.0 service.

    Example: scim-pipeline export --url https://acme.psoda.com/scim/v2
    --api-key-file key.txt --format xlsx
    """


@cli.command()
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("output"),
    show_default=True,
    help="Folder for the files.",
)
@click.option(
    "--format",
    "formats",
    type=click.Choice(FORMATS),
    multiple=True,
    help="csv, xlsx or json; repeat for several. All three by default.",
)
@click.option(
    "--csv-excel-safe",
    is_flag=True,
    help="Prefix ' to CSV text starting with = + - @ (our import strips it).",
)
@server_options
@output_options
def export(
    client: ScimClient,
    out: Path,
    formats: tuple[str, ...],
    csv_excel_safe: bool,
    quiet: bool,
    verbose: bool,
) -> None:
    """Export every user and group to CSV, XLSX and JSONL.

    Example: scim-pipeline export --url http://127.0.0.1:8765/scim/v2 --api-key KEY
    """
    output = Output(quiet, verbose)
    with output.progress("Reading users") as progress:
        result = export_roster(
            client, out, formats or FORMATS, csv_excel_safe, progress=progress
        )
    output.say(
        f"Exported {result.users} users, {result.groups} groups and "
        f"{result.members} memberships to {out}/"
    )
    if not result.complete:
        raise PipelineError(
            "the export is incomplete: "
            + "; ".join(result.problems)
            + "; the files hold what arrived"
        )


@cli.command(name="import")
@sheet_options
@click.option(
    "--create-groups", is_flag=True, help="Create groups the sheet names but lacks."
)
@click.option(
    "--exact-groups",
    is_flag=True,
    help="Also remove users from direct groups their groups cell does not name.",
)
@write_options
@server_options
@output_options
def import_(
    client: ScimClient,
    file: Path,
    sheet: str | None,
    encoding: str | None,
    match_by: str,
    map_file: Path | None,
    apply: bool,
    create_groups: bool,
    exact_groups: bool,
    suspend_missing: bool,
    protect: tuple[str, ...],
    max_suspend: int,
    report_dir: Path | None,
    quiet: bool,
    verbose: bool,
) -> None:
    """Validate a sheet of users, show the plan, and with --apply carry it out.

    Example: scim-pipeline import hires.xlsx --url http://127.0.0.1:8765/scim/v2
    --api-key KEY --apply
    """
    check_input_file(file)
    output = Output(quiet, verbose)
    report_dir = report_dir or Path("output") / f"import-{utc_stamp()}"
    options = ImportOptions(
        sheet=sheet,
        encoding=encoding,
        mapping=read_mapping(map_file) if map_file else {},
        match_by=match_by,
        create_groups=create_groups,
        exact_groups=exact_groups,
        **write_settings(client, apply, suspend_missing, protect, max_suspend),
    )
    with output.progress("Applying") as progress:
        outcome = import_sheet(
            client, file, report_dir, options, progress, show_plan=output.plan
        )
    report_outcome(output, outcome, file.name, apply, report_dir)


def write_settings(
    client: ScimClient,
    apply: bool,
    suspend_missing: bool,
    protect: tuple[str, ...],
    max_suspend: int,
) -> dict[str, Any]:
    """The ImportOptions that `write_options` give, for `import` and `restore`."""
    return {
        "apply": apply,
        "concurrency": client.settings.concurrency,
        "suspend_missing": suspend_missing,
        "protect": protected_usernames(protect),
        "max_suspend": max_suspend,
    }


def report_outcome(
    output: Output, outcome: ImportOutcome, source: str, apply: bool, report_dir: Path
) -> None:
    """Problems, results and where the reports are; errors and failures exit 1."""
    output.problems(outcome.problems)
    if outcome.errors:
        raise PipelineError(
            f"{counted(len(outcome.errors), 'problem')} in {source}, nothing was "
            f"sent; fix them and run again (list in {report_dir / 'errors.csv'})"
        )
    assert outcome.plan is not None
    if outcome.results is not None:
        output.results(outcome.results)
    elif not outcome.plan.empty and not apply:
        output.say("Nothing was sent; run again with --apply to carry out the plan.")
    output.say(f"Reports in {report_dir}/")
    if outcome.failed:
        raise PipelineError(
            f"{counted(len(outcome.failed), 'row')} failed; see "
            f"{report_dir / 'failed.csv'} (importable as is) and results.csv"
        )


@cli.command()
@sheet_options
@optional_server_options
@output_options
def validate(
    client: ScimClient | None,
    file: Path,
    sheet: str | None,
    encoding: str | None,
    map_file: Path | None,
    match_by: str,
    quiet: bool,
    verbose: bool,
) -> None:
    """Check every cell of a sheet; send nothing.

    With --url (or SCIM_URL) the server's schema and users are used; without, the
    RFC 7643 schema alone.

    Example: scim-pipeline validate hires.xlsx
    """
    check_input_file(file)
    output = Output(quiet, verbose)
    options = ImportOptions(
        sheet=sheet,
        encoding=encoding,
        mapping=read_mapping(map_file) if map_file else {},
        match_by=match_by,
    )
    problems = validate_file(client, file, options)
    output.problems(problems)
    if client is None:
        output.say(
            "Offline: checked against the RFC 7643 schema alone; group names, "
            "managers and userNames taken on the server need --url."
        )
    errors = [p for p in problems if p.severity == "error"]
    if errors:
        raise PipelineError(
            f"{counted(len(errors), 'problem')} in {file.name}; fix them first"
        )
    where = "the server's schema and users" if client else "the RFC 7643 schema"
    output.say(f"{file.name}: no problems against {where}")


@cli.command()
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=Path("onboarding-template.xlsx"),
    show_default=True,
)
@optional_server_options
@output_options
def template(client: ScimClient | None, out: Path, quiet: bool, verbose: bool) -> None:
    """Write an onboarding workbook built from the schema.

    Example: scim-pipeline template --out hires.xlsx
    """
    output = Output(quiet, verbose)
    headers = write_template(server_layout(client), out)
    output.say(f"Wrote {out} with {len(headers)} columns")


@cli.command()
@optional_server_options
@output_options
def schema(client: ScimClient | None, quiet: bool, verbose: bool) -> None:
    """Print the user attributes: type, required, mutability, allowed values.

    Example: scim-pipeline schema --url http://127.0.0.1:8765/scim/v2 --api-key KEY
    """
    Output(quiet, verbose)
    rows = schema_rows(server_layout(client))
    table = Table(*rows[0].keys(), box=None, pad_edge=False)
    for row in rows:
        table.add_row(*row.values())
    Console(highlight=False, width=200).print(table)


@cli.command()
@click.option(
    "--out",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder that holds one sub-folder per backup.",
)
@click.option(
    "--keep",
    type=click.IntRange(1),
    help="Keep only the N newest complete backups (the new one always stays).",
)
@server_options
@output_options
def backup(
    client: ScimClient, out: Path, keep: int | None, quiet: bool, verbose: bool
) -> None:
    """Back up every user, group and schema into OUT/<UTC stamp>/, for cron.

    Example: scim-pipeline backup --out /srv/backups --keep 30
    """
    output = Output(quiet, verbose)
    result = run_backup(client, out, keep)
    state = "complete" if result.complete else "INCOMPLETE"
    removed = (
        f", removed {counted(len(result.removed), 'old backup')}"
        if (result.removed)
        else ""
    )
    output.say(
        f"Backup {state}: {result.users} users, {result.groups} groups in "
        f"{result.folder}{removed}"
    )
    if not result.complete:
        raise PipelineError(
            "the backup is incomplete (" + "; ".join(result.problems) + "); it is "
            "kept and marked so in its manifest"
        )


@cli.command()
@click.argument("folder", type=click.Path(file_okay=False, path_type=Path))
@output_options
def verify(folder: Path, quiet: bool, verbose: bool) -> None:
    """Check a backup: every checksum, every JSON line, the counts.

    Example: scim-pipeline verify /srv/backups/20260101T020000Z
    """
    output = Output(quiet, verbose)
    if not folder.is_dir():
        raise UsageError(f"{folder} is not a folder; give a backup folder")
    problems = verify_backup(folder)
    for problem in problems:
        output.say(f"  {problem}")
    if problems:
        raise PipelineError(
            f"{folder} does not verify: {counted(len(problems), 'problem')}"
        )
    output.say(f"{folder}: every file and count matches its manifest")


@cli.command()
@click.argument("folder", type=click.Path(file_okay=False, path_type=Path))
@write_options
@server_options
@output_options
def restore(
    client: ScimClient,
    folder: Path,
    apply: bool,
    suspend_missing: bool,
    protect: tuple[str, ...],
    max_suspend: int,
    report_dir: Path | None,
    quiet: bool,
    verbose: bool,
) -> None:
    """Plan putting the server back as a backup has it; --apply carries it out.

    Example: scim-pipeline restore /srv/backups/20260101T020000Z --apply
    """
    if not folder.is_dir():
        raise UsageError(f"{folder} is not a folder; give a backup folder")
    output = Output(quiet, verbose)
    report_dir = report_dir or Path("output") / f"restore-{utc_stamp()}"
    options = ImportOptions(
        **write_settings(client, apply, suspend_missing, protect, max_suspend)
    )
    with output.progress("Restoring") as progress:
        outcome = restore_backup(
            client, folder, report_dir, options, progress, show_plan=output.plan
        )
    report_outcome(output, outcome, folder.name, apply, report_dir)


@cli.command()
@click.option("--port", type=click.IntRange(0, 65535), default=8765, show_default=True)
@click.option("--api-key", help="The key clients must send (default: a new one).")
@click.option(
    "--state",
    type=click.Path(dir_okay=False, path_type=Path),
    help="JSON file holding the server's users and groups across restarts.",
)
@click.option(
    "--seed",
    type=click.Path(exists=True, path_type=Path),
    help="JSON file of users and groups, or a backup folder, to start from when "
    "there is no state.",
)
@click.option(
    "--dialect",
    type=click.Choice(["psoda", "rfc"]),
    default="psoda",
    show_default=True,
    help="Serve Psoda's dialect or plain RFC 7644.",
)
@click.option(
    "--latency",
    envvar="SANDBOX_LATENCY",
    type=click.FloatRange(0),
    default=0.0,
    help="Seconds added to every answer (env SANDBOX_LATENCY).",
)
@click.option(
    "--rate-limit",
    envvar="SANDBOX_RATE_LIMIT",
    type=click.FloatRange(0, min_open=True),
    help="Requests a second allowed; beyond, 429 with Retry-After.",
)
@click.option(
    "--error-rate",
    envvar="SANDBOX_ERROR_RATE",
    type=click.FloatRange(0, 1),
    default=0.0,
    help="Share of requests answered 500, 502 or 503 before being served.",
)
@click.option(
    "--drop-rate",
    envvar="SANDBOX_DROP_RATE",
    type=click.FloatRange(0, 1),
    default=0.0,
    help="Share of requests whose connection drops after they were served.",
)
@output_options
def sandbox(
    port: int,
    api_key: str | None,
    state: Path | None,
    seed: Path | None,
    dialect: str,
    latency: float,
    rate_limit: float | None,
    error_rate: float,
    drop_rate: float,
    quiet: bool,
    verbose: bool,
) -> None:
    """Run a local SCIM server on 127.0.0.1 for rehearsals and tests.

    Example: scim-pipeline sandbox --seed samples/seed.json --state sandbox.json
    """
    from pipeline.sandbox import Faults, serve

    output = Output(quiet, verbose)

    def announce(url: str, key: str) -> None:
        # Only a key made up here is shown; one the user chose stays unprinted.
        shown = key if api_key is None else "the one given with --api-key"
        output.console.print(f"SCIM sandbox ({dialect}) at {url}", markup=False)
        output.console.print(f"API key: {shown}", markup=False)
        output.console.print("Press Ctrl-C to stop.", markup=False)

    faults = Faults(
        latency=latency,
        rate_limit=rate_limit,
        error_rate=error_rate,
        drop_rate=drop_rate,
    )
    serve(
        port=port,
        api_key=api_key,
        state_path=state,
        seed_path=seed,
        dialect=dialect,  # type: ignore[arg-type]
        announce=announce,
        faults=faults if faults != Faults() else None,
    )


@cli.command()
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("output") / "demo",
    show_default=True,
)
@output_options
def demo(out: Path, quiet: bool, verbose: bool) -> None:
    """Export, import and export again against a throwaway local sandbox.

    Example: scim-pipeline demo
    """
    from pipeline.demo import run_demo

    run_demo(out, Output(quiet, verbose))


def main() -> None:
    """Run the command line; our errors become one `Error:` line, never a traceback."""
    try:
        code = cli.main(standalone_mode=False)
    except (click.exceptions.Abort, KeyboardInterrupt):
        click.echo(
            "Interrupted; writes already sent stay done. Run the same command again "
            "to see what is left.",
            err=True,
        )
        sys.exit(130)
    except click.UsageError as error:
        command = error.ctx.command_path if error.ctx else "scim-pipeline"
        hint = f"see '{command} --help'"
        click.echo(f"Error: {error.format_message()}; {hint}", err=True)
        sys.exit(error.exit_code)
    except click.ClickException as error:
        click.echo(f"Error: {error.format_message()}", err=True)
        sys.exit(error.exit_code)
    except PipelineError as error:
        click.echo(f"Error: {error}", err=True)
        sys.exit(error.exit_code)
    sys.exit(code if isinstance(code, int) else 0)

"""The options and checks the commands share: server connection, output, inputs.

Each option can also come from the environment where DESIGN section 3 says so;
the command line wins over the environment, which wins over the default.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from pipeline.columns import Layout
from pipeline.errors import UsageError
from pipeline.scim.client import ConnectionSettings, ScimClient
from pipeline.scim.schema import builtin_user_schema, user_schema_from_json


def utc_stamp() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")


def output_options(command: Callable[..., Any]) -> Callable[..., Any]:
    command = click.option("-q", "--quiet", is_flag=True, help="Show only errors.")(
        command
    )
    return click.option(
        "-v", "--verbose", is_flag=True, help="Log one line per request."
    )(command)


def sheet_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """The FILE argument and how to read it, for `import` and `validate`."""
    options = [
        click.argument("file", type=click.Path(path_type=Path)),
        click.option(
            "--sheet", help="XLSX sheet to read (default: Users, else the first)."
        ),
        click.option(
            "--encoding", help="CSV encoding, e.g. cp1252 (default: detected)."
        ),
        click.option(
            "--match",
            "match_by",
            type=click.Choice(["userName", "externalId"]),
            default="userName",
            show_default=True,
            help="How rows without an id find their user.",
        ),
        click.option(
            "--map",
            "map_file",
            type=click.Path(path_type=Path),
            help='TOML file renaming headers: "Sheet header" = "scim.header".',
        ),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def write_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """--apply, the suspension guards and the report folder, for `import` and
    `restore`."""
    options = [
        click.option(
            "--apply", is_flag=True, help="Carry out the plan (default: plan only)."
        ),
        click.option(
            "--suspend-missing",
            is_flag=True,
            help="Suspend active users the input does not name (capped by "
            "--max-suspend).",
        ),
        click.option(
            "--protect",
            multiple=True,
            help="A userName never suspended, or a file of them; repeatable.",
        ),
        click.option(
            "--max-suspend",
            type=click.IntRange(0),
            default=10,
            show_default=True,
            help="Refuse the run if it would suspend more users than this.",
        ),
        click.option(
            "--report",
            "report_dir",
            type=click.Path(file_okay=False, path_type=Path),
            help="Folder for the reports (default: output/<command>-<UTC stamp>).",
        ),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def server_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """The options of every command that talks to a server, turned into a client."""
    return _server_options(command, required=True)


def optional_server_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """The server options, for a command that works without a server too
    (`client` is then None)."""
    return _server_options(command, required=False)


def _server_options(command: Callable[..., Any], required: bool) -> Callable[..., Any]:
    options = [
        click.option("--url", envvar="SCIM_URL", help="Base URL, ending in /scim/v2."),
        click.option("--api-key", envvar="SCIM_API_KEY", help="The API key."),
        click.option(
            "--api-key-file",
            type=click.Path(exists=True, dir_okay=False, path_type=Path),
            help="Read the API key from this file.",
        ),
        click.option(
            "--auth",
            envvar="SCIM_AUTH",
            type=click.Choice(["api-key", "bearer"]),
            default="api-key",
            show_default=True,
            help="Send the key as an API-Key header or as a Bearer token.",
        ),
        click.option(
            "--dialect",
            envvar="SCIM_DIALECT",
            type=click.Choice(["psoda", "rfc"]),
            default="psoda",
            show_default=True,
            help="psoda: pageSize paging, DELETE suspends; rfc: any RFC 7644 server.",
        ),
        click.option("--page-size", type=click.IntRange(1, 10_000), default=100),
        click.option("--concurrency", type=click.IntRange(1, 64), default=8),
        click.option("--timeout", type=click.FloatRange(0.1), default=30.0),
        click.option(
            "--max-wait",
            type=click.FloatRange(0),
            default=60.0,
            help="Longest wait before a retry, whatever Retry-After asks (seconds).",
        ),
        click.option(
            "--allow-http", is_flag=True, help="Allow plain http to a remote host."
        ),
    ]
    for option in reversed(options):
        command = option(command)

    @functools.wraps(command)
    def wrapper(**kwargs: Any) -> Any:
        if not required and not kwargs["url"]:
            for name in SERVER_OPTION_NAMES:
                kwargs.pop(name)
            return command(client=None, **kwargs)
        settings = connection_settings(
            url=kwargs.pop("url"),
            api_key=kwargs.pop("api_key"),
            api_key_file=kwargs.pop("api_key_file"),
            auth=kwargs.pop("auth"),
            dialect=kwargs.pop("dialect"),
            page_size=kwargs.pop("page_size"),
            concurrency=kwargs.pop("concurrency"),
            timeout=kwargs.pop("timeout"),
            max_wait=kwargs.pop("max_wait"),
            allow_http=kwargs.pop("allow_http"),
        )
        with ScimClient(settings) as client:
            return command(client=client, **kwargs)

    return wrapper


SERVER_OPTION_NAMES = (
    "url",
    "api_key",
    "api_key_file",
    "auth",
    "dialect",
    "page_size",
    "concurrency",
    "timeout",
    "max_wait",
    "allow_http",
)


def read_key_file(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as error:
        raise UsageError(
            f"cannot read the key from {path} ({type(error).__name__}); give a text "
            "file holding only the key"
        ) from error


def connection_settings(
    url: str | None, api_key: str | None, api_key_file: Path | None, **rest: Any
) -> ConnectionSettings:
    if not url:
        raise UsageError(
            "no server URL; give --url https://<tenant>/scim/v2 or set SCIM_URL"
        )
    if api_key_file is not None:
        if api_key:
            raise UsageError("give one of --api-key, --api-key-file and SCIM_API_KEY")
        api_key = read_key_file(api_key_file)
    if not api_key:
        raise UsageError(
            "no API key; give --api-key KEY, --api-key-file FILE or set SCIM_API_KEY"
        )
    return ConnectionSettings(url=url, api_key=api_key, **rest)


def server_layout(client: ScimClient | None) -> Layout:
    if client is None:
        return Layout(builtin_user_schema())
    return Layout(user_schema_from_json(client.schemas()))


def check_input_file(file: Path) -> None:
    if file.is_dir():
        raise UsageError(f"{file} is a folder; give the path of a CSV or XLSX file")
    if not file.is_file():
        raise UsageError(f"{file} does not exist; give the path of a CSV or XLSX file")


def protected_usernames(values: tuple[str, ...]) -> frozenset[str]:
    """`--protect` values: userNames, or files with one userName per line."""
    names: set[str] = set()
    for value in values:
        path = Path(value)
        if "@" not in value and path.is_file():
            lines = path.read_text(encoding="utf-8").splitlines()
            names.update(line.strip() for line in lines if line.strip())
        else:
            names.add(value.strip())
    return frozenset(names)

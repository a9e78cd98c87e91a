"""What the command line shows on stderr: logging, progress bars, tables, summaries.

Data goes to files; everything here goes to stderr, and `-q` silences it.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from pipeline.apply import FAILED, RowResult
from pipeline.memberships import GroupChange
from pipeline.plan import Plan, RowPlan
from pipeline.validate import Problem

TABLE_ROWS = 50
LOG_EVERY = 10.0  # seconds between progress lines when stderr is not a terminal


class Output:
    """The stderr side of one command run."""

    def __init__(self, quiet: bool = False, verbose: bool = False) -> None:
        self.quiet = quiet
        self.console = Console(stderr=True, highlight=False, soft_wrap=False)
        configure_logging(quiet, verbose)

    def say(self, message: str) -> None:
        if not self.quiet:
            self.console.print(message, markup=False, soft_wrap=True)

    @contextmanager
    def progress(self, label: str) -> Iterator[Callable[[int, int | None], None]]:
        """A bar on a terminal, nothing elsewhere; call it with (done, total)."""
        if self.quiet:
            yield lambda done, total: None
            return
        if not sys.stderr.isatty():
            yield self._log_lines(label)
            return
        columns = (
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
        )
        with Progress(*columns, console=self.console, transient=True) as bar:
            task = bar.add_task(label, total=None)

            def update(done: int, total: int | None) -> None:
                bar.update(task, completed=done, total=total)

            yield update

    def _log_lines(self, label: str) -> Callable[[int, int | None], None]:
        """Off a terminal: a plain line every LOG_EVERY seconds instead of a bar."""
        last = time.monotonic()

        def update(done: int, total: int | None) -> None:
            nonlocal last
            now = time.monotonic()
            if now - last >= LOG_EVERY:
                last = now
                of = f" of {total}" if total else ""
                self.say(f"{label}: {done}{of}")

        return update

    def problems(self, problems: list[Problem]) -> None:
        if self.quiet or not problems:
            return
        table = Table(title="Problems in the sheet", title_justify="left")
        for name in ("row", "column", "value", "problem"):
            table.add_column(name, overflow="fold")
        for p in problems[:TABLE_ROWS]:
            problem = p.problem if p.severity == "error" else f"warning: {p.problem}"
            table.add_row(str(p.row), p.column, shorten(p.value), problem)
        self.console.print(table)
        if len(problems) > TABLE_ROWS:
            self.say(f"... and {len(problems) - TABLE_ROWS} more")

    def plan(self, plan: Plan) -> None:
        """One line per row with work: each changed field, before -> after."""
        if self.quiet:
            return
        work = plan.work
        if work or plan.groups:
            table = Table(title="Plan", title_justify="left")
            for name in ("row", "action", "user", "changes"):
                table.add_column(name, overflow="fold")
            for row in work[:TABLE_ROWS]:
                shown_row = str(row.row) if row.row else "-"
                table.add_row(shown_row, row.action, row.user_name, _changes(row))
            for change in plan.groups[:TABLE_ROWS]:
                table.add_row("", change.action, change.display_name, _group(change))
            self.console.print(table)
            if len(work) > TABLE_ROWS:
                self.say(f"... and {len(work) - TABLE_ROWS} more rows in plan.csv")
        counts = ", ".join(
            f"{plan.count(a)} to {a}"
            for a in ("create", "update", "suspend", "reactivate")
            if plan.count(a)
        )
        if plan.groups:
            groups = counted(len(plan.groups), "group")
            counts = (
                f"{counts}, {groups} to change" if counts else f"{groups} to change"
            )
        self.say(
            f"Plan: {counts or 'nothing to do'}; {plan.count('nothing')} unchanged"
        )

    def results(self, results: list[RowResult]) -> None:
        failed = [r for r in results if r.outcome == FAILED]
        self.say(
            f"Applied: {counted(len(results) - len(failed), 'row')} done, "
            f"{len(failed)} failed"
        )
        for r in failed[:TABLE_ROWS]:
            self.say(f"  row {r.row} ({r.action}): {r.error}")


def _changes(row: RowPlan) -> str:
    if row.action == "create":
        return f"new user with {counted(len(row.changes), 'attribute')}"
    return "; ".join(
        f"{c.column}: {_cell(c.before) or '(blank)'} -> {_cell(c.after)}"
        for c in row.changes
    )


def _group(change: GroupChange) -> str:
    parts = [
        f"{attribute}: {_cell(before) or '(blank)'} -> {_cell(after)}"
        for attribute, (before, after) in change.attributes.items()
    ]
    if change.changes_members:
        parts.append(f"members {change.summary()}")
    return "; ".join(parts)


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return shorten(str(value))


def shorten(text: str, width: int = 40) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def counted(number: int, noun: str) -> str:
    """`1 row`, `2 rows`."""
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"


class _Formatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        message = record.getMessage()
        if record.levelno >= logging.WARNING:
            return f"Warning: {message}"
        return message


def configure_logging(quiet: bool, verbose: bool) -> None:
    """One stderr handler for our loggers: warnings by default, requests with -v."""
    logger = logging.getLogger("pipeline")
    for handler in list(logger.handlers):
        logger.removeHandler(handler)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_Formatter())
    logger.addHandler(handler)
    logger.propagate = False
    if quiet:
        logger.setLevel(logging.ERROR)
    elif verbose:
        logger.setLevel(logging.INFO)
    else:
        logger.setLevel(logging.WARNING)

"""A durable record of an apply, so that a rerun after a crash can account for it.

`journal.jsonl` in the report folder starts with a header naming the input (its
sha256), then holds one line per finished operation, flushed to disk as it
completes, and ends with a `finished` line. Running the same import again reads
the server afresh, so nothing done is done again; the journal of an unfinished
earlier run of the same input lets its reports cover that earlier work too.
"""

from __future__ import annotations

import os
import threading
from dataclasses import asdict
from pathlib import Path
from typing import IO, Any

import orjson

from pipeline.apply import RowResult
from pipeline.atomic import file_sha256

JOURNAL = "journal.jsonl"
EARLIER = "done earlier"


def fingerprint(path: Path) -> str:
    """What makes two runs "the same import": the input file's bytes."""
    return file_sha256(path)


class Journal:
    """Append-only, one JSON line per finished operation, fsynced as written."""

    def __init__(self, folder: Path, input_digest: str) -> None:
        self.path = folder / JOURNAL
        self._lock = threading.Lock()
        fresh = not self.path.exists()
        self._handle: IO[bytes] = self.path.open("ab")
        if fresh:
            self._write({"journal": 1, "input": input_digest})

    def record(self, result: RowResult) -> None:
        self._write({"result": asdict(result)})

    def finish(self) -> None:
        self._write({"finished": True})
        self._handle.close()

    def close(self) -> None:
        if not self._handle.closed:
            self._handle.close()

    def _write(self, entry: dict[str, Any]) -> None:
        line = orjson.dumps(entry, option=orjson.OPT_APPEND_NEWLINE)
        with self._lock:
            self._handle.write(line)
            self._handle.flush()
            os.fsync(self._handle.fileno())


def earlier_results(reports: Path, input_digest: str) -> list[RowResult]:
    """What unfinished earlier runs of the same input got done, newest run last.

    Looks at every report folder beside `reports` (and in it): the default
    report folders of one input sit side by side under `output/`. Each journal
    read is closed with a `finished` line, since this run now carries its work.
    """
    done: dict[tuple[int, str, str | None], RowResult] = {}
    candidates = sorted(reports.parent.glob(f"*/{JOURNAL}"), key=os.path.getmtime)
    for path in candidates:
        entries = _read(path)
        if not entries or entries[0].get("input") != input_digest:
            continue
        if any(e.get("finished") for e in entries):
            continue
        for entry in entries:
            result = entry.get("result")
            if result and result["outcome"] in ("done", EARLIER):
                kept = RowResult(**{**result, "outcome": EARLIER})
                done[(kept.row, kept.action, kept.user_id)] = kept
        with path.open("ab") as handle:
            handle.write(orjson.dumps({"finished": True, "continued": True}) + b"\n")
    return list(done.values())


def _read(path: Path) -> list[dict[str, Any]]:
    """The journal's lines; a line cut short by a crash is left out."""
    entries = []
    for line in path.read_bytes().splitlines():
        try:
            entries.append(orjson.loads(line))
        except orjson.JSONDecodeError:
            continue
    return entries

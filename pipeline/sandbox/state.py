"""The sandbox's state file: read at start, rewritten after writes, never half written.

The file is ``{"users": [...], "groups": [...]}`` with full SCIM resources. Writes
are coalesced: the first write after a flush arms a timer, and every write until it
fires is saved by one rewrite. A large state therefore costs one dump per interval,
not one per request.
"""

from __future__ import annotations

import logging
import os
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson

from pipeline.errors import InputFileError, UsageError

logger = logging.getLogger(__name__)

MIN_INTERVAL = 0.5
"""Seconds between two rewrites of the state file, at the least."""


def read_state(path: Path, *, required: bool = False) -> dict[str, Any] | None:
    """Return the document of a state or seed file, or None when there is none.

    :raises UsageError: When ``required`` and the file does not exist.
    :raises InputFileError: When the file is not a state document.
    """
    if path.is_dir():
        return read_backup_folder(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        if required:
            message = f"{path} does not exist; give an existing seed file"
            raise UsageError(message) from None
        return None
    except OSError as error:
        raise InputFileError(f"cannot read {path}: {error.strerror}") from error

    try:
        document = orjson.loads(data)
    except orjson.JSONDecodeError as error:
        raise InputFileError(
            f"{path} is not valid JSON ({error}); fix it or remove it"
        ) from error
    if not _is_state(document):
        raise InputFileError(
            f"{path} is not a sandbox state; expected "
            '{"users": [...], "groups": [...]}'
        )
    return document


def read_backup_folder(folder: Path) -> dict[str, Any]:
    """A backup folder (`scim-pipeline backup`) as a state: its users and groups."""
    document: dict[str, Any] = {}
    for key in ("users", "groups"):
        path = folder / f"{key}.jsonl"
        if not path.is_file():
            raise InputFileError(
                f"{folder} holds no {path.name}; give a backup folder or a seed file"
            )
        lines = path.read_bytes().splitlines()
        document[key] = [orjson.loads(line) for line in lines if line.strip()]
    return document


def _is_state(document: Any) -> bool:
    """Tell whether a JSON value has the shape of a state: lists of objects."""
    if not isinstance(document, dict):
        return False
    lists = [document.get(key, []) for key in ("users", "groups")]
    return all(
        isinstance(items, list) and all(isinstance(item, dict) for item in items)
        for items in lists
    )


def write_atomic(path: Path, data: bytes) -> None:
    """Write a file under a temporary name in its folder, then rename it into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(
        dir=path.parent, prefix=f".{path.name}.", suffix=".tmp"
    )
    try:
        with os.fdopen(descriptor, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


class StateFile:
    """Save a snapshot to a file, at most once per interval, and on demand.

    :param snapshot: Return the document to save; called from the saving thread.
    """

    def __init__(self, path: Path, snapshot: Callable[[], dict[str, Any]]) -> None:
        self.path = path
        self.snapshot = snapshot
        self.interval = MIN_INTERVAL
        self._dirty = False
        self._timer: threading.Timer | None = None
        self._lock = threading.Lock()
        self._write_lock = threading.Lock()

    def mark_dirty(self) -> None:
        """Note a change, and arm the timer that saves it."""
        with self._lock:
            self._dirty = True
            if self._timer is None:
                self._timer = threading.Timer(self.interval, self._flush_later)
                self._timer.daemon = True
                self._timer.start()

    def flush(self) -> None:
        """Save the pending changes now, if any."""
        with self._lock:
            timer, self._timer = self._timer, None
        if timer is not None:
            timer.cancel()
        self._save()

    def _flush_later(self) -> None:
        """Save from the timer's thread, where an error can only be logged."""
        with self._lock:
            self._timer = None
        try:
            self._save()
        except OSError as error:
            logger.error("Cannot save the sandbox state to %s: %s", self.path, error)
            self.mark_dirty()

    def _save(self) -> None:
        with self._write_lock:
            with self._lock:
                if not self._dirty:
                    return
                self._dirty = False
            started = time.perf_counter()
            try:
                data = orjson.dumps(self.snapshot(), option=orjson.OPT_INDENT_2)
                write_atomic(self.path, data)
            except BaseException:
                with self._lock:
                    self._dirty = True
                raise
            elapsed = time.perf_counter() - started
            # A state that takes long to save is saved less often, so that saving
            # never takes more than a fifth of the time.
            self.interval = max(MIN_INTERVAL, 4 * elapsed)
            logger.debug("Saved the sandbox state to %s in %.3f s", self.path, elapsed)

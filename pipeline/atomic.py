"""Write files whole or not at all: a temporary name in the same folder, then rename.

A crash, Ctrl-C or error while writing leaves the previous file (if any) untouched and
no half-written file behind.
"""

from __future__ import annotations

import hashlib
import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from pipeline.errors import PipelineError


@contextmanager
def atomic_path(
    path: str | os.PathLike[str], *, mode: int | None = None
) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; on success move it onto ``path``.

    With ``mode`` the file gets exactly that mode (0o600 for backups), else the umask's.
    """
    target = Path(path)
    temp = _create_temp(target, mode)
    try:
        yield temp
        _fsync_file(temp)
        os.replace(temp, target)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    _fsync_dir(target.parent)


def _create_temp(target: Path, mode: int | None) -> Path:
    """Create an empty, unique temporary file beside ``target``."""
    for _ in range(100):
        temp = target.with_name(f".{target.name}.{secrets.token_hex(4)}.tmp")
        try:
            fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        except FileExistsError:
            continue
        except OSError as exc:
            raise PipelineError(
                f"cannot write {target}: {exc.strerror}; "
                "check that the folder exists and is writable"
            ) from exc
        try:
            if mode is not None:
                os.fchmod(fd, mode)
        finally:
            os.close(fd)
        return temp
    raise PipelineError(f"cannot create a temporary file beside {target}")


def _fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_dir(folder: Path) -> None:
    """Make the rename itself durable; some file systems cannot sync a folder."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def make_folder(path: Path, *, mode: int | None = None) -> None:
    """Create a folder for output (and its parents), or say why it cannot be."""
    try:
        path.mkdir(parents=True, exist_ok=True)
        if mode is not None:
            path.chmod(mode)
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise PipelineError(
            f"cannot create the folder {path}: {reason}; choose a writable folder"
        ) from exc


def file_sha256(path: Path) -> str:
    """The sha256 of a file's bytes, read in chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()

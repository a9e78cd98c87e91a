"""Write frames and resources: CSV for machines, XLSX for people, JSONL for backups.

Every file is written through ``atomic_path``, so a failure never leaves half a file.
The XLSX writer lives in ``pipeline.xlsx`` and is re-exported here, so callers find
all three writers in one place.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Iterable
from typing import Any

import orjson
import pandas as pd

from pipeline.atomic import atomic_path
from pipeline.xlsx import CHUNK_ROWS, cell_text, cell_texts, write_xlsx

__all__ = ["FORMULA_STARTS", "write_csv", "write_jsonl", "write_xlsx"]

FORMULA_STARTS = frozenset("=+-@")


def write_csv(
    frame: pd.DataFrame,
    path: str | os.PathLike[str],
    *,
    excel_safe: bool = False,
    mode: int | None = None,
) -> None:
    """UTF-8 with BOM, minimal RFC 4180 quoting, CRLF, values verbatim.

    ``excel_safe`` puts ``'`` before text starting with ``= + - @``, so Excel shows it
    as text; ``read_sheet`` takes it off again.
    """
    guarded = FORMULA_STARTS | {"'"} if excel_safe else frozenset("'")
    with (
        atomic_path(path, mode=mode) as temp,
        open(temp, "w", encoding="utf-8-sig", newline="") as handle,
    ):
        writer = csv.writer(handle, lineterminator="\r\n")
        writer.writerow([cell_text(name) for name in frame.columns])
        for start in range(0, len(frame), CHUNK_ROWS):
            chunk = frame.iloc[start : start + CHUNK_ROWS]
            columns = [
                _csv_column(chunk.iloc[:, position].tolist(), guarded)
                for position in range(chunk.shape[1])
            ]
            writer.writerows(zip(*columns, strict=True))


def _csv_column(values: list[Any], guarded: frozenset[str]) -> list[str]:
    texts = cell_texts(values)
    return [_quote_prefix(text) if text[:1] in guarded else text for text in texts]


def _quote_prefix(text: str) -> str:
    # Also doubles a quote the value already has before a formula sign, so that
    # read_sheet, which strips one, gives back the value unchanged.
    return "'" + text if text.lstrip("'")[:1] in FORMULA_STARTS else text


def write_jsonl(
    resources: Iterable[dict[str, Any]],
    path: str | os.PathLike[str],
    *,
    mode: int | None = None,
) -> int:
    """One resource per line, exactly as given; returns the number of lines."""
    count = 0
    with atomic_path(path, mode=mode) as temp, open(temp, "wb") as handle:
        for resource in resources:
            handle.write(orjson.dumps(resource, option=orjson.OPT_APPEND_NEWLINE))
            count += 1
    return count

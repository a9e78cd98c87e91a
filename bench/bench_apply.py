"""Applying creates through latency and through a rate limit, on loopback.

Run: .venv/bin/python bench/bench_apply.py latency [--rows 10000] [--serial-rows 1000]
     .venv/bin/python bench/bench_apply.py rate-limit [--rows 2000] [--limit 100]

The sandbox runs as its own process (`scim-pipeline sandbox`), so that server and
client do not share one interpreter. `latency` applies the same kind of sheet at
--concurrency 16 and 1 through 50 ms of added latency and compares rows a second
(the serial run uses fewer rows: at 50 ms a request it would take most of an hour
for 10,000); `rate-limit` applies at --concurrency 16 against a server answering 429
beyond --limit requests a second and reports the sustained request rate.
"""

from __future__ import annotations

import argparse
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from pipeline.importing import ImportOptions, import_sheet
from pipeline.scim.client import ConnectionSettings, ScimClient

SCIM = [sys.executable, "-m", "pipeline"]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def sandbox(*options: str) -> Iterator[tuple[str, str]]:
    """A sandbox process on a free loopback port; yields its URL and key."""
    port, key = free_port(), secrets.token_urlsafe(12)
    process = subprocess.Popen(
        [*SCIM, "sandbox", "--port", str(port), "--api-key", key, "-q", *options],
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}/scim/v2"
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                httpx.get(f"{url}/Schemas", headers={"API-Key": key}, timeout=2)
                break
            except httpx.TransportError:
                time.sleep(0.2)
        yield url, key
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)


def hires(folder: Path, rows: int, prefix: str) -> Path:
    path = folder / f"{prefix}.csv"
    lines = ["userName,name.givenName,name.familyName,emails.work,active"]
    lines += [
        f"{prefix}{i}@example.com,Given{i},Family,{prefix}{i}@example.com,true"
        for i in range(rows)
    ]
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def apply_rows(url: str, key: str, sheet: Path, concurrency: int, report: Path):
    settings = ConnectionSettings(url=url, api_key=key, concurrency=concurrency)
    with ScimClient(settings) as client:
        started = time.perf_counter()
        outcome = import_sheet(
            client, sheet, report, ImportOptions(apply=True, concurrency=concurrency)
        )
        elapsed = time.perf_counter() - started
    failed = len(outcome.failed)
    return elapsed, failed


def latency(args: argparse.Namespace, folder: Path) -> None:
    with sandbox("--latency", "0.05") as (url, key):
        fast, fast_failed = apply_rows(
            url, key, hires(folder, args.rows, "c16-"), 16, folder / "r16"
        )
        slow, slow_failed = apply_rows(
            url, key, hires(folder, args.serial_rows, "c1-"), 1, folder / "r1"
        )
    fast_rate, slow_rate = args.rows / fast, args.serial_rows / slow
    print(
        f"concurrency 16: {args.rows} creates in {fast:.1f} s = {fast_rate:.1f}/s,"
        f" {fast_failed} failed"
    )
    print(
        f"concurrency 1: {args.serial_rows} creates in {slow:.1f} s = "
        f"{slow_rate:.1f}/s, {slow_failed} failed"
    )
    print(f"speed-up: {fast_rate / slow_rate:.1f}x")


def rate_limit(args: argparse.Namespace, folder: Path) -> None:
    with sandbox("--rate-limit", str(args.limit)) as (url, key):
        elapsed, failed = apply_rows(
            url, key, hires(folder, args.rows, "rl-"), 16, folder / "rl"
        )
    # One listing page per 100 users read before the plan, then one POST per row.
    requests = args.rows + 2
    rate = requests / elapsed
    print(f"{args.rows} creates against {args.limit} requests/s in {elapsed:.1f} s")
    print(
        f"sustained {rate:.1f} requests/s = {rate / args.limit:.2f} of the limit,"
        f" {failed} failed"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("scenario", choices=["latency", "rate-limit"])
    parser.add_argument("--rows", type=int, default=None)
    parser.add_argument("--serial-rows", type=int, default=1000)
    parser.add_argument("--limit", type=float, default=100)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-apply-") as folder:
        os.chdir(folder)
        if args.scenario == "latency":
            args.rows = args.rows or 10_000
            latency(args, Path(folder))
        else:
            args.rows = args.rows or 2_000
            rate_limit(args, Path(folder))


if __name__ == "__main__":
    main()

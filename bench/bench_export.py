"""Export of 100,000 users to CSV through 50 ms of latency at page size 100,
against a serial page loop with json_normalize and to_csv; and the XLSX of those
users against pandas' to_excel.

Run: .venv/bin/python bench/bench_export.py [--users 100000] [--skip-xlsx]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import httpx
import pandas as pd

from bench.page_server import PageServer
from pipeline.roster import export_roster
from pipeline.scim.client import ConnectionSettings, ScimClient
from pipeline.xlsx import write_xlsx


def baseline(url: str, out: Path, page_size: int) -> float:
    """What a script would do: one page after another, json_normalize, to_csv."""
    started = time.perf_counter()
    users: list[dict] = []
    with httpx.Client(headers={"API-Key": "k"}) as http:
        start = 1
        while True:
            params = {"startIndex": start, "pageSize": page_size}
            page = http.get(f"{url}/Users", params=params).json()
            users += page["Resources"]
            start += len(page["Resources"])
            if not page["Resources"] or start > page["totalResults"]:
                break
    pd.json_normalize(users).to_csv(out / "baseline.csv", index=False)
    return time.perf_counter() - started


def ours(url: str, out: Path, page_size: int) -> tuple[float, int]:
    settings = ConnectionSettings(url=url, api_key="k", page_size=page_size)
    with ScimClient(settings) as client:
        started = time.perf_counter()
        result = export_roster(client, out, ("csv",))
    return time.perf_counter() - started, result.users


def xlsx(out: Path) -> tuple[float, float]:
    frame = pd.read_csv(out / "users.csv", dtype=str, keep_default_na=False)
    started = time.perf_counter()
    write_xlsx({"Users": frame}, out / "ours.xlsx")
    mine = time.perf_counter() - started
    started = time.perf_counter()
    frame.to_excel(out / "pandas.xlsx", sheet_name="Users", index=False)
    return mine, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--page-size", type=int, default=100)
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--skip-xlsx", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-export-") as folder:
        out = Path(folder)
        with PageServer(args.users, args.page_size, args.latency) as server:
            mine, count = ours(server.url, out, args.page_size)
            theirs = baseline(server.url, out, args.page_size)
        print(f"users: {count}, page size {args.page_size}, latency {args.latency} s")
        print(f"ours (parallel pages, CSV): {mine:.1f} s")
        print(f"serial loop + json_normalize + to_csv: {theirs:.1f} s")
        print(f"ratio: {theirs / mine:.1f}x faster")
        if not args.skip_xlsx:
            mine_x, pandas_x = xlsx(out)
            print(
                f"XLSX ours: {mine_x:.1f} s, pandas to_excel: {pandas_x:.1f} s, "
                f"ratio {mine_x / pandas_x:.2f}"
            )


if __name__ == "__main__":
    main()

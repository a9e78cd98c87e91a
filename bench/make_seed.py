"""Write a sandbox seed of any size, for large tests and benchmarks.

python bench/make_seed.py --users 2000 --groups 20 --out /tmp/seed2000.json
"""

from __future__ import annotations

import argparse
from pathlib import Path

import orjson

from pipeline.sandbox import generate_seed


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=2000, help="default: 2000")
    parser.add_argument("--groups", type=int, default=20, help="default: 20")
    parser.add_argument("--seed", type=int, default=1, help="random seed; default: 1")
    parser.add_argument("--out", type=Path, required=True, help="the JSON file")
    args = parser.parse_args(argv)

    seed = generate_seed(users=args.users, groups=args.groups, seed=args.seed)
    args.out.write_bytes(orjson.dumps(seed))


if __name__ == "__main__":
    main()

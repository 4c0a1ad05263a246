"""Extraction throughput: events read per second for each executor.

Usage::

    python benchmarks/bench_extract.py [--sample PATH] [--channel zll] [--repeat 3]

Defaults to the shared Delphes Z -> ll sample (150,000 events). Prints the best of
``--repeat`` runs per executor, wall clock including the pre-flight checks, the coffea
run, the merge and the SHA-256 of the input (what ``evmult extract`` does, minus the
parquet write, which is timed separately).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from evmult.coffea import extract
from evmult.io.tables import write_table

DEFAULT = Path(__file__).resolve().parents[2] / "shared" / "data" / "delphes" / "delphes_zll.root"


def main() -> None:
    """Time extraction per executor and print events/s."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sample", type=Path, default=DEFAULT)
    parser.add_argument("--channel", default="zll")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    if not args.sample.is_file():
        parser.error(f"{args.sample} not found (pass --sample)")

    print(f"sample {args.sample.name}, channel {args.channel}, {args.workers} workers")
    table = None
    for executor in ("iterative", "futures", "dask"):
        best = float("inf")
        for _ in range(args.repeat):
            start = time.perf_counter()
            table = extract([args.sample], args.channel, executor=executor, workers=args.workers)
            best = min(best, time.perf_counter() - start)
        n_read = sum(c["events"] for c in table.attrs["evmult"]["cutflow"].values())
        print(
            f"{executor:10s} {best:6.2f} s  {n_read / best:10,.0f} events/s read"
            f"  ({len(table):,} selected)"
        )
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        write_table(table, Path(tmp) / "t.parquet")
        print(f"parquet write {time.perf_counter() - start:6.2f} s for {len(table):,} events")


if __name__ == "__main__":
    main()

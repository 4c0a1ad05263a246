"""DarkMachines CSV reading speed: events per second on one core.

Times :func:`evmult.io.csv.read_csv_chunk` over the byte ranges of the shared
mixture (``csv/darkmachines_mix.csv``, 40,000 events) written ``--copies`` times into
one temporary file, and ``evmult.extract`` of that file in the ``inclusive`` channel
with the iterative executor (reading, the channel's selection, the merge and the
input's SHA-256). Prints the best of ``--repeat`` runs.

Usage::

    python benchmarks/bench_csv.py [--copies 10] [--repeat 3]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from evmult.coffea import extract
from evmult.io.csv import csv_chunks, read_csv_chunk

DEFAULT = Path(__file__).resolve().parents[2] / "shared" / "data" / "csv" / "darkmachines_mix.csv"


def main() -> None:
    """Time the CSV reader and the extraction, and print events/s."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sample", type=Path, default=DEFAULT)
    parser.add_argument("--copies", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    if not args.sample.is_file():
        parser.error(f"{args.sample} not found (pass --sample)")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "mix.csv"
        text = args.sample.read_bytes()
        path.write_bytes(text * args.copies)
        read_csv_chunk(csv_chunks(path)[0])  # imports and caches warm
        for name, run in (
            ("read_csv_chunk", lambda: sum(len(read_csv_chunk(c)) for c in csv_chunks(path))),
            ("extract (iterative)", lambda: len(extract([path], "inclusive"))),
        ):
            best, n = float("inf"), 0
            for _ in range(args.repeat):
                start = time.perf_counter()
                n = run()
                best = min(best, time.perf_counter() - start)
            size = path.stat().st_size / 2**20
            print(
                f"{name:20s} {n:>9,} events, {size:.0f} MiB: {best:.2f} s, {n / best:,.0f} events/s"
            )


if __name__ == "__main__":
    main()

"""Streaming generated events into a ROOT file: throughput and peak memory.

Generates N events (10 million by default) with a zll model and writes them with
``evmult.output.write_generated`` (chunked uproot ``extend``), printing events/s, MB/s,
the file size and the process's peak resident memory before and after writing.

Usage:
    python benchmarks/bench_write.py --model zll.evmult               # 10M events
    python benchmarks/bench_write.py --n 1000000 --format parquet
    python benchmarks/bench_write.py                                  # trains a zll model
                                                                      # on ../shared first
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from pathlib import Path

import torch

from evmult.coffea import extract
from evmult.io.tables import split_table
from evmult.io.writers import COMPRESSION
from evmult.output import write_generated
from evmult.pipeline import PRESETS, fit

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, help="model file (default: train one on zll)")
    parser.add_argument("--preset", choices=sorted(PRESETS), help="preset when training")
    parser.add_argument("--save-model", type=Path, help="keep the model trained here")
    parser.add_argument("--n", type=int, default=10_000_000)
    parser.add_argument("--format", choices=("root", "parquet"), default="root")
    parser.add_argument("--compression", choices=COMPRESSION, default="zlib")
    parser.add_argument("--chunk-size", type=int, default=100_000)
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--out", type=Path, help="output directory (default: a temp dir)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    if args.model is None:
        table = extract([SHARED / "delphes" / "delphes_zll.root"], "zll")
        train, _ = split_table(table, n=20_000, seed=1)
        start = time.perf_counter()
        model = fit(train, preset=args.preset, seed=0)
        print(
            f"trained {model.name} ({args.preset or 'default'}) in {time.perf_counter() - start:.0f} s"
        )
    else:
        from evmult.pipeline import load

        model = load(args.model)
    model.sample(1_000, seed=0)  # warm-up
    before = peak_rss_mb()
    with tempfile.TemporaryDirectory(dir=args.out) as tmp:
        out = Path(tmp) / f"bench.{args.format}"
        start = time.perf_counter()
        info = write_generated(
            model,
            out,
            n=args.n,
            seed=1,
            chunk_size=args.chunk_size,
            compression=args.compression,
            progress=True,
        )
        seconds = time.perf_counter() - start
        size_mb = out.stat().st_size / 1e6
    print(
        f"{info['events']:,} {model.info['channel']} events -> {args.format} ({args.compression}), "
        f"{args.threads} threads: {seconds:.0f} s, {info['events'] / seconds:,.0f} events/s, "
        f"{size_mb:,.0f} MB, {size_mb / seconds:.2f} MB/s; peak RSS {before:,.0f} MB before "
        f"writing, {peak_rss_mb():,.0f} MB after; sum of weights {info['sum_weights']:.6g} "
        f"(training yield {model.info['train_yield']:.6g})"
    )


if __name__ == "__main__":
    main()

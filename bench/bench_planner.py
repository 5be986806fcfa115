"""Chunk planner and record counters against `wc -l` and a raw block read of the same file.

Run: ``uv run python bench/bench_planner.py --mb 100`` (see bench/README.md).
"""

from __future__ import annotations

import argparse
import gc
import os
import shutil
import subprocess
import tempfile
import time
import tracemalloc
from collections.abc import Callable, Iterator
from pathlib import Path

from bench.catalog_csv import write_csv
from catalog_lib.adapters.counting import count_records, count_records_stdlib
from catalog_lib.adapters.storage import StorageConfig, open_store
from catalog_lib.rules.chunking import MIB, plan_chunks

BLOCK = 8 * MIB


def iter_blocks(path: Path, block: int = BLOCK) -> Iterator[bytes]:
    """The file in blocks of ``block`` bytes, as object storage streams it to the planner."""
    with path.open("rb") as fh:
        while data := fh.read(block):
            yield data


def best_of(repeat: int, run: Callable[[], object]) -> tuple[float, object]:
    """Fastest wall time of ``repeat`` runs and the last result (page cache is warm by then)."""
    best = float("inf")
    result: object = None
    for _ in range(repeat):
        gc.collect()
        start = time.perf_counter()
        result = run()
        best = min(best, time.perf_counter() - start)
    return best, result


def wc_lines(path: Path) -> int:
    """Physical lines by `wc -l` (not logical records: quoted newlines count too)."""
    out = subprocess.run(["wc", "-l", str(path)], check=True, capture_output=True, text=True)
    return int(out.stdout.split()[0])


def raw_read(path: Path) -> int:
    """Bytes read in 8 MiB blocks, touching nothing: the I/O floor for any Python scanner."""
    return sum(len(b) for b in iter_blocks(path))


def planner_peak(path: Path, chunk_size: int) -> tuple[int, int]:
    """Tracemalloc peak of planning ``path`` (block buffers included) and its chunk count."""
    gc.collect()
    tracemalloc.start()
    try:
        plan = plan_chunks(iter_blocks(path), size=path.stat().st_size, chunk_size=chunk_size)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak, len(plan.chunks)


def print_load(when: str) -> None:
    """The 1-minute load average: above the core count, other work skewed the timings."""
    print(f"load average {when}: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")


def main() -> None:
    """Generate the file, time each reader, print rates, ratios and planner memory."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--mb", type=int, default=100, help="size of the main file (MB)")
    parser.add_argument(
        "--small-mb", type=int, default=0, help="size of the memory comparison file (--mb / 4)"
    )
    parser.add_argument("--chunk-mib", type=int, default=16, help="planner chunk size (MiB)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per reader; best is kept")
    args = parser.parse_args()
    chunk_size = args.chunk_mib * MIB
    small_mb = args.small_mb or max(args.mb // 4, 5)

    root = Path(tempfile.mkdtemp(prefix="catalog-bench-planner-", dir="/tmp"))
    try:
        path = root / "catalog.csv"
        small = root / "catalog-small.csv"
        start = time.perf_counter()
        write_csv(path, args.mb * 1_000_000)
        write_csv(small, small_mb * 1_000_000)
        size = path.stat().st_size
        mb = size / 1e6
        print(
            f"generated {mb:.1f} MB + {small.stat().st_size / 1e6:.1f} MB of catalog CSV "
            f"in {time.perf_counter() - start:.1f} s; best of {args.repeat} runs each\n"
        )

        print_load("before")
        store = open_store(StorageConfig(landing_url=str(root)))
        version = store.head(str(path))  # hashes the file once; count_records reuses the hash

        readers: list[tuple[str, Callable[[], object]]] = [
            ("wc -l (physical lines)", lambda: wc_lines(path)),
            ("raw read, 8 MiB blocks", lambda: raw_read(path)),
            (
                f"plan_chunks ({args.chunk_mib} MiB)",
                lambda: plan_chunks(iter_blocks(path), size=size, chunk_size=chunk_size),
            ),
            ("count_records_stdlib", lambda: count_records_stdlib(iter_blocks(path))),
            ("count_records (DuckDB)", lambda: count_records(store, version).records),
        ]
        timings: list[tuple[str, float, object]] = []
        for name, run in readers:
            seconds, result = best_of(args.repeat, run)
            timings.append((name, seconds, result))
        wc_s = timings[0][1]
        raw_s = timings[1][1]
        print(f"{'reader':<26}{'seconds':>9}{'MB/s':>9}{'vs wc -l':>10}{'vs raw':>9}  result")
        for name, seconds, result in timings:
            shown = getattr(result, "record_count", result)
            print(
                f"{name:<26}{seconds:>9.3f}{mb / seconds:>9.0f}"
                f"{wc_s / seconds:>9.3f}x{raw_s / seconds:>8.3f}x  {shown}"
            )
        print("(ratios are speed relative to the baseline: 0.10x = ten times slower)")
        print_load("after")
        print()

        print("planner peak memory (tracemalloc, includes the 8 MiB read buffers):")
        for label, target in (("small", small), ("main", path)):
            peak, chunks = planner_peak(target, chunk_size)
            print(
                f"  {label:<6}{target.stat().st_size / 1e6:>8.1f} MB file  "
                f"{chunks:>4} chunks  peak {peak / MIB:6.1f} MiB"
            )
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()

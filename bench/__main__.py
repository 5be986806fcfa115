"""One entry point for the benchmarks: ``uv run python -m bench [--quick] [--only ...] [--json]``.

Every piece runs its baseline in the same process run, on the same generated file, interleaved
round by round (baseline, contender, baseline, ...), and reports medians of ``--runs`` rounds
as ratios, so the numbers compare across machines even though absolute rates do not.

Pieces (``--only`` takes a comma list; default: all), one module each under ``bench/``:

* ``planner``  chunk planner and reconcile counters vs ``wc -l`` on one file (counts checked),
  and the planner's heap peak on two file sizes (``planner.py``);
* ``ingest``   the real flow (Prefect, trigger to completed job, embeddings off) vs COPY +
  SQL upsert into an identical table on the same server; also the orchestration overhead
  (``ingest.py``);
* ``pipeline`` the ingest steps on one process (no Prefect) vs a raw COPY, with the time of
  each step, and parse-only throughput (``pipeline.py``);
* ``parse``    the chunk parse, vectorised vs the row-wise reference, CPU µs per row and
  what fell back (``parse.py``);
* ``dlt``      dlt stock and arrow + CSV loader vs the same baseline (isolated environment,
  ``vs_dlt.py``);
* ``reingest`` re-ingest of an unchanged file vs first ingest, counting embedding calls
  (``reingest.py``);
* ``rss``      peak RSS of an ingest process for a small and a large file (``rss.py``);
* ``workers``  the chunk phase with 1 and 2 worker processes (``workers.py``).

Console query latency is a separate script (``bench/bench_console.py``).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from bench.context import FULL, QUICK, Context, Profile, load
from bench.ingest import bench_ingest
from bench.parse import bench_parse
from bench.pipeline import bench_pipeline
from bench.planner import bench_planner
from bench.reingest import bench_reingest
from bench.report import table
from bench.rss import bench_rss
from bench.vs_dlt import bench_dlt
from bench.workers import bench_workers

RUNNERS: dict[str, Callable[[Context], dict[str, Any]]] = {
    "planner": bench_planner,
    "ingest": bench_ingest,
    "pipeline": bench_pipeline,
    "parse": bench_parse,
    "dlt": bench_dlt,
    "reingest": bench_reingest,
    "rss": bench_rss,
    "workers": bench_workers,
}
PIECES = tuple(RUNNERS)


def main(argv: list[str] | None = None) -> int:
    """Parse the options, run the chosen pieces, print the table (or JSON)."""
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes (minutes, not tens)")
    parser.add_argument("--only", default=",".join(PIECES), help=f"comma list of {PIECES}")
    parser.add_argument("--json", action="store_true", help="print JSON instead of the table")
    parser.add_argument("--rows", type=int, help="rows of the ingest/dlt/workers file")
    parser.add_argument("--planner-mb", type=int, help="size of the planner/counter file (MB)")
    parser.add_argument("--rss-mb", type=int, nargs=2, metavar=("SMALL", "LARGE"))
    parser.add_argument("--runs", type=int, help="interleaved rounds per piece (median kept)")
    parser.add_argument("--chunk-mib", type=int, help="chunk size (MiB) of the ingests")
    parser.add_argument("--rss-child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.rss_child:
        from bench.rss import rss_child

        rss_child(args.rss_child[0], args.rss_child[1], int(args.rss_child[2]))
        return 0
    base = QUICK if args.quick else FULL
    profile = Profile(
        rows=args.rows or base.rows,
        planner_mb=args.planner_mb or base.planner_mb,
        rss_small_mb=args.rss_mb[0] if args.rss_mb else base.rss_small_mb,
        rss_large_mb=args.rss_mb[1] if args.rss_mb else base.rss_large_mb,
        runs=args.runs or base.runs,
        chunk_mib=args.chunk_mib or base.chunk_mib,
    )
    pieces = [p.strip() for p in args.only.split(",") if p.strip()]
    unknown = sorted(set(pieces) - set(PIECES))
    if unknown:
        parser.error(f"unknown pieces {unknown}; choose from {PIECES}")
    root = Path(tempfile.mkdtemp(prefix="catalog-bench-", dir="/tmp"))
    root.chmod(0o755)  # as root the embedded server runs as a service user who must enter it
    results: dict[str, Any] = {
        "meta": {
            "profile": profile.__dict__,
            "cores": os.cpu_count(),
            "load_before": load(),
            "python": sys.version.split()[0],
        }
    }
    try:
        with ExitStack() as stack:
            ctx = Context(profile=profile, root=root, stack=stack)
            for piece in pieces:
                started = time.perf_counter()
                results[piece] = RUNNERS[piece](ctx)
                results[piece]["bench_s"] = round(time.perf_counter() - started, 1)
                # Each piece as it ends, so a long run that is stopped keeps what it measured.
                print(json.dumps({piece: results[piece]}, default=str), file=sys.stderr)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    results["meta"]["load_after"] = load()
    if args.json:
        print(json.dumps(results, indent=2, default=str))
    else:
        print(table(results))
        print(
            f"load average before {results['meta']['load_before']}, "
            f"after {results['meta']['load_after']} on {os.cpu_count()} cores"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

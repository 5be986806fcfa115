r"""Load a catalog CSV into PostgreSQL with dlt: the ``python -m bench --only dlt`` contender.

Runs outside the project's environment, in its own throw-away one::

    uv run --isolated --no-project --with 'dlt[postgres]' --with pyarrow --with pandas \
        python bench/load_dlt.py --config stock --url URL --csv FILE --pipelines-dir DIR

Two configurations, both ``write_disposition="merge"`` with ``primary_key="sku"`` into table
``catalog_items`` of dataset ``dlt_<config>``:

- ``stock``: dlt's filesystem source piped into its ``read_csv`` transformer (pandas chunks,
  rows normalised one by one), every setting dlt's default except that empty cells stay empty
  strings (a NULL merge key fails the load).
- ``fastest``: the fastest path dlt documents for this shape: a resource yielding pyarrow
  record batches (dlt passes Arrow through without row-wise normalising), the ``csv`` loader
  file format (written by pyarrow, loaded with COPY) and uncompressed intermediate files
  (``data_writer.disable_compression``).

Prints one JSON line: ``config``, ``seconds`` (pipeline creation to finished load), ``rows``
(rows dlt normalised into the table), ``steps`` and ``dlt_version``. Exits 1 if a load job failed.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

# Loopback only: no anonymous usage telemetry; warnings only on stderr.
os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")
os.environ.setdefault("RUNTIME__LOG_LEVEL", "WARNING")

TABLE = "catalog_items"
CONFIGS = ("stock", "fastest")
ARROW_BLOCK = 4 << 20


def arrow_batches(path: Path) -> Iterator[Any]:
    """The file as pyarrow record batches (quoted cells may hold line breaks)."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    reader = pacsv.open_csv(
        path,
        read_options=pacsv.ReadOptions(block_size=ARROW_BLOCK),
        parse_options=pacsv.ParseOptions(newlines_in_values=True),
        # fixed numeric types, so every block gets the same schema; the rest stays text
        convert_options=pacsv.ConvertOptions(
            column_types={
                "weight": pa.float64(),
                "ratingValue": pa.float64(),
                "reviewCount": pa.int64(),
            }
        ),
    )
    yield from reader


def resource(config: str, path: Path) -> Any:
    """The dlt resource of one configuration, merge on sku."""
    import dlt

    if config == "stock":
        from dlt.sources.filesystem import filesystem, read_csv

        files = filesystem(bucket_url=path.parent.resolve().as_uri(), file_glob=path.name)
        # keep_default_na=False: pandas would read an empty cell as NaN, and a NULL sku is
        # refused by dlt's merge key (the invalid rows have empty SKUs); now it stays "" as in
        # the Arrow path. Everything else is read_csv's default.
        data = (files | read_csv(keep_default_na=False)).with_name(TABLE)
    else:
        data = dlt.resource(arrow_batches(path), name=TABLE)
    data.apply_hints(write_disposition="merge", primary_key="sku")
    return data


def run(config: str, url: str, path: Path, pipelines_dir: Path) -> dict[str, Any]:
    """Run one fresh pipeline and report its wall time and dlt's own row count."""
    import dlt

    run_kwargs: dict[str, Any] = {}
    if config == "fastest":
        os.environ["DATA_WRITER__DISABLE_COMPRESSION"] = "true"
        run_kwargs["loader_file_format"] = "csv"
    start = time.perf_counter()
    pipeline = dlt.pipeline(
        pipeline_name=f"bench_{config}",
        destination=dlt.destinations.postgres(credentials=url),
        dataset_name=f"dlt_{config}",
        pipelines_dir=str(pipelines_dir),
    )
    info = pipeline.run(resource(config, path), **run_kwargs)
    seconds = time.perf_counter() - start
    trace = pipeline.last_trace
    normalized = trace.last_normalize_info
    failed = [
        str(job.failed_message)[:300]
        for package in info.load_packages
        for job in package.jobs.get("failed_jobs", [])
    ]
    return {
        "config": config,
        "seconds": seconds,
        "rows": int(normalized.row_counts.get(TABLE, 0)) if normalized else 0,
        "steps": {
            step.step: (step.finished_at - step.started_at).total_seconds()
            for step in trace.steps
            if step.started_at and step.finished_at
        },
        "failed_jobs": failed,
        "dlt_version": dlt.__version__,
    }


def main(argv: list[str] | None = None) -> int:
    """Parse the arguments, run one configuration, print its JSON line."""
    parser = argparse.ArgumentParser(description="dlt CSV → PostgreSQL contender")
    parser.add_argument("--config", choices=CONFIGS, required=True)
    parser.add_argument("--url", required=True)
    parser.add_argument("--csv", required=True, type=Path)
    parser.add_argument("--pipelines-dir", required=True, type=Path)
    args = parser.parse_args(argv)
    result = run(args.config, args.url, args.csv, args.pipelines_dir)
    print(json.dumps(result, default=str))
    return 1 if result["failed_jobs"] else 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Peer (b): load the catalog CSV into PostgreSQL with dlt, in one of several configurations.

Runs in its own venv (`dlt[postgres]` + pyarrow + pandas). One process = one fresh pipeline
(its working dir is created empty under --pipelines-dir; bench_peer.py drops the dataset schema
before each run). Prints one JSON line with the timings and dlt's own counts.

Configurations (table `catalog_items` in dataset/schema `dlt_<config>`; dlt defaults unless said):
  fs_readcsv_merge       stock filesystem source + read_csv() (pandas, chunksize=10000, rows as
                         dicts through the dlt normalizer), write_disposition=merge,
                         primary_key=sku, default loader format (insert_values), default merge
                         strategy (delete-insert)
  fs_readcsv_merge_csv   the same + loader_file_format=csv (normalizer writes CSV, loaded by COPY)
  arrow_merge_csv        resource yielding pyarrow RecordBatches (pyarrow.csv.open_csv, 4 MiB
                         blocks, newlines_in_values=True, numeric columns typed), merge on sku,
                         loader_file_format=csv (pyarrow writes CSV, COPY into staging, merge SQL)
  arrow_merge_csv_nogz   the same + data_writer.disable_compression=true (no gzip of the
                         intermediate files): the fastest documented merge
  arrow_upsert_csv_nogz  the same with merge strategy `upsert` instead of delete-insert
  arrow_append_csv_nogz  append (no key, no dedup), csv/COPY, no gzip: upper bound
  arrow_replace_csv_nogz replace (truncate-and-insert), csv/COPY, no gzip: upper bound
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from urllib.parse import parse_qs, unquote, urlparse

# no network here: keep dlt from trying to send anonymous telemetry, keep logs quiet
os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")
os.environ.setdefault("RUNTIME__LOG_LEVEL", "WARNING")

T_IMPORT0 = time.perf_counter()
import dlt
import pyarrow as pa
import pyarrow.csv as pacsv
from dlt.sources.filesystem import filesystem, read_csv

IMPORT_S = time.perf_counter() - T_IMPORT0

TABLE = "catalog_items"
CONFIGS: dict[str, dict[str, str | None]] = {
    # measured by default (run_peer_bench.sh)
    "fs_readcsv_merge": {"reader": "read_csv", "disposition": "merge", "format": None},
    "fs_readcsv_merge_csv": {"reader": "read_csv", "disposition": "merge", "format": "csv"},
    "arrow_merge_csv": {"reader": "arrow", "disposition": "merge", "format": "csv"},
    "arrow_merge_csv_nogz": {
        "reader": "arrow",
        "disposition": "merge",
        "format": "csv",
        "no_compression": "1",
    },
    "arrow_upsert_csv_nogz": {
        "reader": "arrow",
        "disposition": "merge",
        "strategy": "upsert",
        "format": "csv",
        "no_compression": "1",
    },
    "arrow_append_csv_nogz": {
        "reader": "arrow",
        "disposition": "append",
        "format": "csv",
        "no_compression": "1",
    },
    "arrow_replace_csv_nogz": {
        "reader": "arrow",
        "disposition": "replace",
        "format": "csv",
        "no_compression": "1",
    },
    # available, not in the default list (a probe showed arrow's default format here is csv,
    # and append/replace with compression differ from the nogz ones only by the gzip cost)
    "arrow_merge": {"reader": "arrow", "disposition": "merge", "format": None},
    "arrow_upsert_csv": {
        "reader": "arrow",
        "disposition": "merge",
        "strategy": "upsert",
        "format": "csv",
    },
    "arrow_append_csv": {"reader": "arrow", "disposition": "append", "format": "csv"},
    "arrow_replace_csv": {"reader": "arrow", "disposition": "replace", "format": "csv"},
}
NUMERIC_TYPES = {
    "price": pa.float64(),
    "weight": pa.float64(),
    "ratingValue": pa.float64(),
    "reviewCount": pa.int64(),
}


def credentials_from_uri(uri: str) -> dict[str, object]:
    """dlt needs a host; a unix-socket URI (`?host=/dir`) is passed through libpq's query host."""
    u = urlparse(uri)
    query = {k: v[0] for k, v in parse_qs(u.query).items()}
    return {
        "database": (u.path or "/postgres").lstrip("/") or "postgres",
        "username": unquote(u.username or "postgres"),
        "password": unquote(u.password or "x"),
        "host": u.hostname or "localhost",
        "port": u.port or 5432,
        "query": query,
    }


@dlt.resource(name=TABLE)
def arrow_batches(path: str, block_size: int = 4 << 20):
    """pyarrow's streaming CSV reader; multi-line quoted cells need newlines_in_values=True."""
    reader = pacsv.open_csv(
        path,
        read_options=pacsv.ReadOptions(block_size=block_size),
        parse_options=pacsv.ParseOptions(newlines_in_values=True),
        convert_options=pacsv.ConvertOptions(column_types=NUMERIC_TYPES),
    )
    for batch in reader:
        yield batch


def build_resource(cfg: dict[str, str | None], path: str):
    if cfg["reader"] == "read_csv":
        folder, name = os.path.split(os.path.abspath(path))
        resource = (
            filesystem(bucket_url="file://" + folder, file_glob=name) | read_csv()
        ).with_name(TABLE)
    else:
        resource = arrow_batches(path)
    hints: dict[str, object] = {"write_disposition": cfg["disposition"]}
    if cfg.get("strategy"):
        hints["write_disposition"] = {
            "disposition": cfg["disposition"],
            "strategy": cfg["strategy"],
        }
    if cfg["disposition"] == "merge":
        hints["primary_key"] = "sku"
    resource.apply_hints(**hints)
    return resource


def run(config: str, uri: str, path: str, pipelines_dir: str) -> dict[str, object]:
    cfg = CONFIGS[config]
    if cfg.get("no_compression"):  # documented knob: keep intermediate files uncompressed
        os.environ["DATA_WRITER__DISABLE_COMPRESSION"] = "true"
    t0 = time.perf_counter()
    pipeline = dlt.pipeline(
        pipeline_name=f"peer_{config}",
        destination=dlt.destinations.postgres(credentials=credentials_from_uri(uri)),
        dataset_name=f"dlt_{config}",
        pipelines_dir=pipelines_dir,
    )
    kwargs = {"loader_file_format": cfg["format"]} if cfg["format"] else {}
    info = pipeline.run(build_resource(cfg, path), **kwargs)
    seconds = time.perf_counter() - t0
    trace = pipeline.last_trace
    steps = {
        s.step: (s.finished_at - s.started_at).total_seconds()
        for s in trace.steps
        if s.finished_at and s.started_at
    }
    norm = trace.last_normalize_info
    failed = [
        str(j.failed_message)[:300]
        for p in info.load_packages
        for j in p.jobs.get("failed_jobs", [])
    ]
    job_formats = sorted(
        {
            f"{j.job_file_info.table_name}:{j.job_file_info.file_format}"
            for p in info.load_packages
            for j in p.jobs.get("completed_jobs", [])
        }
    )
    return {
        "config": config,
        "seconds": seconds,
        "import_s": IMPORT_S,
        "steps": steps,
        "normalized_rows": dict(norm.row_counts) if norm else {},
        "failed_jobs": failed,
        "job_file_formats": job_formats,
        "dlt_version": dlt.__version__,
        "pyarrow_version": pa.__version__,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="dlt CSV -> postgres peer loader")
    ap.add_argument("--config", choices=sorted(CONFIGS), required=True)
    ap.add_argument("--uri", required=True)
    ap.add_argument("--csv", required=True)
    ap.add_argument("--pipelines-dir", required=True)
    args = ap.parse_args(argv)
    json.dump(run(args.config, args.uri, args.csv, args.pipelines_dir), sys.stdout, default=str)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

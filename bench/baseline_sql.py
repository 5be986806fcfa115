"""The COPY + SQL-upsert baseline the ingest is measured against (issue 11).

The raw CSV bytes go to the server unparsed (``COPY`` into an UNLOGGED all-text table), then
one ``INSERT … SELECT DISTINCT ON (sku) … ON CONFLICT`` with guarded casts and SQL validation
predicates writes the product's own ``catalog_items`` (a database migrated by the product's
migrations on the benchmark's server, so the target table is identical). The statements live in
``bench/sql/baseline_*.sql``. The reference in ``../shared/bench-baselines/load_raw.py`` can be
run side by side for cross-checking; it is not part of the project.

Usage: ``python -m bench.baseline_sql --url URL --csv FILE`` prints one JSON line.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

from bench.catalog_csv import HEADER

SQL_DIR = Path(__file__).with_name("sql")
PIECE = 1 << 20


def statement(name: str) -> str:
    """The text of ``bench/sql/baseline_<name>.sql``."""
    return (SQL_DIR / f"baseline_{name}.sql").read_text(encoding="utf-8")


def check_header(path: Path) -> None:
    """Refuse a file whose header is not the generator's (the landing table is positional)."""
    with path.open("rb") as fh:
        header = fh.readline().decode("utf-8-sig").rstrip("\r\n").split(",")
    if tuple(header) != HEADER:
        raise SystemExit(f"unexpected CSV header ({len(header)} columns)")


def load(url: str, path: Path) -> dict[str, Any]:
    """Stage and upsert ``path`` into ``catalog_items`` at ``url``; timings and row counts."""
    import psycopg

    check_header(path)
    with psycopg.connect(url) as conn, conn.cursor() as cur:
        start = time.perf_counter()
        cur.execute(statement("staging"))
        with path.open("rb") as fh, cur.copy(statement("copy")) as copy:
            while data := fh.read(PIECE):
                copy.write(data)
        staged = cur.rowcount
        copied = time.perf_counter()
        cur.execute(statement("upsert"))
        upserted = cur.rowcount
        conn.commit()
        done = time.perf_counter()
    return {
        "seconds": done - start,
        "copy_s": copied - start,
        "upsert_s": done - copied,
        "staged_rows": staged,
        "upserted_rows": upserted,
    }


def main(argv: list[str] | None = None) -> int:
    """Run the baseline once against an already migrated database."""
    parser = argparse.ArgumentParser(description="COPY + SQL upsert baseline")
    parser.add_argument("--url", required=True, help="a database migrated to the product schema")
    parser.add_argument("--csv", required=True, type=Path)
    args = parser.parse_args(argv)
    print(json.dumps(load(args.url, args.csv)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

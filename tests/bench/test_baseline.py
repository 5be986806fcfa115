"""The benchmark's generator and its COPY + SQL-upsert baseline do what the comparison assumes."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from bench import baseline_sql
from bench.catalog_csv import HEADER, build_csv, write_rows


def test_write_rows_streams_exactly_the_asked_records(tmp_path: Path) -> None:
    path = tmp_path / "catalog.csv"
    planted = write_rows(path, 1_234, seed=3, batch=500)
    assert planted["rows"] == 1_234
    assert planted["product"] + planted["update"] + planted["invalid"] == 1_234
    assert planted["update"] > 0
    assert planted["invalid"] > 0
    assert planted["bytes"] == path.stat().st_size
    # the same records as the in-memory builder, written in batches
    assert path.read_bytes() == build_csv(1_234, seed=3)


@pytest.mark.postgres
def test_baseline_upserts_each_valid_sku_once(db_url: str, tmp_path: Path) -> None:
    path = tmp_path / "catalog.csv"
    planted = write_rows(path, 3_000, seed=20261130)
    result = baseline_sql.load(db_url, path)
    assert result["staged_rows"] == 3_000
    with psycopg.connect(db_url) as conn:
        row = conn.execute(
            "SELECT count(*), count(DISTINCT sku), count(price) FROM catalog_items"
        ).fetchone()
    assert row is not None
    # invalid rows never reach the table; updates land on their SKU's row
    assert row[0] == row[1] == result["upserted_rows"] == planted["product"]
    assert row[2] == row[0]


def test_baseline_refuses_a_foreign_header(tmp_path: Path) -> None:
    path = tmp_path / "other.csv"
    path.write_text(",".join((*HEADER[:-1], "variants")) + "\nx\n", encoding="utf-8")
    with pytest.raises(SystemExit, match="unexpected CSV header"):
        baseline_sql.load("postgresql://unused", path)

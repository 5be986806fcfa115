"""A hostile cell cannot bloat `invalid_item_logs`: rejected rows are stored bounded."""

from __future__ import annotations

from pathlib import Path

import pytest

from catalog_lib.adapters.postgres import connect
from catalog_lib.rules.truncation import MAX_DOCUMENT_CHARS, STRING_PREFIX_CHARS
from tests.factories import catalog_row, ingest_file, local_runtime, to_csv

pytestmark = pytest.mark.postgres


@pytest.mark.slow
def test_an_oversized_cell_is_stored_as_size_and_prefix(db_url: str, tmp_path: Path) -> None:
    huge = "N" * (12 * 1024 * 1024)
    rows = [catalog_row(0), catalog_row(1, name=huge), catalog_row(2)]
    rt = local_runtime(db_url, tmp_path / "landing")
    job = ingest_file(rt, "trailco/huge.csv", to_csv(rows))
    assert (job["status"], job["total_valid"], job["total_invalid"]) == ("completed", 2, 1)
    with connect(db_url) as conn:
        row = conn.execute(
            "SELECT errors, raw_data, pg_column_size(raw_data) + pg_column_size(errors) AS bytes "
            "FROM invalid_item_logs WHERE job_id = %s",
            (job["id"],),
        ).fetchone()
    assert row is not None
    assert row["bytes"] < MAX_DOCUMENT_CHARS
    marker = {"truncated": True, "length": len(huge), "prefix": "N" * STRING_PREFIX_CHARS}
    assert row["raw_data"]["name"] == marker
    assert row["raw_data"]["sku"] == "SKU-00001"  # short values are kept as they were
    [error] = row["errors"]
    assert error["reason"] == "Name exceeds maximum length (500 chars)"
    assert error["value"] == marker

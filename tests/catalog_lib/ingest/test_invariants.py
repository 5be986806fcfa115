"""The reconcile invariant on every test corpus: verified == processed == valid + invalid."""

from __future__ import annotations

from pathlib import Path

import pytest

from catalog_lib.demo.sample_files import build_demo_files
from tests.factories import ingest_file, local_runtime

pytestmark = pytest.mark.postgres

CORPUS = sorted((Path(__file__).parents[2] / "cases" / "csv").glob("reconcile_*.csv"))
DEMO = {f.key.rsplit("/", 1)[-1]: f.data for f in build_demo_files(rows_per_source=80)}


def _check(db_url: str, landing: Path, data: bytes, chunk_size: int) -> None:
    rt = local_runtime(db_url, landing, chunk_size=chunk_size)
    job = ingest_file(rt, "f.csv", data)
    assert job["status"] == "completed"
    assert job["verified_row_count"] == job["total_processed"]
    assert job["total_processed"] == job["total_valid"] + job["total_invalid"]
    assert job["reconcile_delta"] == 0


@pytest.mark.parametrize("path", CORPUS, ids=[p.stem for p in CORPUS])
@pytest.mark.parametrize("chunk_size", [1 << 30, 48], ids=["one-chunk", "tiny-chunks"])
def test_reconcile_corpus(db_url: str, tmp_path: Path, path: Path, chunk_size: int) -> None:
    _check(db_url, tmp_path / "landing", path.read_bytes(), chunk_size)


@pytest.mark.parametrize("name", sorted(DEMO))
def test_demo_corpus(db_url: str, tmp_path: Path, name: str) -> None:
    _check(db_url, tmp_path / "landing", DEMO[name], 4096)

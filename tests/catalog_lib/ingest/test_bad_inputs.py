"""The bad-input corpus (tests/cases/bad/): every hostile or broken file has a clear outcome.

Each case is `NAME.csv` (or a generator named in the expectation, for files too big to commit)
plus `NAME.expected.json`:

* ``{"outcome": "failed", "error_kind": KIND, "message": SUBSTRING}`` — the job ends `failed`
  with that error kind and a message containing SUBSTRING, and leaves no effect at all: no
  catalog items, no provenance, no staged rows and no rejected rows;
* ``{"outcome": "completed", "processed": N, "valid": V, "invalid": I, "reasons": {R: n}}`` —
  the job completes with exact totals, reconcile delta 0, and exactly those rejection reasons
  (each reason string with how many times it occurs over the rejected rows).

Each case runs through the real steps (plan, chunks, apply, aggregate, reconcile, finalize) on
PostgreSQL, the way the flow does (a `CatalogError` ends the job with its kind), must never
raise anything else, and must keep the Python heap's peak bounded (traced with tracemalloc).
"""

from __future__ import annotations

import json
import tracemalloc
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from catalog_lib.adapters.postgres import connect
from catalog_lib.core.errors import CatalogError
from catalog_lib.ingest import jobs, steps
from tests.factories import catalog_row, job_row, local_runtime, run_steps, to_csv

pytestmark = pytest.mark.postgres

CASES_DIR = Path(__file__).parents[2] / "cases" / "bad"
MIB = 1024 * 1024


def _single_field_10mb() -> bytes:
    return to_csv([catalog_row(0, description="d" * (10 * MIB))])


def _description_3mib_among_valid() -> bytes:
    rows = [catalog_row(i) for i in range(20)]
    rows[10] = catalog_row(10, description="x" * (3 * MIB))
    return to_csv(rows)


def _wide_header(columns: int) -> bytes:
    header = ",".join(f"c{i}" for i in range(columns)).encode()
    return header + b"\n" + b",".join([b"x"] * columns) + b"\n"


def _header_over_1mib() -> bytes:
    return b"name,sku,productUrl," + b"a" * (2 * MIB) + b"\nTent,SKU-1,https://x.example.com/\n"


def _columns_at_the_cap() -> bytes:
    names = ["name", "sku", "productUrl", *(f"extra{i}" for i in range(1021))]
    return to_csv(
        [catalog_row(i) | {f"extra{j}": str(j) for j in range(1021)} for i in range(3)],
        header=names,
    )


GENERATORS: dict[str, Callable[[], bytes]] = {
    "single_field_10mb": _single_field_10mb,
    "description_3mib_among_valid": _description_3mib_among_valid,
    "wide_header_600k_columns": lambda: _wide_header(600_000),
    "header_1025_columns": lambda: _wide_header(1025),
    "header_over_1mib": _header_over_1mib,
    "columns_at_the_cap": _columns_at_the_cap,
}


@dataclass(frozen=True)
class Case:
    """One corpus entry: its name, its bytes (lazily) and what must happen."""

    name: str
    expected: dict[str, Any]

    def data(self) -> bytes:
        """The file's bytes: committed, or generated at test time."""
        generator = self.expected.get("generate")
        if generator is not None:
            return GENERATORS[generator]()
        return (CASES_DIR / f"{self.name}.csv").read_bytes()


def load_cases() -> list[Case]:
    """Every `*.expected.json` in the corpus folder, by name."""
    cases = []
    for path in sorted(CASES_DIR.glob("*.expected.json")):
        name = path.name.removesuffix(".expected.json")
        cases.append(Case(name, json.loads(path.read_text(encoding="utf-8"))))
    return cases


CASES = load_cases()


def _params() -> Iterator[Any]:
    for case in CASES:
        marks: list[Any] = [pytest.mark.slow] if case.expected.get("slow") else []
        if case.expected.get("pending"):
            # Another issue owns the fix; strict, so the case reports itself once it passes.
            marks.append(pytest.mark.xfail(reason=case.expected["pending"], strict=True))
        yield pytest.param(case, id=case.name, marks=marks)


def run_like_the_flow(rt: steps.Runtime, key: str, data: bytes) -> uuid.UUID:
    """Trigger and run a job; a `CatalogError` ends it `failed` with its kind, as the flow does."""
    rt.store.write(key, data)
    trigger = steps.request_ingest(rt, source="trailco", uri_or_key=key, scraper_revision="bad")
    try:
        run_steps(rt, trigger.job_id)
    except CatalogError as exc:
        steps.end_job(
            rt, trigger.job_id, jobs.JobStatus.FAILED, error_kind=exc.kind, error_message=str(exc)
        )
    return trigger.job_id


def _counts(db_url: str, job_id: uuid.UUID) -> dict[str, int]:
    queries = {
        "catalog_items": "SELECT count(*) AS n FROM catalog_items",
        "provenance": "SELECT count(*) AS n FROM catalog_item_etl_jobs WHERE etl_job_id = %s",
        "staged": "SELECT count(*) AS n FROM etl_staged_items WHERE job_id = %s",
        "rejected": "SELECT count(*) AS n FROM invalid_item_logs WHERE job_id = %s",
    }
    with connect(db_url) as conn:
        out = {}
        for name, sql in queries.items():
            row = conn.execute(sql, (job_id,) if "%s" in sql else ()).fetchone()
            out[name] = int(row["n"]) if row else 0
    return out


def _reasons(db_url: str, job_id: uuid.UUID) -> Counter[str]:
    with connect(db_url) as conn:
        rows = conn.execute(
            "SELECT errors FROM invalid_item_logs WHERE job_id = %s", (job_id,)
        ).fetchall()
    return Counter(e["reason"] for r in rows for e in r["errors"])


def _peak_bound(size: int, expected: dict[str, Any]) -> int:
    # Parsing holds a chunk's bytes, its decoded text and its rows at once: a few copies of the
    # file at most (cells are at most the file), plus a fixed allowance for the libraries.
    return int(expected.get("max_peak_mib", 0)) * MIB or 48 * MIB + 12 * size


def test_the_corpus_is_complete() -> None:
    committed = {p.name.removesuffix(".csv") for p in CASES_DIR.glob("*.csv")}
    names = {c.name for c in CASES}
    assert committed <= names, f"files without an expectation: {sorted(committed - names)}"
    assert len(CASES) >= 30
    for case in CASES:
        assert case.expected["outcome"] in ("failed", "completed"), case.name
        assert ("generate" in case.expected) is (case.name not in committed), case.name


@pytest.mark.parametrize("case", list(_params()))
def test_bad_input_has_its_expected_outcome(case: Case, db_url: str, tmp_path: Path) -> None:
    expected = case.expected
    data = case.data()
    rt = local_runtime(db_url, tmp_path / "landing")
    tracemalloc.start()
    try:
        job_id = run_like_the_flow(rt, f"bad/{case.name}.csv", data)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    del data
    job = job_row(db_url, job_id)
    counts = _counts(db_url, job_id)
    assert job["status"] == expected["outcome"], job["error_message"]
    if expected["outcome"] == "failed":
        assert job["error_kind"] == expected["error_kind"], job["error_message"]
        assert expected["message"] in job["error_message"]
        assert counts == {"catalog_items": 0, "provenance": 0, "staged": 0, "rejected": 0}
    else:
        totals = (job["total_processed"], job["total_valid"], job["total_invalid"])
        assert totals == (expected["processed"], expected["valid"], expected["invalid"])
        assert job["reconcile_delta"] == 0
        assert counts["rejected"] == expected["invalid"]
        assert counts["staged"] == 0  # dropped when the job completed
        assert dict(_reasons(db_url, job_id)) == expected["reasons"]
    assert peak < _peak_bound(job["source_size"] or 0, expected), f"peak {peak / MIB:.1f} MiB"

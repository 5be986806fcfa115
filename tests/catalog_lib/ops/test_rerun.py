"""Which flow run may (re-)enter a job: the rule behind Prefect's Retry button (real PG)."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from catalog_lib.adapters.postgres import connect
from catalog_lib.ingest import jobs, steps
from catalog_lib.ops import rerun
from tests.factories import catalog_row, local_runtime, to_csv

pytestmark = [pytest.mark.postgres]


def _job(db_url: str, tmp_path: Path) -> tuple[steps.Runtime, uuid.UUID]:
    rt = local_runtime(db_url, tmp_path / "landing")
    rt.store.write("a.csv", to_csv([catalog_row(i) for i in range(5)]))
    trigger = steps.request_ingest(rt, source="trailco", uri_or_key="a.csv", scraper_revision="t")
    return rt, trigger.job_id


def test_a_pending_job_and_a_missing_job_may_be_entered(db_url: str, tmp_path: Path) -> None:
    _, job_id = _job(db_url, tmp_path)
    assert rerun.refusal(db_url, job_id, uuid.uuid4()) is None
    assert rerun.refusal(db_url, uuid.uuid4(), None) is None


def test_only_its_own_run_may_re_enter_a_failed_job(db_url: str, tmp_path: Path) -> None:
    rt, job_id = _job(db_url, tmp_path)
    own = uuid.uuid4()
    steps.start_job(rt, job_id, own)
    steps.end_job(rt, job_id, jobs.JobStatus.FAILED, error_kind="crashed", error_message="x")
    assert rerun.refusal(db_url, job_id, own) is None
    other = rerun.refusal(db_url, job_id, uuid.uuid4())
    assert other is not None
    assert f"belongs to flow run {own}" in other
    assert f"catalog-etl retry {job_id}" in other


def test_a_cancelled_job_is_not_resumed(db_url: str, tmp_path: Path) -> None:
    rt, job_id = _job(db_url, tmp_path)
    own = uuid.uuid4()
    steps.start_job(rt, job_id, own)
    with connect(db_url) as conn:
        assert jobs.mark_ended(
            conn, job_id, jobs.JobStatus.CANCELLED, error_kind="cancelled", error_message="x"
        )
        conn.commit()
    refusal = rerun.refusal(db_url, job_id, own)
    assert refusal is not None
    assert "was cancelled" in refusal

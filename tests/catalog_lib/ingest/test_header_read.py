"""The flow body's header read retries transient storage errors (no task retry covers it)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from catalog_lib.core.errors import StorageError
from catalog_lib.ingest import steps
from tests.factories import catalog_row, local_runtime, to_csv
from tests.faulty_storage import FaultyStore

pytestmark = pytest.mark.postgres


def _planned(db_url: str, tmp_path: Path) -> tuple[steps.Runtime, steps.PlannedJob]:
    rt = local_runtime(db_url, tmp_path / "l")
    rt.store.write("a.csv", to_csv([catalog_row(i) for i in range(5)]))
    job_id = steps.request_ingest(rt, source="s", uri_or_key="a.csv", scraper_revision="r").job_id
    return rt, steps.plan_job(rt, job_id)


def test_a_transient_header_read_failure_is_retried(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(steps, "HEADER_READ_BACKOFF_S", 0.0)
    rt, planned = _planned(db_url, tmp_path)
    store = FaultyStore(rt.store, error_rate=1.0, slow_rate=0.0, max_failures_per_range=1)
    header = steps.read_header(
        dataclasses.replace(rt, store=store), planned.version, planned.data_start
    )
    assert header == planned.header
    assert sum(store.failures.values()) == 1
    assert sum(store.reads.values()) == 2


def test_a_header_read_that_keeps_failing_fails_after_the_attempts(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(steps, "HEADER_READ_BACKOFF_S", 0.0)
    monkeypatch.setattr(steps, "HEADER_READ_ATTEMPTS", 2)
    rt, planned = _planned(db_url, tmp_path)
    # Every read of the range fails (more failures planned than the two attempts).
    always = FaultyStore(rt.store, error_rate=1.0, slow_rate=0.0)
    monkeypatch.setattr(always, "failures_planned", lambda *_args: 5)
    with pytest.raises(StorageError):
        steps.read_header(
            dataclasses.replace(rt, store=always), planned.version, planned.data_start
        )
    assert sum(always.reads.values()) == 2

"""The job-state sweeper's rules and its guarded closing of jobs (real PostgreSQL)."""

from __future__ import annotations

import logging
import uuid
from pathlib import Path

import pytest

from catalog_lib.adapters.postgres import connect
from catalog_lib.ingest import jobs, steps
from catalog_lib.ingest.liveness import JobLease, acquire_lease
from catalog_lib.ops.crash_sweep import (
    RUNNER_LOST,
    OpenJob,
    RunState,
    RunStateType,
    Verdict,
    decide,
    list_open_jobs,
    sweep_jobs,
)
from tests.factories import catalog_row, job_row, kill_lease_session, local_runtime, to_csv

CLOSE_FAILED = jobs.JobStatus.FAILED
CLOSE_CANCELLED = jobs.JobStatus.CANCELLED


@pytest.mark.parametrize(
    ("job_status", "run_state", "expected"),
    [
        ("running", RunStateType.CRASHED, Verdict(True, CLOSE_FAILED, "crashed")),
        ("running", RunStateType.FAILED, Verdict(True, CLOSE_FAILED, "failed")),
        ("running", RunStateType.CANCELLED, Verdict(True, CLOSE_CANCELLED, "cancelled")),
        ("running", RunStateType.COMPLETED, Verdict(True, CLOSE_FAILED, "orphaned")),
        ("pending", RunStateType.CRASHED, Verdict(True, CLOSE_FAILED, "crashed")),
        ("running", RunStateType.RUNNING, Verdict(False)),
        ("running", RunStateType.CANCELLING, Verdict(False)),
        ("running", RunStateType.PAUSED, Verdict(False)),
        ("pending", RunStateType.SCHEDULED, Verdict(False)),
        ("pending", RunStateType.PENDING, Verdict(False)),
        ("pending", None, Verdict(False)),
        ("running", None, Verdict(False)),
        ("completed", RunStateType.CRASHED, Verdict(False)),
        ("failed", RunStateType.CRASHED, Verdict(False)),
    ],
    ids=lambda v: str(v) if not isinstance(v, Verdict) else "",
)
def test_decide_closes_only_from_an_ended_run(
    job_status: str, run_state: RunStateType | None, expected: Verdict
) -> None:
    assert decide(jobs.JobStatus(job_status), run_state) == expected


@pytest.mark.parametrize(
    ("job_status", "run_state", "expected"),
    [
        ("running", RunStateType.RUNNING, RUNNER_LOST),
        ("running", RunStateType.PENDING, RUNNER_LOST),
        ("running", None, RUNNER_LOST),
        ("running", RunStateType.CRASHED, Verdict(True, CLOSE_FAILED, "crashed")),
        ("running", RunStateType.CANCELLED, Verdict(True, CLOSE_CANCELLED, "cancelled")),
        # A pending job has no runner yet: a free lease says nothing about it.
        ("pending", None, Verdict(False)),
        ("pending", RunStateType.SCHEDULED, Verdict(False)),
        ("completed", None, Verdict(False)),
    ],
    ids=lambda v: str(v) if not isinstance(v, Verdict) else "",
)
def test_decide_closes_a_running_job_whose_lease_is_free(
    job_status: str, run_state: RunStateType | None, expected: Verdict
) -> None:
    status = jobs.JobStatus(job_status)
    assert decide(status, run_state, runner_alive=False) == expected
    # With its lease held, only an ended run closes it.
    alive = decide(status, run_state, runner_alive=True)
    assert alive == (expected if expected is not RUNNER_LOST else Verdict(False))


def _job(db_url: str, landing: Path, key: str) -> uuid.UUID:
    rt = local_runtime(db_url, landing, chunk_size=1024)
    rt.store.write(key, to_csv([catalog_row(i) for i in range(20)]))
    return steps.request_ingest(rt, source="trailco", uri_or_key=key, scraper_revision="t").job_id


def _set_running(db_url: str, job_id: uuid.UUID, run_id: uuid.UUID) -> JobLease:
    """Start the job as a runner would: lease first, then running. The caller holds the lease."""
    lease = acquire_lease(db_url, job_id)
    with connect(db_url) as conn:
        assert jobs.mark_running(conn, job_id, run_id)
    return lease


@pytest.mark.postgres
def test_sweep_closes_jobs_of_ended_runs_and_leaves_the_rest(
    db_url: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    crashed, live, unknown, pending, other_run = (
        _job(db_url, tmp_path, f"v2/trailco/{name}.csv")
        for name in ("crashed", "live", "unknown", "pending", "other")
    )
    runs = {job: uuid.uuid4() for job in (crashed, live, unknown, other_run)}
    leases = [_set_running(db_url, job, run) for job, run in runs.items()]
    # The crashed run's process is gone: so is its lease.
    leases.pop(0).release()
    with connect(db_url) as conn:
        listed = {j.job_id: j for j in list_open_jobs(conn)}
    assert set(listed) == {crashed, live, unknown, pending, other_run}
    assert listed[crashed] == OpenJob(
        crashed, "running", "trailco", runs[crashed], runner_alive=False
    )
    assert all(listed[job].runner_alive for job in (live, unknown, other_run))
    assert listed[pending].flow_run_id is None

    def read(job: OpenJob) -> RunState | None:
        if job.job_id == crashed:
            return RunState(runs[crashed], RunStateType.CRASHED)
        if job.job_id == live:
            return RunState(runs[live], RunStateType.RUNNING)
        if job.job_id == other_run:
            # A crashed run that is not the job's own: the guard keeps the job open.
            return RunState(uuid.uuid4(), RunStateType.CRASHED)
        return None

    with caplog.at_level(logging.WARNING, logger="catalog_lib.ops.crash_sweep"):
        report = sweep_jobs(db_url, read)
    assert (report.examined, report.closed) == (5, 1)
    closed = job_row(db_url, crashed)
    assert (closed["status"], closed["error_kind"]) == ("failed", "crashed")
    assert str(runs[crashed]) in closed["error_message"]
    for job in (live, unknown, other_run):
        assert job_row(db_url, job)["status"] == "running"
    assert job_row(db_url, pending)["status"] == "pending"
    events = [r for r in caplog.records if getattr(r, "event", None) == "etl.sweeper.closed"]
    assert len(events) == 1
    assert (events[0].job_id, events[0].error_kind) == (str(crashed), "crashed")  # type: ignore[attr-defined]
    assert events[0].levelno == logging.WARNING
    # A second sweep finds nothing more to close.
    assert sweep_jobs(db_url, read).closed == 0
    for lease in leases:
        lease.release()


@pytest.mark.postgres
def test_sweep_closes_a_running_job_whose_runner_is_gone(db_url: str, tmp_path: Path) -> None:
    gone, alive = (_job(db_url, tmp_path, f"v2/trailco/{n}.csv") for n in ("gone", "alive"))
    runs = {gone: uuid.uuid4(), alive: uuid.uuid4()}
    gone_lease = _set_running(db_url, gone, runs[gone])
    alive_lease = _set_running(db_url, alive, runs[alive])
    # The orchestrator still says RUNNING for both (a SIGKILLed bare `catalog-etl ingest`
    # leaves its run that way): only the lease tells them apart.
    still_running = {j: RunState(r, RunStateType.RUNNING) for j, r in runs.items()}
    assert sweep_jobs(db_url, lambda job: still_running[job.job_id]).closed == 0
    # The runner's session dies, as it does when its process is killed.
    kill_lease_session(db_url, gone)
    report = sweep_jobs(db_url, lambda job: still_running[job.job_id])
    assert report.closed == 1
    row = job_row(db_url, gone)
    assert (row["status"], row["error_kind"]) == ("failed", "runner_lost")
    assert "liveness lease is free" in row["error_message"]
    assert str(runs[gone]) in row["error_message"]
    assert job_row(db_url, alive)["status"] == "running"
    alive_lease.release()
    gone_lease.release()


@pytest.mark.postgres
def test_sweep_closes_a_pending_job_from_a_run_found_for_it(db_url: str, tmp_path: Path) -> None:
    job = _job(db_url, tmp_path, "v2/trailco/pending.csv")
    run = uuid.uuid4()
    report = sweep_jobs(db_url, lambda _: RunState(run, RunStateType.CANCELLED))
    assert report.closed == 1
    row = job_row(db_url, job)
    assert (row["status"], row["error_kind"]) == ("cancelled", "cancelled")

"""Job liveness leases: held by one session, visible to others, freed when the session dies."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from catalog_lib.adapters.postgres import connect
from catalog_lib.core.errors import JobLeaseHeldError
from catalog_lib.ingest import jobs, steps
from catalog_lib.ingest.liveness import acquire_lease, is_leased, lease_key
from catalog_lib.ops.crash_sweep import list_open_jobs
from tests.factories import catalog_row, kill_lease_session, local_runtime, to_csv

pytestmark = pytest.mark.postgres


def _job(db_url: str, landing: Path, key: str = "v2/trailco/a.csv") -> uuid.UUID:
    rt = local_runtime(db_url, landing)
    rt.store.write(key, to_csv([catalog_row(i) for i in range(3)]))
    return steps.request_ingest(rt, source="trailco", uri_or_key=key, scraper_revision="t").job_id


def test_a_lease_is_exclusive_and_visible_to_other_sessions(db_url: str, tmp_path: Path) -> None:
    job = _job(db_url, tmp_path)
    lease = acquire_lease(db_url, job)
    with connect(db_url) as conn:
        assert is_leased(conn, job)
    with pytest.raises(JobLeaseHeldError) as raised:
        acquire_lease(db_url, job)
    assert raised.value.kind == "job_leased"
    lease.release()
    lease.release()  # a second release is harmless
    with connect(db_url) as conn:
        assert not is_leased(conn, job)
    acquire_lease(db_url, job).release()


def test_a_dead_session_frees_the_lease(db_url: str, tmp_path: Path) -> None:
    job = _job(db_url, tmp_path)
    lease = acquire_lease(db_url, job)
    assert kill_lease_session(db_url, job) == 1
    with connect(db_url) as conn:
        assert not is_leased(conn, job)
    # Another runner may now take it.
    acquire_lease(db_url, job).release()
    lease.release()  # the dead session is closed quietly


def test_the_sweepers_query_computes_the_same_lease_key(db_url: str, tmp_path: Path) -> None:
    keys = [_job(db_url, tmp_path, f"v2/trailco/{i}.csv") for i in range(4)]
    # Ids whose first bit is set and ids whose first bit is clear exercise the 31-bit mask on
    # both sides (random ids: add jobs until both kinds are among the leased ones).
    while len({bool(job.bytes[0] & 0x80) for job in keys[:3]}) < 2:
        keys.insert(0, _job(db_url, tmp_path, f"v2/trailco/{len(keys)}.csv"))
    leases = [acquire_lease(db_url, job) for job in keys[:3]]
    with connect(db_url) as conn:
        for job in keys[:3]:
            assert jobs.mark_running(conn, job, uuid.uuid4())
        listed = {j.job_id: j.runner_alive for j in list_open_jobs(conn)}
    assert {job: listed[job] for job in keys} == {job: job in keys[:3] for job in keys}
    assert all(0 <= lease_key(job) < 2**31 for job in keys)
    for lease in leases:
        lease.release()

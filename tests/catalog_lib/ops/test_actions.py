"""Operator actions on real PostgreSQL: retry, repair, reconcile, the ETag rule, the audit trail."""

from __future__ import annotations

import threading
import uuid
from pathlib import Path
from typing import Any

import pytest

from catalog_lib.adapters.embeddings import NoEmbeddings
from catalog_lib.adapters.postgres import connect
from catalog_lib.adapters.storage import open_store
from catalog_lib.core.errors import DatabaseConnectionError, InvalidArgumentError, TransientError
from catalog_lib.demo.sample_files import build_demo_files
from catalog_lib.ingest import steps
from catalog_lib.ingest.jobs import JobMode, JobStatus, create_superseding_job, get_job
from catalog_lib.ops import actions
from catalog_lib.ops.action_log import ActionCode, ActionKind, ActionRequest, ActionResult, Outcome
from catalog_lib.ops.reports import get_job_detail, list_job_actions
from tests.factories import (
    admin_dsn,
    catalog_row,
    catalog_snapshot,
    ingest_file,
    job_row,
    local_runtime,
    run_steps,
    to_csv,
)

pytestmark = pytest.mark.postgres

CORPUS = sorted((Path(__file__).parents[2] / "cases" / "csv").glob("reconcile_*.csv"))
DEMO = {f.key.rsplit("/", 1)[-1]: f.data for f in build_demo_files(rows_per_source=60)}


def _rows(n: int) -> list[dict[str, str]]:
    rows = [catalog_row(i) for i in range(n)]
    rows[3] = catalog_row(3, price="N/A")
    return rows


def _request(kind: ActionKind, job_id: uuid.UUID, *, force: bool = False) -> ActionRequest:
    return ActionRequest(kind=kind, job_id=job_id, actor="ops@example.com", reason="t", force=force)


def _failed_job(rt: steps.Runtime, key: str = "a.csv", *, done: int = 2) -> uuid.UUID:
    """A multi-chunk job whose first `done` chunks completed before it failed."""
    rt.store.write(key, to_csv(_rows(24)))
    trigger = steps.request_ingest(rt, source="trailco", uri_or_key=key, scraper_revision="r")
    steps.start_job(rt, trigger.job_id, None)
    planned = steps.plan_job(rt, trigger.job_id)
    assert len(planned.chunks) > done + 1
    for spec in planned.chunks[:done]:
        steps.run_chunk(rt, trigger.job_id, planned.version, planned.header, spec)
    steps.end_job(
        rt, trigger.job_id, JobStatus.FAILED, error_kind="transient", error_message="lost"
    )
    return trigger.job_id


def _reingest(rt: steps.Runtime, request: ActionRequest) -> ActionResult:
    """What the retry/repair flows do, without an orchestrator."""
    started = actions.start_reingest(rt, request)
    if started.outcome is not Outcome.STARTED:
        return started
    assert started.new_job_id is not None
    run_steps(rt, started.new_job_id)
    return actions.finish_reingest(rt, started, flow_run_id=None)


def _actions(db_url: str) -> list[dict[str, Any]]:
    with connect(db_url) as conn:
        return conn.execute("SELECT * FROM operator_actions ORDER BY id").fetchall()


def _chunk_attempts(db_url: str, job_id: uuid.UUID) -> list[int]:
    with connect(db_url) as conn:
        rows = conn.execute(
            "SELECT attempts FROM etl_job_chunks WHERE job_id = %s AND phase = 'chunk' "
            "ORDER BY chunk_index",
            (job_id,),
        ).fetchall()
    return [r["attempts"] for r in rows]


def test_retry_redoes_only_the_failed_chunks(db_url: str, tmp_path: Path) -> None:
    rt = local_runtime(db_url, tmp_path / "landing", chunk_size=400)
    original = _failed_job(rt)
    before = job_row(db_url, original)
    result = _reingest(rt, _request(ActionKind.RETRY, original))
    assert (result.outcome, result.code) == (Outcome.SUCCEEDED, None)
    assert result.new_job_id is not None
    attempts = _chunk_attempts(db_url, result.new_job_id)
    assert attempts[:2] == [0, 0]  # adopted from the ledger, not redone
    assert all(a == 1 for a in attempts[2:])
    new = job_row(db_url, result.new_job_id)
    assert (new["status"], new["mode"], new["supersedes_job_id"]) == (
        "completed",
        "retry",
        original,
    )
    assert (new["total_processed"], new["total_invalid"], new["reconcile_delta"]) == (24, 1, 0)
    assert job_row(db_url, original) == before  # the original row is never rewritten
    (row,) = _actions(db_url)
    assert (row["action"], row["actor"], row["reason"], row["outcome"]) == (
        "retry",
        "ops@example.com",
        "t",
        "succeeded",
    )
    assert (row["target_job_id"], row["result_job_id"]) == (original, result.new_job_id)
    assert row["parameters"]["force"] is False
    assert row["finished_at"] is not None


def test_repair_reprocesses_everything_with_the_same_catalog(db_url: str, tmp_path: Path) -> None:
    rt = local_runtime(db_url, tmp_path / "landing", chunk_size=400)
    first = ingest_file(rt, "a.csv", to_csv(_rows(24)))
    catalog = catalog_snapshot(db_url)
    result = _reingest(rt, _request(ActionKind.REPAIR, first["id"]))
    assert result.outcome is Outcome.SUCCEEDED
    assert result.new_job_id is not None
    attempts = _chunk_attempts(db_url, result.new_job_id)
    assert len(attempts) == first["chunks_total"] > 2
    assert set(attempts) == {1}
    new = job_row(db_url, result.new_job_id)
    assert (new["mode"], new["total_processed"], new["reconcile_delta"]) == ("repair", 24, 0)
    assert catalog_snapshot(db_url) == catalog
    assert job_row(db_url, first["id"])["status"] == "completed"


def test_repair_of_a_failed_job_does_not_adopt_chunks(db_url: str, tmp_path: Path) -> None:
    rt = local_runtime(db_url, tmp_path / "landing", chunk_size=400)
    original = _failed_job(rt)
    result = _reingest(rt, _request(ActionKind.REPAIR, original))
    assert result.outcome is Outcome.SUCCEEDED
    assert result.new_job_id is not None
    assert set(_chunk_attempts(db_url, result.new_job_id)) == {1}


def _overwrite(rt: steps.Runtime, key: str) -> None:
    rt.store.write(key, to_csv(_rows(30)))


@pytest.mark.parametrize("kind", list(ActionKind), ids=str)
def test_changed_source_is_refused_unless_forced(
    db_url: str, tmp_path: Path, kind: ActionKind
) -> None:
    rt = local_runtime(db_url, tmp_path / "landing", chunk_size=400)
    job = ingest_file(rt, "a.csv", to_csv(_rows(24)))
    job_id = job["id"]
    if kind is ActionKind.RETRY:
        job_id = _failed_job(rt, "b.csv")
        _overwrite(rt, "b.csv")
    else:
        _overwrite(rt, "a.csv")
    stored = job_row(db_url, job_id)["source_etag"]
    live = rt.store.head(job_row(db_url, job_id)["object_key"]).etag
    refused = _run(rt, _request(kind, job_id))
    assert (refused.outcome, refused.code) == (Outcome.REFUSED, ActionCode.ETAG_MISMATCH)
    assert (refused.stored_etag, refused.live_etag) == (stored, live)
    assert stored != live
    assert f"stored={stored}" in refused.message
    assert f"live={live}" in refused.message
    forced = _run(rt, _request(kind, job_id, force=True))
    assert forced.outcome is Outcome.SUCCEEDED, forced.message
    if kind is ActionKind.RECONCILE:
        assert (forced.expected, forced.actual, forced.delta) == (30, 24, 6)
    else:
        assert forced.new_job_id is not None
        new = job_row(db_url, forced.new_job_id)
        assert (new["source_etag"], new["total_processed"]) == (live, 30)
        assert set(_chunk_attempts(db_url, forced.new_job_id)) == {1}  # re-planned, no adoption
    rows = _actions(db_url)
    assert [(r["outcome"], r["code"]) for r in rows] == [
        ("refused", "ETL_ETAG_MISMATCH"),
        ("succeeded", None),
    ]
    assert [r["parameters"]["force"] for r in rows] == [False, True]


@pytest.mark.s3
@pytest.mark.parametrize("kind", list(ActionKind), ids=str)
def test_changed_s3_source_is_refused_unless_forced(
    db_url: str, s3_bucket: Any, kind: ActionKind
) -> None:
    rt = steps.Runtime(
        database_url=db_url,
        store=open_store(s3_bucket),
        provider=NoEmbeddings(),
        chunk_size=400,
        apply_partitions=2,
    )
    if kind is ActionKind.RETRY:
        job_id = _failed_job(rt, "v2/trailco/a.csv")
    else:
        job_id = ingest_file(rt, "v2/trailco/a.csv", to_csv(_rows(24)))["id"]
    _overwrite(rt, "v2/trailco/a.csv")
    refused = _run(rt, _request(kind, job_id))
    assert (refused.outcome, refused.code) == (Outcome.REFUSED, ActionCode.ETAG_MISMATCH)
    assert refused.stored_etag != refused.live_etag
    assert refused.live_etag
    forced = _run(rt, _request(kind, job_id, force=True))
    assert forced.outcome is Outcome.SUCCEEDED, forced.message
    if forced.new_job_id is not None:
        assert job_row(db_url, forced.new_job_id)["total_processed"] == 30
    assert len(_actions(db_url)) == 2


def _run(rt: steps.Runtime, request: ActionRequest) -> ActionResult:
    if request.kind is ActionKind.RECONCILE:
        return actions.reconcile_source(rt, request)
    return _reingest(rt, request)


@pytest.mark.parametrize("value", ["false", "0", "", 1, None], ids=repr)
def test_force_must_be_a_real_boolean(value: Any) -> None:
    with pytest.raises(InvalidArgumentError, match="force must be a bool"):
        ActionRequest(kind=ActionKind.RETRY, job_id=uuid.uuid4(), actor="a", force=value)
    assert ActionRequest(kind=ActionKind.RETRY, job_id=uuid.uuid4(), actor="a").force is False


@pytest.mark.parametrize("kind", list(ActionKind), ids=str)
def test_legacy_row_without_etag_needs_force(db_url: str, tmp_path: Path, kind: ActionKind) -> None:
    rt = local_runtime(db_url, tmp_path / "landing", chunk_size=400)
    job_id = (
        _failed_job(rt)
        if kind is ActionKind.RETRY
        else ingest_file(rt, "a.csv", to_csv(_rows(24)))["id"]
    )
    with connect(db_url) as conn:
        conn.execute("UPDATE etl_jobs SET source_etag = NULL WHERE id = %s", (job_id,))
        conn.commit()
    refused = _run(rt, _request(kind, job_id))
    assert (refused.outcome, refused.code, refused.stored_etag) == (
        Outcome.REFUSED,
        ActionCode.ETAG_MISMATCH,
        None,
    )
    assert "legacy" in refused.message
    forced = _run(rt, _request(kind, job_id, force=True))
    assert forced.outcome is Outcome.SUCCEEDED, forced.message
    if forced.new_job_id is not None:  # an unverifiable version is never resumed from
        assert set(_chunk_attempts(db_url, forced.new_job_id)) == {1}


@pytest.mark.parametrize("kind", list(ActionKind), ids=str)
def test_missing_source_is_a_clear_refusal(db_url: str, tmp_path: Path, kind: ActionKind) -> None:
    rt = local_runtime(db_url, tmp_path / "landing", chunk_size=400)
    job_id = (
        _failed_job(rt)
        if kind is ActionKind.RETRY
        else ingest_file(rt, "a.csv", to_csv(_rows(24)))["id"]
    )
    (tmp_path / "landing" / "a.csv").unlink()
    for force in (False, True):
        result = _run(rt, _request(kind, job_id, force=force))
        assert (result.outcome, result.code) == (Outcome.REFUSED, ActionCode.SOURCE_MISSING)
        assert "a.csv" in result.message
    assert [r["code"] for r in _actions(db_url)] == ["ETL_SOURCE_MISSING"] * 2


@pytest.mark.parametrize("kind", list(ActionKind), ids=str)
def test_unknown_job_is_refused_and_recorded(db_url: str, tmp_path: Path, kind: ActionKind) -> None:
    rt = local_runtime(db_url, tmp_path / "landing")
    missing = uuid.uuid4()
    result = _run(rt, _request(kind, missing))
    assert (result.outcome, result.code) == (Outcome.REFUSED, ActionCode.NOT_FOUND)
    (row,) = _actions(db_url)
    assert row["target_job_id"] is None
    assert row["parameters"]["job_id"] == str(missing)


@pytest.mark.parametrize(
    ("kind", "status"),
    [
        (ActionKind.RETRY, "completed"),
        (ActionKind.RETRY, "running"),
        (ActionKind.RETRY, "cancelled"),
        (ActionKind.REPAIR, "running"),
        (ActionKind.REPAIR, "pending"),
        (ActionKind.REPAIR, "cancelled"),
        (ActionKind.RECONCILE, "running"),
    ],
    ids=lambda v: str(v),
)
def test_ineligible_status_is_refused(
    db_url: str, tmp_path: Path, kind: ActionKind, status: str
) -> None:
    rt = local_runtime(db_url, tmp_path / "landing", chunk_size=400)
    job_id = ingest_file(rt, "a.csv", to_csv(_rows(24)))["id"]
    with connect(db_url) as conn:
        conn.execute("UPDATE etl_jobs SET status = %s WHERE id = %s", (status, job_id))
        conn.commit()
    result = _run(rt, _request(kind, job_id))
    assert (result.outcome, result.code) == (Outcome.REFUSED, ActionCode.NOT_ELIGIBLE)
    assert status in result.message
    assert [r["outcome"] for r in _actions(db_url)] == ["refused"]


def test_second_retry_while_the_first_runs_is_refused(db_url: str, tmp_path: Path) -> None:
    rt = local_runtime(db_url, tmp_path / "landing", chunk_size=400)
    original = _failed_job(rt)
    first = actions.start_reingest(rt, _request(ActionKind.RETRY, original))
    assert first.outcome is Outcome.STARTED
    second = actions.start_reingest(rt, _request(ActionKind.REPAIR, original))
    assert (second.outcome, second.code) == (Outcome.REFUSED, ActionCode.ALREADY_IN_PROGRESS)
    assert str(first.new_job_id) in second.message
    assert [r["outcome"] for r in _actions(db_url)] == ["started", "refused"]


def test_racing_retries_create_one_job(db_url: str, tmp_path: Path) -> None:
    rt = local_runtime(db_url, tmp_path / "landing", chunk_size=400)
    original = _failed_job(rt)
    barrier = threading.Barrier(4)
    results: list[ActionResult] = []

    def attempt() -> None:
        barrier.wait()
        results.append(actions.start_reingest(rt, _request(ActionKind.RETRY, original)))

    threads = [threading.Thread(target=attempt) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    outcomes = sorted(str(r.outcome) for r in results)
    assert outcomes == ["refused", "refused", "refused", "started"]
    assert {r.code for r in results if r.refused} == {ActionCode.ALREADY_IN_PROGRESS}
    assert len(_actions(db_url)) == 4
    with connect(db_url) as conn:
        n = conn.execute(
            "SELECT count(*) AS n FROM etl_jobs WHERE supersedes_job_id = %s", (original,)
        ).fetchone()
    assert n is not None
    assert n["n"] == 1


def test_unique_index_settles_the_race_in_the_database(db_url: str, tmp_path: Path) -> None:
    rt = local_runtime(db_url, tmp_path / "landing", chunk_size=400)
    original = _failed_job(rt)
    with connect(db_url) as conn:
        job = get_job(conn, original)
        assert job is not None
        version = rt.store.head(job.object_key)
        made = [
            create_superseding_job(
                conn,
                job,
                mode=JobMode.RETRY,
                version=version,
                eligible_statuses=(JobStatus.FAILED,),
                default_chunk_size=400,
            )
            for _ in range(2)
        ]
        conn.commit()
    assert made[0] is not None
    assert made[1] is None


def test_retry_of_an_already_recovered_job_is_refused(db_url: str, tmp_path: Path) -> None:
    rt = local_runtime(db_url, tmp_path / "landing", chunk_size=400)
    original = _failed_job(rt)
    first = _reingest(rt, _request(ActionKind.RETRY, original))
    assert first.outcome is Outcome.SUCCEEDED
    again = _reingest(rt, _request(ActionKind.RETRY, original))
    assert (again.outcome, again.code) == (Outcome.REFUSED, ActionCode.NOT_ELIGIBLE)
    assert str(first.new_job_id) in again.message


def test_failed_retry_is_recorded_as_failed(db_url: str, tmp_path: Path) -> None:
    rt = local_runtime(db_url, tmp_path / "landing", chunk_size=400)
    original = _failed_job(rt)
    started = actions.start_reingest(rt, _request(ActionKind.RETRY, original))
    assert started.new_job_id is not None
    # The flow run ended without ever starting the job: the job is closed, the action failed.
    finished = actions.finish_reingest(rt, started, flow_run_id=None)
    assert (finished.outcome, finished.code) == (Outcome.FAILED, ActionCode.JOB_FAILED)
    assert job_row(db_url, started.new_job_id)["status"] == "failed"
    (row,) = _actions(db_url)
    assert (row["outcome"], row["code"], row["result_job_id"]) == (
        "failed",
        "ETL_JOB_FAILED",
        started.new_job_id,
    )
    with pytest.raises(InvalidArgumentError, match="only a started"):
        actions.finish_reingest(rt, finished, flow_run_id=None)
    # Its closed job no longer blocks the next retry.
    assert actions.start_reingest(rt, _request(ActionKind.RETRY, original)).new_job_id


def test_chain_over_repair_of_repair(db_url: str, tmp_path: Path) -> None:
    rt = local_runtime(db_url, tmp_path / "landing", chunk_size=400)
    first = ingest_file(rt, "a.csv", to_csv(_rows(24)))["id"]
    r1 = _reingest(rt, _request(ActionKind.REPAIR, first)).new_job_id
    assert r1 is not None
    r2 = _reingest(rt, _request(ActionKind.REPAIR, r1)).new_job_id
    assert r2 is not None
    with connect(db_url) as conn:
        details = {j: get_job_detail(conn, j) for j in (first, r1, r2)}
        trail = list_job_actions(conn, r1)
    for job_id, detail in details.items():
        assert detail is not None
        chain = detail.supersession_chain
        assert [c.id for c in chain] == [first, r1, r2]
        me = [first, r1, r2].index(job_id)
        assert [c.depth for c in chain] == [i - me for i in range(3)]
        assert [c.relation for c in chain] == [
            "replaces" if i < me else "self" if i == me else "replaced_by" for i in range(3)
        ]
        assert [c.mode for c in chain] == [JobMode.INGEST, JobMode.REPAIR, JobMode.REPAIR]
    assert details[r1] is not None
    assert details[r2] is not None
    assert details[first] is not None
    assert (details[r1].replaces, details[r1].replaced_by) == ([first], [r2])
    assert (details[r2].replaces, details[r2].replaced_by) == ([r1, first], [])
    assert (details[first].replaces, details[first].replaced_by) == ([], [r1, r2])
    # r1's trail: the action that created it, then the one that repaired it.
    assert [(a.result_job_id, a.target_job_id) for a in trail] == [(r1, first), (r2, r1)]
    assert all(a.outcome is Outcome.SUCCEEDED for a in trail)


@pytest.mark.parametrize("path", CORPUS, ids=[p.stem for p in CORPUS])
def test_reconcile_gives_delta_zero_on_every_corpus(
    db_url: str, tmp_path: Path, path: Path
) -> None:
    _check_reconcile_zero(db_url, tmp_path, path.read_bytes())


@pytest.mark.parametrize("name", sorted(DEMO))
def test_reconcile_gives_delta_zero_on_the_demo_files(
    db_url: str, tmp_path: Path, name: str
) -> None:
    _check_reconcile_zero(db_url, tmp_path, DEMO[name])


def _check_reconcile_zero(db_url: str, tmp_path: Path, data: bytes) -> None:
    rt = local_runtime(db_url, tmp_path / "landing", chunk_size=4096)
    job = ingest_file(rt, "f.csv", data)
    with connect(db_url) as conn:
        conn.execute(
            "UPDATE etl_jobs SET verified_row_count = NULL, verified_at = NULL, "
            "reconcile_delta = NULL WHERE id = %s",
            (job["id"],),
        )
        conn.commit()
    result = actions.reconcile_source(rt, _request(ActionKind.RECONCILE, job["id"]))
    assert (result.outcome, result.delta) == (Outcome.SUCCEEDED, 0), result.message
    assert result.expected == result.actual == job["total_processed"]
    after = job_row(db_url, job["id"])
    assert (after["verified_row_count"], after["reconcile_delta"]) == (result.expected, 0)
    assert after["verified_at"] == result.verified_at
    (row,) = _actions(db_url)
    assert (row["action"], row["outcome"], row["finished_at"] is not None) == (
        "reconcile",
        "succeeded",
        True,
    )


def test_reconcile_of_a_malformed_source_is_a_recorded_failure(db_url: str, tmp_path: Path) -> None:
    rt = local_runtime(db_url, tmp_path / "landing")
    rt.store.write("bad.csv", b'name,sku\n"open,1\n')
    trigger = steps.request_ingest(rt, source="s", uri_or_key="bad.csv", scraper_revision="r")
    steps.end_job(rt, trigger.job_id, JobStatus.FAILED, error_kind="x", error_message="y")
    result = actions.reconcile_source(rt, _request(ActionKind.RECONCILE, trigger.job_id))
    assert (result.outcome, result.code) == (Outcome.FAILED, ActionCode.RECONCILE_FAILED)
    assert "malformed_csv" in result.message
    (row,) = _actions(db_url)
    assert (row["outcome"], row["code"]) == ("failed", "ETL_RECONCILE_FAILED")


def _kill_own_backend(conn: Any) -> None:
    """End the server process of `conn` (as an operator or a failover would), and wait for it."""
    with connect(admin_dsn(conn), autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s, 5000)", (conn.info.backend_pid,))


@pytest.mark.parametrize("kind", list(ActionKind), ids=str)
def test_a_killed_connection_inside_an_action_is_transient(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kind: ActionKind
) -> None:
    rt = local_runtime(db_url, tmp_path / "landing", chunk_size=400)
    job_id = (
        _failed_job(rt)
        if kind is ActionKind.RETRY
        else ingest_file(rt, "a.csv", to_csv(_rows(24)))["id"]
    )
    real_check = actions.check_eligible

    def check_then_lose_the_connection(conn: Any, *args: Any) -> Any:
        refusal = real_check(conn, *args)
        _kill_own_backend(conn)
        return refusal

    monkeypatch.setattr(actions, "check_eligible", check_then_lose_the_connection)
    with pytest.raises(TransientError) as caught:
        _run(rt, _request(kind, job_id))
    assert isinstance(caught.value, DatabaseConnectionError)
    assert caught.value.kind == "database_unavailable"
    # Nothing was recorded on the lost connection, and no failed-action row was invented.
    assert _actions(db_url) == []
    monkeypatch.undo()
    again = _run(rt, _request(kind, job_id))  # what a retry of the action does
    assert again.outcome is Outcome.SUCCEEDED, again.message

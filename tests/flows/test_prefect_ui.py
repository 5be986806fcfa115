"""What an operator sees in the Prefect UI, read back from Prefect's API.

Run states, run and task names, tags, artifacts and run logs of the ingest, operator-action,
sweeper and maintenance flows (Prefect test server, real PostgreSQL, local landing folder).
"""

from __future__ import annotations

import asyncio
import re
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from catalog_lib.adapters.postgres import connect
from catalog_lib.core.sizes import parse_size
from catalog_lib.ingest import jobs, steps
from flows import ingest as ingest_module
from flows.runtime import get_runtime
from tests.factories import catalog_row, job_row, to_csv

pytestmark = [pytest.mark.flow, pytest.mark.postgres]

# Prefect's default names end in a random suffix (`aggregate-356`); none of ours may.
DEFAULT_NAME = re.compile(r"-[0-9a-f]{3}$")
MINUTE = r"\d{4}-\d\d-\d\d \d\d:\d\d"


def _rows(n: int) -> list[dict[str, str]]:
    rows = [catalog_row(i) for i in range(n)]
    rows[5] = catalog_row(5, sku="has space")
    return rows


def _trigger(key: str, data: bytes, *, source: str = "trailco") -> uuid.UUID:
    rt = get_runtime()
    rt.store.write(key, data)
    trigger = steps.request_ingest(
        rt, source=source, uri_or_key=key, scraper_revision="t", chunk_size=parse_size("2KiB")
    )
    assert trigger.created
    return trigger.job_id


def _api(call: Any) -> Any:
    from prefect.client.orchestration import get_client

    async def run() -> Any:
        async with get_client() as client:
            return await call(client)

    return asyncio.run(run())


def _flow_run(run_id: uuid.UUID) -> Any:
    return _api(lambda c: c.read_flow_run(run_id))


def _task_names(run_id: uuid.UUID, expect: frozenset[str] = frozenset()) -> list[str]:
    """The flow run's task run names, once every name in `expect` is there (or after 30 s).

    Task runs reach the server as events, which it writes asynchronously; under load the last
    ones can land a moment after the flow run has finished.
    """
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    deadline = time.monotonic() + 30
    while True:
        runs = _api(
            lambda c: c.read_task_runs(
                flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[run_id]))
            )
        )
        names = [t.name for t in runs]
        if expect <= set(names) or time.monotonic() > deadline:
            return names
        time.sleep(0.5)


def _artifacts(key: str) -> list[Any]:
    """Every version of the artifact `key`, newest first."""
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey
    from prefect.client.schemas.sorting import ArtifactSort

    return list(
        _api(
            lambda c: c.read_artifacts(
                artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=[key])),
                sort=ArtifactSort.CREATED_DESC,
            )
        )
    )


def _logs(run_id: uuid.UUID) -> list[Any]:
    from prefect.client.schemas.filters import LogFilter, LogFilterFlowRunId
    from prefect.logging.handlers import APILogHandler

    APILogHandler().flush()  # run logs are sent in the background

    return list(
        _api(
            lambda c: c.read_logs(
                log_filter=LogFilter(flow_run_id=LogFilterFlowRunId(any_=[run_id]))
            )
        )
    )


def _table(artifact: Any) -> list[dict[str, Any]]:
    import json

    data = artifact.data
    return json.loads(data) if isinstance(data, str) else data


# --- ingest: names, tags, artifacts, logs --------------------------------------------------


def test_cli_ingest_run_has_names_tags_and_a_per_source_summary(flow_env: Path) -> None:
    from flows.cli.jobs import _run_flow

    job_id = _trigger("v2/trailco/a.csv", to_csv(_rows(60)))
    _run_flow(get_runtime(), job_id, label="a.csv", show_progress=False)

    job = job_row(get_runtime().database_url, job_id)
    assert job["status"] == "completed"
    run = _flow_run(job["flow_run_id"])
    assert run.name == f"a.csv [{str(job_id)[:8]}]"
    assert {"source:trailco", "trigger:cli"} <= set(run.tags)
    partitions = job["apply_partitions"]
    expected = {"plan trailco", "count trailco", "aggregate trailco", "reconcile trailco"}
    expected |= {"publish trailco"}
    expected |= {f"apply-partition {p} of {partitions}" for p in range(1, partitions + 1)}
    names = _task_names(run.id, frozenset(expected))
    assert expected <= set(names)
    assert any(re.fullmatch(r"chunk-1 \[\d+\.\d–\d+\.\d KiB\]", n) for n in names), names
    assert [n for n in names if DEFAULT_NAME.search(n)] == []

    (summary,) = _table(_artifacts("ingest-trailco")[0])
    assert summary["status"] == "completed"
    assert summary["job_id"] == str(job_id)
    assert (summary["total_processed"], summary["total_invalid"]) == (60, 1)
    assert (summary["verified_row_count"], summary["reconcile_delta"]) == (60, 0)
    assert "sku" in summary["rejections"]
    assert "(1)" in summary["rejections"]

    messages = [log.message for log in _logs(run.id)]
    assert any(m.startswith(f"job {job_id} completed: 60 rows") for m in messages)
    product = [log.message for log in _logs(run.id) if log.name.startswith("catalog_lib")]
    assert product, "the product's own log lines reach the run logs"
    assert [m for m in product if m.lstrip().startswith("{")] == []  # readable, not JSON
    assert any(f"job_id={job_id}" in m for m in product), product


def test_a_run_started_from_prefect_itself_is_tagged_trigger_prefect(flow_env: Path) -> None:
    # A valid source name (`[a-z0-9][a-z0-9_.-]*`) that is not a valid artifact key.
    job_id = _trigger("trail_co.eu/a.csv", to_csv(_rows(10)), source="trail_co.eu")
    state = ingest_module.configured_flow()(job_id=str(job_id), label="x", return_state=True)
    assert state.is_completed(), state.message
    run = _flow_run(state.state_details.flow_run_id)
    assert {"source:trail_co.eu", "trigger:prefect"} <= set(run.tags)
    # Artifact keys allow lowercase letters, digits and dashes only.
    (summary,) = _table(_artifacts("ingest-trail-co-eu")[0])
    assert summary["job_id"] == str(job_id)


def test_a_failed_job_publishes_its_error_and_failed_chunk_to_the_source_history(
    flow_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import dataclasses

    from catalog_lib.core.errors import MalformedCsvError

    ok = _trigger("ok.csv", to_csv(_rows(20)))
    assert ingest_module.configured_flow()(
        job_id=str(ok), label="ok", return_state=True
    ).is_completed()

    job_id = _trigger("bad.csv", to_csv(_rows(60)))
    rt = get_runtime()
    planned = steps.plan_job(rt, job_id)
    victim = planned.chunks[1]
    real_read = rt.store.read_range

    class Broken:
        def __getattr__(self, name: str) -> Any:
            return getattr(rt.store, name)

        def read_range(self, uri: str, start: int, end: int, **kw: Any) -> bytes:
            if start == victim.byte_start:
                raise MalformedCsvError("bad bytes at the victim chunk")
            return real_read(uri, start, end, **kw)

    broken = dataclasses.replace(rt, store=Broken())
    monkeypatch.setattr(ingest_module, "get_runtime", lambda: broken)
    state = ingest_module.configured_flow()(job_id=str(job_id), label="bad", return_state=True)
    assert state.is_failed()

    history = _artifacts("ingest-trailco")  # one key per source: its history holds both jobs
    (failure,) = _table(history[0])
    assert (failure["job_id"], failure["status"]) == (str(job_id), "failed")
    assert failure["error_kind"] == "malformed_csv"
    assert "bad bytes" in failure["error_message"]
    assert failure["failed_step"] == f"chunk {victim.index}"
    (success,) = _table(history[1])
    assert (success["job_id"], success["status"]) == (str(ok), "completed")

    product = [log.message for log in _logs(state.state_details.flow_run_id)]
    assert any("etl.job.failed" in m and "error_kind=malformed_csv" in m for m in product), product


# --- Prefect's Retry button -------------------------------------------------------------------


def _rerun(flow_run_id: uuid.UUID, job_id: uuid.UUID) -> Any:
    """What Prefect's Retry button does: the same flow run, scheduled and run again."""
    from prefect.flow_engine import run_flow
    from prefect.states import Scheduled

    _api(lambda c: c.set_flow_run_state(flow_run_id, Scheduled(), force=True))
    return run_flow(
        ingest_module.configured_flow(),
        flow_run=_flow_run(flow_run_id),
        parameters={"job_id": str(job_id), "label": "test"},
        return_type="state",
    )


def test_prefect_retry_of_a_replaced_job_is_refused_with_the_replacement(
    flow_env: Path,
) -> None:
    from flows.operator_actions import retry_job

    get_runtime().store.write("bad.csv", b'name,sku\n"never closed,1\n')
    job_id = steps.request_ingest(
        get_runtime(), source="trailco", uri_or_key="bad.csv", scraper_revision="t"
    ).job_id
    first = ingest_module.configured_flow()(job_id=str(job_id), label="bad", return_state=True)
    assert first.is_failed()
    get_runtime().store.write("bad.csv", to_csv(_rows(10)))
    replaced = retry_job(job_id=str(job_id), actor="ana", reason="fixed file", force=True)
    assert replaced["outcome"] == "succeeded"

    again = _rerun(first.state_details.flow_run_id, job_id)

    assert again.is_failed()
    assert f"already replaced by job {replaced['new_job_id']}" in (again.message or "")
    job = job_row(get_runtime().database_url, job_id)
    assert (job["status"], job["error_kind"]) == ("failed", "malformed_csv")  # left alone


def test_prefect_retry_of_a_completed_job_is_refused(flow_env: Path) -> None:
    job_id = _trigger("a.csv", to_csv(_rows(10)))
    first = ingest_module.configured_flow()(job_id=str(job_id), label="a", return_state=True)
    assert first.is_completed()
    again = _rerun(first.state_details.flow_run_id, job_id)
    assert again.is_failed()
    assert "already completed" in (again.message or "")
    assert job_row(get_runtime().database_url, job_id)["status"] == "completed"


# --- operator actions: final state, log line, artifact -------------------------------------


def _failed_job(key: str = "a.csv") -> uuid.UUID:
    job_id = _trigger(key, b'name,sku\n"never closed,1\n')
    state = ingest_module.configured_flow()(job_id=str(job_id), label="x", return_state=True)
    assert state.is_failed()
    return job_id


def _action_artifact(kind: str, job_id: uuid.UUID) -> str:
    (artifact, *_) = _artifacts(f"{kind}-{job_id}")
    return str(artifact.data)


def test_a_succeeded_retry_ends_completed_with_its_artifact(flow_env: Path) -> None:
    from flows.operator_actions import retry_job

    job_id = _failed_job()
    get_runtime().store.write("a.csv", to_csv(_rows(10)))
    state = retry_job(
        job_id=str(job_id), actor="ana", reason="file fixed", force=True, return_state=True
    )

    assert state.is_completed()
    assert state.name == "Completed"
    doc = state.result()
    assert doc["outcome"] == "succeeded"
    run = _flow_run(state.state_details.flow_run_id)
    assert run.name == f"retry {str(job_id)[:8]} by ana"
    wanted = "check retry of " + str(job_id)[:8]
    assert wanted in _task_names(run.id, frozenset({wanted}))
    ingest_run = _flow_run(doc["flow_run_id"])
    assert "trigger:prefect" in ingest_run.tags  # the action's channel, passed on
    assert ingest_run.name == f"retry of {str(job_id)[:8]} [{str(doc['new_job_id'])[:8]}]"
    markdown = _action_artifact("retry", job_id)
    for text in (str(job_id), str(doc["new_job_id"]), "ana", "file fixed", "succeeded"):
        assert text in markdown
    assert f"flow-run/{doc['flow_run_id']}" in markdown  # the new job's run, linked
    assert any(log.message.startswith(f"retry of job {job_id}: succeeded") for log in _logs(run.id))


def test_a_failed_retry_ends_failed_with_its_artifact(flow_env: Path) -> None:
    from flows.operator_actions import action_document, retry_job

    job_id = _failed_job()
    state = retry_job(job_id=str(job_id), actor="ana", reason="try again", return_state=True)

    assert state.is_failed()
    doc = action_document(state)
    assert (doc["outcome"], doc["code"]) == ("failed", "ETL_JOB_FAILED")
    assert "ETL_JOB_FAILED" in (state.message or "")
    assert "ETL_JOB_FAILED" in _action_artifact("retry", job_id)
    levels = {
        log.level
        for log in _logs(state.state_details.flow_run_id)
        if log.message.startswith(f"retry of job {job_id}: failed")
    }
    assert levels == {40}


def test_a_refused_reconcile_ends_in_a_state_named_refused_with_both_etags(
    flow_env: Path,
) -> None:
    from flows.operator_actions import reconcile_job

    job_id = _trigger("a.csv", to_csv(_rows(10)))
    assert ingest_module.configured_flow()(
        job_id=str(job_id), label="a", return_state=True
    ).is_completed()
    get_runtime().store.write("a.csv", to_csv(_rows(11)))

    state = reconcile_job(job_id=str(job_id), actor="bo", reason="check", return_state=True)

    assert (state.type.value, state.name) == ("COMPLETED", "Refused")
    doc = state.result()
    assert (doc["outcome"], doc["code"]) == ("refused", "ETL_ETAG_MISMATCH")
    assert state.name == _flow_run(state.state_details.flow_run_id).state.name
    markdown = _action_artifact("reconcile", job_id)
    assert doc["stored_etag"] in markdown
    assert doc["live_etag"] in markdown
    assert "refusal" in markdown
    assert "bo" in markdown


def test_a_refused_retry_of_a_completed_job_is_named_refused(flow_env: Path) -> None:
    from flows.operator_actions import retry_job

    job_id = _trigger("a.csv", to_csv(_rows(10)))
    assert ingest_module.configured_flow()(
        job_id=str(job_id), label="a", return_state=True
    ).is_completed()
    state = retry_job(job_id=str(job_id), actor="bo", return_state=True)
    assert state.name == "Refused"
    assert state.result()["code"] == "ETL_NOT_ELIGIBLE"
    assert "ETL_NOT_ELIGIBLE" in _action_artifact("retry", job_id)


# --- sweeper and maintenance -------------------------------------------------------------------


def test_sweeper_run_is_named_by_time_and_logs_what_it_closed(flow_env: Path) -> None:
    from prefect import flow
    from prefect.states import Failed

    from flows.sweeper import job_state_sweeper

    @flow(name="ingest-catalog")
    def fake_ingest(job_id: str) -> None:
        """Stands in for a run that died."""

    job_id = _trigger("a.csv", to_csv(_rows(10)))
    dead = _api(lambda c: c.create_flow_run(fake_ingest, parameters={"job_id": str(job_id)}))
    _api(lambda c: c.set_flow_run_state(dead.id, Failed(message="died"), force=True))
    with connect(get_runtime().database_url) as conn:
        assert jobs.mark_running(conn, job_id, dead.id)

    state = job_state_sweeper(return_state=True)

    assert state.is_completed()
    run = _flow_run(state.state_details.flow_run_id)
    assert re.fullmatch(f"sweep {MINUTE}", run.name), run.name
    messages = [log.message for log in _logs(run.id)]
    assert any(re.fullmatch(r"examined \d+ open jobs, closed 1", m) for m in messages), messages
    assert any(m.startswith(f"closed job {job_id} (trailco)") for m in messages), messages
    assert [n for n in _task_names(run.id) if DEFAULT_NAME.search(n)] == []


def test_maintenance_runs_and_tasks_have_meaningful_names(flow_env: Path) -> None:
    from flows.maintenance import catalog_audit, retention_sweep

    sweep = retention_sweep(dry_run=True, return_state=True)
    audit = catalog_audit(return_state=True)
    assert sweep.is_completed()
    assert audit.is_completed()
    sweep_run = _flow_run(sweep.state_details.flow_run_id)
    audit_run = _flow_run(audit.state_details.flow_run_id)
    assert re.fullmatch(f"retention {MINUTE} \\(dry run\\)", sweep_run.name), sweep_run.name
    assert re.fullmatch(f"audit all sources {MINUTE}", audit_run.name), audit_run.name
    assert "audit all sources" in _task_names(audit_run.id, frozenset({"audit all sources"}))
    names = _task_names(sweep_run.id)
    assert any(re.fullmatch(r"sweep rejected rows older than \d+ days", n) for n in names), names
    assert [n for n in [*names, *_task_names(audit_run.id)] if DEFAULT_NAME.search(n)] == []

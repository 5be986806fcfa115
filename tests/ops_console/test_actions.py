"""Console actions against a real Prefect test server and the test database (AppTest).

A run the console creates is executed in this process with Prefect's flow engine (what a
served deployment does), so the operator action the flow records is the real one.
"""

from __future__ import annotations

import getpass
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from streamlit import config
from streamlit.testing.v1 import AppTest

from catalog_lib.adapters.postgres import connect
from catalog_lib.adapters.prefect_rest import DeploymentHealth, action_key
from catalog_lib.core.errors import InvalidArgumentError
from catalog_lib.core.settings import Settings
from catalog_lib.ingest import steps
from catalog_lib.ingest.jobs import JobStatus
from ops_console import actions
from ops_console.actions import dialogs, health, outcomes
from ops_console.triggers import Backend
from tests.factories import catalog_row, local_runtime, to_csv

pytestmark = [
    pytest.mark.console,
    pytest.mark.flow,
    pytest.mark.postgres,
    pytest.mark.slow,
]

DEPLOYMENT_FLOWS = {
    "retry-job": ("flows.operator_actions", "retry_job"),
    "repair-job": ("flows.operator_actions", "repair_job"),
    "reconcile-job": ("flows.operator_actions", "reconcile_job"),
    "ingest-catalog": ("flows.ingest", "ingest_catalog"),
}


def probe() -> None:
    """A page with the deployments banner, one job's actions, bulk retry and one flag."""
    import uuid

    import streamlit as st

    from ops_console import actions, auth

    operator = auth.current_operator()
    actions.deployments_banner()
    state = st.session_state
    if "job_id" in state:
        job = actions.backend().job(uuid.UUID(state["job_id"]))
        actions.job_actions(job, operator)
    if "bulk" in state:
        actions.bulk_retry([uuid.UUID(j) for j in state["bulk"]], operator)
    if "object" in state:
        actions.ingest_action("trailco", state["object"], operator)
    if "flag_id" in state:
        actions.flag_actions(state["flag_id"], operator)


def _flow(name: str) -> Any:
    import importlib

    module, function = DEPLOYMENT_FLOWS[name]
    return getattr(importlib.import_module(module), function)


def _poll_deployments(api: str, ids: list[str]) -> None:
    """What a runner does: poll its deployments (they turn READY, with `last_polled`)."""
    httpx.post(
        f"{api}/deployments/get_scheduled_flow_runs",
        json={"deployment_ids": ids, "limit": 1},
        timeout=10,
    ).raise_for_status()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        states = [httpx.get(f"{api}/deployments/{i}", timeout=10).json() for i in ids]
        if all(s["status"] == "READY" and s["last_polled"] for s in states):
            return
        time.sleep(0.3)
    raise AssertionError("the deployments did not turn READY")


def _register(api: str) -> dict[str, str]:
    ids = {}
    for name in DEPLOYMENT_FLOWS:
        existing = httpx.get(f"{api}/deployments/name/{name}/{name}", timeout=10)
        if existing.status_code == 200:
            httpx.delete(f"{api}/deployments/{existing.json()['id']}", timeout=10)
        ids[name] = str(_flow(name).to_deployment(name=name).apply())
    return ids


@pytest.fixture
def console(
    flow_env: Path,
    prefect_api: str,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Path]:
    """Local operator on loopback, the back end pointed at the test database and server."""
    before = config.get_option("server.address")
    config.set_option("server.address", "127.0.0.1")
    monkeypatch.setattr(outcomes, "RECORD_WAIT_S", 0.5)
    dialogs._build_backend.clear()
    health._health.clear()
    yield flow_env
    dialogs._build_backend.clear()
    health._health.clear()
    config.set_option("server.address", before)


@pytest.fixture
def served(console: Path, prefect_api: str) -> dict[str, str]:
    """The four console deployments registered and polled, as `catalog-etl serve` keeps them."""
    ids = _register(prefect_api)
    _poll_deployments(prefect_api, list(ids.values()))
    return ids


def _failed_job(rt: steps.Runtime, key: str) -> uuid.UUID:
    """A three-chunk job whose first chunk completed before it failed."""
    rt.store.write(key, to_csv([catalog_row(i) for i in range(24)]))
    trigger = steps.request_ingest(rt, source="trailco", uri_or_key=key, scraper_revision="r")
    steps.start_job(rt, trigger.job_id, None)
    planned = steps.plan_job(rt, trigger.job_id)
    steps.run_chunk(rt, trigger.job_id, planned.version, planned.header, planned.chunks[0])
    steps.end_job(rt, trigger.job_id, JobStatus.FAILED, error_kind="transient", error_message="x")
    return trigger.job_id


def _runtime(db_url: str, landing: Path) -> steps.Runtime:
    return local_runtime(db_url, landing, chunk_size=400)


def _app(**state: Any) -> AppTest:
    at = AppTest.from_function(probe, default_timeout=60)
    for key, value in state.items():
        at.session_state[key] = value
    return at.run()


def _button(at: AppTest, label: str) -> Any:
    matches = [b for b in at.button if b.label == label]
    assert matches, [b.label for b in at.button]
    return matches[0]


def _reason(at: AppTest) -> Any:
    (area,) = [t for t in at.text_area if t.label == "Reason (required)"]
    return area


def _texts(at: AppTest) -> str:
    elements = (*at.markdown, *at.success, *at.info, *at.warning, *at.error, *at.caption)
    return "\n".join(str(e.value) for e in elements)


def _run_flow_run(api: str, run_id: str) -> None:
    """Execute a created flow run in this process, as a served deployment would."""
    from prefect.client.orchestration import get_client
    from prefect.flow_engine import run_flow

    with get_client(sync_client=True) as client:
        flow_run = client.read_flow_run(uuid.UUID(run_id))
    deployment = httpx.get(f"{api}/deployments/{flow_run.deployment_id}", timeout=10).json()
    run_flow(_flow(deployment["name"]), flow_run=flow_run, parameters=flow_run.parameters)


def _runs(api: str, deployment_id: str) -> list[dict[str, Any]]:
    response = httpx.post(
        f"{api}/flow_runs/filter",
        json={
            "flow_runs": {"deployment_id": {"any_": [deployment_id]}},
            "sort": "EXPECTED_START_TIME_DESC",
        },
        timeout=10,
    )
    response.raise_for_status()
    return list(response.json())


def _actions_of(db_url: str, job_id: uuid.UUID) -> list[dict[str, Any]]:
    with connect(db_url) as conn:
        return conn.execute(
            "SELECT * FROM operator_actions WHERE target_job_id = %s ORDER BY id", (job_id,)
        ).fetchall()


def test_retry_starts_the_deployment_and_the_flow_records_the_operator(
    console: Path,
    served: dict[str, str],
    prefect_api: str,
    db_url: str,
) -> None:
    rt = _runtime(db_url, console)
    job_id = _failed_job(rt, "a.csv")
    at = _app(job_id=str(job_id))
    assert not at.exception
    assert not at.warning
    assert not at.error
    at = _button(at, "Retry").click().run()
    # The dialog: target, stored vs live ETag, a disabled confirm until a reason is given.
    assert str(job_id)[:8] in _texts(at)
    table = at.table[0].value
    assert list(table["ETag"]) == [rt.store.head("a.csv").etag] * 2
    assert _button(at, "Confirm retry").disabled
    at = _reason(at).input("the database was restarted").run()
    confirm = _button(at, "Confirm retry")
    assert not confirm.disabled
    at = confirm.click().run()
    assert not at.exception, at.exception

    (run,) = _runs(prefect_api, served["retry-job"])
    assert "trigger:console" in run["tags"]
    assert run["parameters"] == {
        "job_id": str(job_id),
        "actor": getpass.getuser(),
        "reason": "the database was restarted",
        "force": False,
        "channel": "console",
    }
    assert run["idempotency_key"].startswith(f"retry-job:{job_id}:ui-")
    assert "waiting for it to record the action" in _texts(at)

    _run_flow_run(prefect_api, run["id"])

    at = at.run()  # the outcome panel reads what the flow recorded
    (action,) = _actions_of(db_url, job_id)
    assert action["actor"] == getpass.getuser()
    assert action["action"] == "retry"
    assert action["outcome"] == "succeeded"
    assert action["reason"] == "the database was restarted"
    assert action["parameters"]["channel"] == "console"
    new_job = action["result_job_id"]
    with connect(db_url) as conn:
        status = conn.execute("SELECT status FROM etl_jobs WHERE id = %s", (new_job,)).fetchone()
    assert status == {"status": "completed"}
    text = _texts(at)
    assert f"new job [`{str(new_job)[:8]}`](jobs?job={new_job}) is **completed**" in text
    assert f"/runs/flow-run/{run['id']}" in text
    assert f"operator action #{action['id']} by {getpass.getuser()}" in text


def test_etag_mismatch_shows_both_etags_and_needs_a_deliberate_force(
    console: Path,
    served: dict[str, str],
    prefect_api: str,
    db_url: str,
) -> None:
    rt = _runtime(db_url, console)
    job_id = _failed_job(rt, "b.csv")
    stored = rt.store.head("b.csv").etag
    rt.store.write("b.csv", to_csv([catalog_row(i) for i in range(30)]))
    live = rt.store.head("b.csv").etag
    assert stored != live
    at = _app(job_id=str(job_id))
    at = _button(at, "Retry").click().run()
    assert list(at.table[0].value["ETag"]) == [stored, live]
    warning = " ".join(str(w.value) for w in at.warning)
    assert stored in warning
    assert live in warning
    assert "changed" in warning
    at = _reason(at).input("new export").run()
    assert _button(at, "Confirm retry").disabled  # a reason alone is not enough
    assert "tick Force" in _texts(at)
    (force,) = [c for c in at.checkbox if c.label.startswith("Force")]
    at = force.check().run()
    at = _button(at, "Confirm retry").click().run()
    (run,) = _runs(prefect_api, served["retry-job"])
    assert run["parameters"]["force"] is True


def test_flow_refusal_is_shown_with_both_etags(
    console: Path,
    served: dict[str, str],
    prefect_api: str,
    db_url: str,
) -> None:
    """The source changes between the dialog and the run: the flow refuses and says why."""
    rt = _runtime(db_url, console)
    job_id = _failed_job(rt, "c.csv")
    stored = rt.store.head("c.csv").etag
    backend = Backend.from_settings(Settings(), prefect_api=prefect_api)
    submitted = backend.start_action(
        "retry", job_id, actor="ops@example.com", reason="r", force=False, token="t1"
    )
    rt.store.write("c.csv", to_csv([catalog_row(i) for i in range(31)]))
    live = rt.store.head("c.csv").etag
    _run_flow_run(prefect_api, str(submitted.run.id))
    at = AppTest.from_function(probe, default_timeout=60)
    at.session_state[f"console_tracked_{job_id}"] = [actions.Tracked.of_submitted(submitted)]
    at.session_state["job_id"] = str(job_id)
    at = at.run()
    error = " ".join(str(e.value) for e in at.error)
    assert "Retry refused" in error
    assert "ETL_ETAG_MISMATCH" in error
    assert f"stored={stored}" in error
    assert f"live={live}" in error
    (action,) = _actions_of(db_url, job_id)
    assert (action["outcome"], action["actor"]) == ("refused", "ops@example.com")


def test_deployments_not_served_are_reported_and_block_actions(
    console: Path,
    prefect_api: str,
    db_url: str,
) -> None:
    ids = _register(prefect_api)  # registered, but nothing polls them
    rt = _runtime(db_url, console)
    job_id = _failed_job(rt, "d.csv")
    at = _app(job_id=str(job_id))
    banner = " ".join(str(w.value) for w in at.warning)
    assert "not being served" in banner
    assert "wait forever" in banner
    assert "retry-job/retry-job has never been served" in banner
    at = _button(at, "Retry").click().run()
    assert "Nothing would run this" in " ".join(str(e.value) for e in at.error)
    at = _reason(at).input("try anyway").run()
    assert _button(at, "Confirm retry").disabled
    assert _runs(prefect_api, ids["retry-job"]) == []


def test_banner_without_or_with_an_unreachable_prefect_api(
    console: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PREFECT_API_URL")
    at = _app()
    assert "no Prefect API is configured" in " ".join(str(w.value) for w in at.warning)
    monkeypatch.setenv("PREFECT_API_URL", "http://127.0.0.1:9/api")
    at = _app()
    assert "cannot be reached" in " ".join(str(e.value) for e in at.error)


def test_bulk_retry_starts_one_run_per_failed_job(
    console: Path,
    served: dict[str, str],
    prefect_api: str,
    db_url: str,
) -> None:
    rt = _runtime(db_url, console)
    failed = [_failed_job(rt, f"bulk-{i}.csv") for i in range(2)]
    rt.store.write("done.csv", to_csv([catalog_row(i) for i in range(5)]))
    done = steps.request_ingest(rt, source="trailco", uri_or_key="done.csv", scraper_revision="r")
    at = _app(bulk=[str(j) for j in [*failed, done.job_id]])
    at = _button(at, "Retry 3 selected").click().run()
    rows = at.dataframe[0].value
    assert sorted(rows["check"]) == ["ok", "ok", "skipped (pending)"]
    at = _reason(at).input("batch of wrongly failed jobs").run()
    at = _button(at, "Confirm retry of 2").click().run()
    assert not at.exception, at.exception
    runs = _runs(prefect_api, served["retry-job"])
    assert sorted(r["parameters"]["job_id"] for r in runs) == sorted(map(str, failed))
    assert {r["parameters"]["reason"] for r in runs} == {"batch of wrongly failed jobs"}


def test_ingest_action_creates_the_job_and_records_the_operator(
    console: Path,
    served: dict[str, str],
    prefect_api: str,
    db_url: str,
) -> None:
    rt = _runtime(db_url, console)
    version = rt.store.write("new.csv", to_csv([catalog_row(i) for i in range(5)]))
    at = _app(object="new.csv")
    at = _button(at, "Ingest").click().run()
    assert list(at.table[0].value["ETag"]) == [version.etag]
    at = _reason(at).input("scraper webhook was down").run()
    at = _button(at, "Confirm ingest").click().run()
    assert not at.exception, at.exception
    (run,) = _runs(prefect_api, served["ingest-catalog"])
    assert {"source:trailco", "trigger:console"} <= set(run["tags"])
    job_id = uuid.UUID(run["parameters"]["job_id"])
    (action,) = _actions_of(db_url, job_id)
    assert (action["action"], action["actor"], action["outcome"]) == (
        "ingest",
        getpass.getuser(),
        "succeeded",
    )
    assert action["parameters"]["channel"] == "console"
    assert action["flow_run_id"] == uuid.UUID(run["id"])
    assert f"new job [`{str(job_id)[:8]}`]" in _texts(at)
    # The same object again: refused as a duplicate of the live job, and recorded.
    at = _app(object="new.csv")
    at = _button(at, "Ingest").click().run()
    at = _reason(at).input("again").run()
    at = _button(at, "Confirm ingest").click().run()
    errors = " ".join(str(e.value) for e in at.error)
    assert "already ingested or being ingested" in errors, _texts(at)
    assert len(_runs(prefect_api, served["ingest-catalog"])) == 1  # the same run, not a second


def test_flag_ack_records_the_operator_action(console: Path, db_url: str) -> None:
    with connect(db_url) as conn:
        snapshot = conn.execute(
            "INSERT INTO audit_snapshots (source) VALUES ('trailco') RETURNING id"
        ).fetchone()
        assert snapshot is not None
        flag = conn.execute(
            "INSERT INTO audit_flags (snapshot_id, source, code, label) "
            "VALUES (%s, 'trailco', 'stale', 'no file for 40 days') RETURNING id",
            (snapshot["id"],),
        ).fetchone()
        assert flag is not None
        flag_id = flag["id"]
        conn.commit()
    at = _app(flag_id=flag_id)
    at = _button(at, "Acknowledge").click().run()
    assert _button(at, "Confirm acknowledge").disabled
    at = _reason(at).input("known outage").run()
    at = _button(at, "Confirm acknowledge").click().run()
    assert f"Flag #{flag_id} acknowledged" in " ".join(str(s.value) for s in at.success)
    with connect(db_url) as conn:
        row = conn.execute(
            "SELECT actor, action, reason FROM operator_actions WHERE target_flag_id = %s",
            (flag_id,),
        ).fetchone()
    assert row is not None
    assert row["actor"] == getpass.getuser()
    assert row["reason"] == "known outage"


def test_action_key_names_one_request_and_its_choices() -> None:
    job = uuid.uuid4()
    first = action_key("retry-job", job, "token-1", False, "why")
    assert first == action_key("retry-job", job, "token-1", False, "why")
    assert first != action_key("retry-job", job, "token-1", True, "why")
    assert first != action_key("retry-job", job, "token-2", False, "why")
    assert first.startswith(f"retry-job:{job}:ui-")
    with pytest.raises(InvalidArgumentError, match="token"):
        action_key("retry-job", job, "")


def test_deployment_health_rules() -> None:
    from datetime import UTC, datetime, timedelta

    now = datetime(2026, 1, 1, tzinfo=UTC)
    fresh = DeploymentHealth("a/a", True, "READY", False, now - timedelta(seconds=20), now)
    assert fresh.served
    assert fresh.problem is None
    stale = DeploymentHealth("a/a", True, "READY", False, now - timedelta(minutes=5), now)
    assert not stale.served
    assert "not being served" in str(stale.problem)
    assert "paused" in str(DeploymentHealth("a/a", True, "READY", True, now, now).problem)
    assert "not registered" in str(DeploymentHealth("a/a", False, checked_at=now).problem)
    not_ready = DeploymentHealth("a/a", True, "NOT_READY", False, now, now)
    assert not not_ready.served

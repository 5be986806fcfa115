"""`catalog-etl retry | repair | reconcile` and the action flows (Prefect test server, real PG)."""

from __future__ import annotations

import getpass
import json
import uuid
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from catalog_lib.adapters.postgres import connect
from catalog_lib.ingest import steps
from catalog_lib.ingest.jobs import JobStatus
from catalog_lib.ops import actions
from catalog_lib.ops.action_log import ActionKind, ActionRequest
from flows.cli.app import app
from flows.runtime import get_runtime
from tests.factories import catalog_row, catalog_snapshot, job_row, run_steps, to_csv

pytestmark = [pytest.mark.flow, pytest.mark.postgres]

ROOT = Path(__file__).resolve().parents[3]
ACTION_KEYS = {
    "action",
    "job_id",
    "new_job_id",
    "flow_run_id",
    "refused",
    "code",
    "message",
    "stored_etag",
    "live_etag",
}


def _cli(*args: str, env: dict[str, str] | None = None) -> tuple[int, Any]:
    result = CliRunner().invoke(app, list(args), env=env)
    try:
        document = json.loads(result.stdout)
    except json.JSONDecodeError:
        document = result.output
    return result.exit_code, document


def _rows(n: int) -> list[dict[str, str]]:
    rows = [catalog_row(i) for i in range(n)]
    rows[2] = catalog_row(2, productUrl="ftp://files.example.com/x")
    return rows


def _failed_job(landing: Path, key: str = "a.csv", *, done: int = 2) -> uuid.UUID:
    """A multi-chunk job whose first `done` chunks completed before it failed."""
    (landing / key).write_bytes(to_csv(_rows(30)))
    rt = get_runtime()
    trigger = steps.request_ingest(
        rt, source="trailco", uri_or_key=key, scraper_revision="t", chunk_size=600
    )
    steps.start_job(rt, trigger.job_id, None)
    planned = steps.plan_job(rt, trigger.job_id)
    assert len(planned.chunks) > done + 1
    for spec in planned.chunks[:done]:
        steps.run_chunk(rt, trigger.job_id, planned.version, planned.header, spec)
    steps.end_job(rt, trigger.job_id, JobStatus.FAILED, error_kind="crashed", error_message="sweep")
    return trigger.job_id


def _completed_job(landing: Path, key: str = "a.csv") -> dict[str, Any]:
    """A completed multi-chunk job, ingested without the orchestrator (faster)."""
    (landing / key).write_bytes(to_csv(_rows(30)))
    rt = get_runtime()
    trigger = steps.request_ingest(
        rt, source="trailco", uri_or_key=key, scraper_revision="t", chunk_size=600
    )
    job = run_steps(rt, trigger.job_id)
    assert job["status"] == "completed"
    assert job["chunks_total"] > 2
    return {"job_id": str(job["id"]), "chunks": job["chunks_total"]}


def _repair(job_id: str) -> str:
    """Repair a job through the library, as the repair-job flow does."""
    rt = get_runtime()
    request = ActionRequest(kind=ActionKind.REPAIR, job_id=uuid.UUID(job_id), actor="t")
    started = actions.start_reingest(rt, request)
    assert started.new_job_id is not None
    run_steps(rt, started.new_job_id)
    assert actions.finish_reingest(rt, started, flow_run_id=None).outcome == "succeeded"
    return str(started.new_job_id)


def _actions() -> list[dict[str, Any]]:
    with connect(get_runtime().database_url) as conn:
        return conn.execute("SELECT * FROM operator_actions ORDER BY id").fetchall()


def test_retry_resumes_from_the_ledger_and_records_the_action(flow_env: Path) -> None:
    original = _failed_job(flow_env)
    code, doc = _cli(
        "retry", str(original), "--reason", "false-failed by the sweep", "--actor", "ana", "--json"
    )
    assert code == 0, doc
    assert set(doc) >= ACTION_KEYS
    assert (doc["action"], doc["outcome"], doc["refused"], doc["code"]) == (
        "retry",
        "succeeded",
        False,
        None,
    )
    new = doc["new_job"]
    assert (new["job_id"], new["status"], new["mode"]) == (doc["new_job_id"], "completed", "retry")
    assert new["supersedes_job_id"] == str(original)
    attempts = [c["attempts"] for c in new["ledger"]]
    assert attempts[:2] == [0, 0]
    assert set(attempts[2:]) == {1}
    assert (new["total_processed"], new["total_invalid"], new["reconcile_delta"]) == (30, 1, 0)
    assert doc["flow_run_id"] == new["flow_run_id"] is not None
    assert doc["stored_etag"] == doc["live_etag"] == new["source_etag"]
    (row,) = _actions()
    assert (row["actor"], row["action"], row["reason"], row["outcome"]) == (
        "ana",
        "retry",
        "false-failed by the sweep",
        "succeeded",
    )
    assert str(row["flow_run_id"]) == doc["flow_run_id"]
    assert str(row["result_job_id"]) == doc["new_job_id"]
    assert row["target_job_id"] == original
    assert row["parameters"] == {"force": False, "job_id": str(original), "channel": "cli"}
    assert job_row(get_runtime().database_url, original)["status"] == "failed"


def test_repair_reprocesses_every_chunk_with_the_same_catalog(flow_env: Path) -> None:
    first = _completed_job(flow_env)
    catalog = catalog_snapshot(get_runtime().database_url)
    code, doc = _cli("repair", first["job_id"], "--json")
    assert code == 0, doc
    new = doc["new_job"]
    assert (new["mode"], new["status"], new["chunks"]) == ("repair", "completed", first["chunks"])
    assert {c["attempts"] for c in new["ledger"]} == {1}
    assert catalog_snapshot(get_runtime().database_url) == catalog
    (row,) = _actions()
    assert row["actor"] == getpass.getuser()  # default actor: the OS user


@pytest.mark.parametrize("action", ["retry", "repair", "reconcile"])
def test_overwritten_source_is_refused_unless_forced(flow_env: Path, action: str) -> None:
    job_id = str(_failed_job(flow_env)) if action == "retry" else _completed_job(flow_env)["job_id"]
    stored = job_row(get_runtime().database_url, uuid.UUID(job_id))["source_etag"]
    (flow_env / "a.csv").write_bytes(to_csv(_rows(33)))
    live = get_runtime().store.head("a.csv").etag
    # Neither an environment variable nor an absent flag can force the action.
    env = {"CATALOG_FORCE": "1", "FORCE": "true", "CATALOG_ETL_FORCE": "true"}
    code, doc = _cli(action, job_id, "--json", env=env)
    assert code == 2, doc
    assert (doc["refused"], doc["code"], doc["stored_etag"], doc["live_etag"]) == (
        True,
        "ETL_ETAG_MISMATCH",
        stored,
        live,
    )
    assert doc["new_job_id"] is None
    if action == "retry":
        code, text = _cli(action, job_id)
        assert code == 2
        assert "ETL_ETAG_MISMATCH" in text
        assert stored in text
        assert live in text
    code, forced = _cli(action, job_id, "--force", "--json")
    assert code == 0, forced
    assert (forced["refused"], forced["outcome"], forced["force"]) == (False, "succeeded", True)
    if action == "reconcile":
        assert (forced["expected"], forced["actual"], forced["delta"]) == (33, 30, 3)
    else:
        assert forced["new_job"]["total_processed"] == 33
        assert {c["attempts"] for c in forced["new_job"]["ledger"]} == {1}  # re-planned
    refusals = 2 if action == "retry" else 1
    rows = _actions()
    assert [(r["outcome"], r["code"], r["parameters"]["force"]) for r in rows] == [
        ("refused", "ETL_ETAG_MISMATCH", False)
    ] * refusals + [("succeeded", None, True)]


def test_force_takes_no_value() -> None:
    code, _ = _cli("retry", str(uuid.uuid4()), "--force=false", "--json")
    assert code == 2


def test_reconcile_prints_expected_actual_delta(flow_env: Path) -> None:
    job = _completed_job(flow_env)
    code, text = _cli("reconcile", job["job_id"])
    assert code == 0, text
    assert "expected 30" in text
    assert "actual   30" in text
    assert "delta    0" in text
    code, doc = _cli("reconcile", job["job_id"], "--json")
    assert (code, doc["expected"], doc["actual"], doc["delta"]) == (0, 30, 30, 0)
    assert doc["flow_run_id"] is not None
    assert doc["new_job_id"] is None
    after = job_row(get_runtime().database_url, uuid.UUID(job["job_id"]))
    assert (after["verified_row_count"], after["reconcile_delta"]) == (30, 0)
    assert [r["action"] for r in _actions()] == ["reconcile", "reconcile"]


def test_refusals_exit_two_and_are_recorded(flow_env: Path) -> None:
    job = _completed_job(flow_env)
    code, doc = _cli("retry", job["job_id"], "--json")
    assert (code, doc["code"]) == (2, "ETL_NOT_ELIGIBLE")
    missing = str(uuid.uuid4())
    code, doc = _cli("repair", missing, "--json")
    assert (code, doc["code"]) == (2, "ETL_NOT_FOUND")
    (flow_env / "a.csv").unlink()
    code, doc = _cli("reconcile", job["job_id"], "--json")
    assert (code, doc["code"]) == (2, "ETL_SOURCE_MISSING")
    assert [(r["action"], r["outcome"]) for r in _actions()] == [
        ("retry", "refused"),
        ("repair", "refused"),
        ("reconcile", "refused"),
    ]
    code, _ = _cli("retry", "not-a-uuid", "--json")
    assert code == 2
    assert len(_actions()) == 3


def test_a_retry_whose_job_fails_again_exits_one(flow_env: Path) -> None:
    (flow_env / "bad.csv").write_bytes(b'name,sku\n"never closed,1\n')
    code, doc = _cli("ingest", "trailco", "bad.csv", "--json")
    assert (code, doc["error_kind"]) == (1, "malformed_csv")
    code, retried = _cli("retry", doc["job_id"], "--json")
    assert code == 1, retried
    assert (retried["outcome"], retried["code"]) == ("failed", "ETL_JOB_FAILED")
    assert retried["new_job"]["status"] == "failed"
    assert retried["flow_run_id"]
    (row,) = _actions()
    assert (row["outcome"], str(row["flow_run_id"])) == ("failed", retried["flow_run_id"])


def test_job_show_lists_the_chain_in_both_directions(flow_env: Path) -> None:
    first = _completed_job(flow_env)["job_id"]
    r1 = _repair(first)
    r2 = _repair(r1)
    code, shown = _cli("job", "show", r1, "--json")
    assert code == 0
    assert [c["id"] for c in shown["supersession_chain"]] == [first, r1, r2]
    assert [c["relation"] for c in shown["supersession_chain"]] == [
        "replaces",
        "self",
        "replaced_by",
    ]
    assert (shown["replaces"], shown["replaced_by"]) == ([first], [r2])
    assert [a["action"] for a in shown["operator_actions"]] == ["repair", "repair"]
    code, text = _cli("job", "show", r1)
    assert code == 0
    assert "supersession chain" in text
    assert f"replaces: {first}" in text
    assert f"replaced by: {r2}" in text
    assert "replaced by this job" in text
    assert "replaces this job" in text


@pytest.mark.parametrize(
    ("deployment", "flow_name"),
    [("retry-job", "retry-job"), ("repair-job", "repair-job"), ("reconcile-job", "reconcile-job")],
)
def test_prefect_yaml_deploys_the_action_flows(deployment: str, flow_name: str) -> None:
    from prefect.flows import Flow, load_flow_from_entrypoint

    config = yaml.safe_load((ROOT / "prefect.yaml").read_text())
    entries = {d["name"]: d for d in config["deployments"]}
    entry = entries[deployment]
    assert entry["work_pool"]["name"] == entries["ingest-catalog"]["work_pool"]["name"]
    path, _, function = entry["entrypoint"].partition(":")
    loaded = load_flow_from_entrypoint(f"{ROOT / path}:{function}")
    assert isinstance(loaded, Flow)
    assert loaded.name == flow_name


def test_deployment_parameter_force_is_parsed_not_coerced(flow_env: Path) -> None:
    from flows.operator_actions import reconcile_job

    job = _completed_job(flow_env)
    (flow_env / "a.csv").write_bytes(to_csv(_rows(31)))
    # What a deployment run receives from the console or the Prefect UI: strings.
    state = reconcile_job(job_id=job["job_id"], actor="ui", force="false", return_state=True)  # type: ignore[arg-type]
    assert state.result()["code"] == "ETL_ETAG_MISMATCH"

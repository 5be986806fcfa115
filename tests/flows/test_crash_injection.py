"""Crash injection: SIGKILL the process running an ingest at seeded points, then recover.

Each trial kills the worker at a failpoint (`catalog_lib.core.failpoints`) — before, inside
and after a chunk's transaction, inside and after an apply partition's transaction, before,
inside and after the publish transaction, right after the job's lease is taken — then lets the
sweeper and a retry finish, and checks the outcome against one clean run of the same file:
`catalog_items`, the completed job's provenance and rejected rows identical, exact totals,
reconcile delta 0, and no job left pending or running. The trials run under a real
`catalog-etl serve` (the runner's flow-run subprocess is what dies); one more kills a
`catalog-etl ingest` process, which no supervisor reports: only the job's liveness lease shows
that its runner is gone.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from catalog_lib.adapters.postgres import connect
from catalog_lib.core.failpoints import FAILPOINTS_FILE_ENV
from catalog_lib.ingest import steps
from flows.runtime import get_runtime
from tests.factories import (
    catalog_row,
    catalog_snapshot,
    invalid_snapshot,
    job_row,
    provenance_skus,
    to_csv,
)
from tests.flows.serving import CLI, ROOT, serve_process, wait_for

# Each trial starts a flow-run process (importing Prefect takes seconds): allow the time. On a
# shared 2-core machine 18 of the 20 trials took 900 s, so the budget is 1800 s.
pytestmark = [pytest.mark.flow, pytest.mark.postgres, pytest.mark.slow, pytest.mark.timeout(1800)]

KEY = "v2/trailco/crash.csv"
CHUNK_SIZE = 4096
ROWS = 240
PARTITIONS = 4
TRIALS = 20
SEED = 20261204
# (failpoint, hits that can reach it in one run) — the n-th hit of a point is drawn below it.
POINTS: tuple[tuple[str, int], ...] = (
    ("ingest.after_lease", 1),
    ("chunk.before_tx", 8),
    ("chunk.in_tx", 8),
    ("chunk.after_commit", 8),
    ("apply.in_tx", PARTITIONS),
    ("apply.after_commit", PARTITIONS),
    ("ingest.before_finalize", 1),
    ("publish.in_tx", 1),
    ("ingest.after_finalize", 1),
)


@dataclass(frozen=True)
class Outcome:
    """What a finished ingest left behind, without ids, timestamps or job references."""

    items: list[dict[str, Any]]
    provenance: list[str]
    invalid: list[tuple[Any, ...]]
    totals: tuple[int, int, int]


def _rows() -> bytes:
    rows = [catalog_row(i) for i in range(ROWS)]
    # Rejected rows and a repeated SKU, so merge, invalid logs and ordinals all take part.
    rows[7] = catalog_row(7, sku="has space")
    rows[150] = catalog_row(150, price="free")
    rows[200] = catalog_row(3, name="Trail Tent 3 (newer row)")
    return to_csv(rows)


def _trials() -> list[str]:
    rng = random.Random(SEED)
    specs = [f"{name}@{rng.randint(1, hits)}" for name, hits in POINTS for _ in range(2)]
    while len(specs) < TRIALS:
        name, hits = rng.choice(POINTS)
        specs.append(f"{name}@{rng.randint(1, hits)}")
    rng.shuffle(specs)
    return specs


def _trigger() -> uuid.UUID:
    return steps.request_ingest(
        get_runtime(), source="trailco", uri_or_key=KEY, scraper_revision="t", chunk_size=CHUNK_SIZE
    ).job_id


def _outcome(db_url: str, job_id: uuid.UUID) -> Outcome:
    job = job_row(db_url, job_id)
    assert job["status"] == "completed"
    assert job["reconcile_delta"] == 0
    assert job["verified_row_count"] == job["total_processed"] == ROWS
    return Outcome(
        items=catalog_snapshot(db_url),
        provenance=provenance_skus(db_url, job_id),
        invalid=invalid_snapshot(db_url, job_id),
        totals=(job["total_processed"], job["total_valid"], job["total_invalid"]),
    )


def _open_jobs(db_url: str) -> int:
    with connect(db_url) as conn:
        row = conn.execute(
            "SELECT count(*) AS n FROM etl_jobs WHERE status IN ('pending', 'running')"
        ).fetchone()
    return int(row["n"]) if row else -1


def _reset(db_url: str) -> None:
    with connect(db_url) as conn:
        conn.execute(
            "TRUNCATE catalog_item_etl_jobs, catalog_items, invalid_item_logs, etl_staged_items, "
            "etl_job_chunks, operator_actions, etl_jobs CASCADE"
        )
        conn.commit()


def _recover(db_url: str, job_id: uuid.UUID) -> uuid.UUID:
    """Sweep, then retry the job if it failed; the completed job of the chain."""
    from flows.operator_actions import retry_job
    from flows.sweeper import sweep_now

    sweep_now(db_url)
    job = job_row(db_url, job_id)
    if job["status"] == "completed":
        return job_id
    assert job["status"] == "failed", job
    result = retry_job(job_id=str(job_id), actor="crash-test", reason="crash trial", force=False)
    assert result["outcome"] == "succeeded", result
    return uuid.UUID(str(result["new_job_id"]))


@pytest.fixture
def crash_env(flow_env: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Settings of the trials: small chunks, fixed partitions; the file in the landing folder."""
    monkeypatch.setenv("CATALOG_APPLY_PARTITIONS", str(PARTITIONS))
    get_runtime.cache_clear()
    get_runtime().store.write(KEY, _rows())
    return flow_env


def _reference(db_url: str) -> Outcome:
    from flows.ingest import configured_flow

    job_id = _trigger()
    state = configured_flow()(job_id=str(job_id), label="reference", return_state=True)
    assert state.is_completed(), state.message
    outcome = _outcome(db_url, job_id)
    _reset(db_url)
    return outcome


def test_seeded_kills_under_serve_recover_exactly(crash_env: Path, tmp_path: Path) -> None:
    from prefect.client.orchestration import get_client

    db_url = get_runtime().database_url
    reference = _reference(db_url)
    assert reference.totals == (ROWS, ROWS - 2, 2)
    failpoints = tmp_path / "failpoints"
    log = tmp_path / "serve.log"
    with (
        serve_process(log, **{FAILPOINTS_FILE_ENV: str(failpoints)}),
        get_client(sync_client=True) as client,
    ):
        deployment = wait_for(
            lambda: _deployment(client), 120, "serve to register its deployments", log
        )
        for trial, spec in enumerate(_trials()):
            failpoints.write_text(spec)
            job_id = _trigger()
            run = client.create_flow_run_from_deployment(
                deployment.id,
                parameters={"job_id": str(job_id), "label": f"crash {spec}"},
                idempotency_key=f"crash-trial:{trial}:{job_id}",
            )
            wait_for(
                lambda run_id=run.id: _is_final(client, run_id), 180, f"trial {spec} to end", log
            )
            failpoints.write_text("")
            final = _recover(db_url, job_id)
            assert _outcome(db_url, final) == reference, f"trial {trial}: {spec}"
            assert _open_jobs(db_url) == 0, f"trial {trial}: {spec}"
            _reset(db_url)


def _deployment(client: Any) -> Any:
    from prefect.exceptions import ObjectNotFound

    try:
        return client.read_deployment_by_name("ingest-catalog/ingest-catalog")
    except ObjectNotFound:
        return None


def _is_final(client: Any, run_id: uuid.UUID) -> bool:
    state = client.read_flow_run(run_id).state
    return state is not None and state.is_final()


def _cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", CLI, *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_a_killed_catalog_etl_ingest_is_swept_and_retried(crash_env: Path, tmp_path: Path) -> None:
    db_url = get_runtime().database_url
    reference = _reference(db_url)
    failpoints = tmp_path / "failpoints"
    failpoints.write_text("chunk.in_tx@3")
    env = {**os.environ, FAILPOINTS_FILE_ENV: str(failpoints)}
    killed = _cli("ingest", "trailco", KEY, "--chunk-size", str(CHUNK_SIZE), "--json", env=env)
    assert killed.returncode == -9, killed.stderr[-2000:]
    with connect(db_url) as conn:
        row = conn.execute("SELECT id, status FROM etl_jobs").fetchone()
    assert row is not None
    assert row["status"] == "running"
    job_id = row["id"]

    # Nothing reports the dead process: Prefect still shows its run RUNNING. The lease says it.
    swept = json.loads(_cli("sweep", "--json", env=env).stdout)
    assert swept["closed"] == 1, swept
    assert swept["jobs"][0]["error_kind"] == "runner_lost"
    assert job_row(db_url, job_id)["error_kind"] == "runner_lost"

    failpoints.write_text("")
    retried = _cli("retry", str(job_id), "--reason", "runner killed", "--json", env=env)
    assert retried.returncode == 0, retried.stderr[-2000:]
    new_job = uuid.UUID(json.loads(retried.stdout)["new_job_id"])
    assert _outcome(db_url, new_job) == reference
    assert _open_jobs(db_url) == 0

"""The job-state sweeper against a real `catalog-etl serve` whose processes are SIGKILLed.

What this proves: `serve` runs `ingest-catalog` deployment runs; after SIGKILL of the whole
serving process group (runner and flow-run process, so no one reports), Prefect still shows the
run RUNNING and the sweeper leaves the job alone however long it has been running; once the run
is CRASHED — set through the API exactly as the heartbeat automation's `change-flow-run-state`
action does after 90 s of silence — the sweeper closes the job as failed/`crashed`, bound to
that run, and the catalog is untouched (the apply phase had not begun).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from catalog_lib.adapters.postgres import connect
from catalog_lib.ingest import steps
from flows.runtime import get_runtime
from flows.stack.serve_process import read_serve
from tests.factories import catalog_row, job_row, to_csv

pytestmark = [pytest.mark.flow, pytest.mark.postgres, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
CLI = "from flows.cli.app import main; main()"


def _processes_with_env(marker: str) -> list[int]:
    """PIDs (other than ours) whose environment contains `marker`."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            environ = (entry / "environ").read_bytes()
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state != "Z" and marker.encode() in environ.split(b"\0"):
            found.append(int(entry.name))
    return found


@pytest.fixture
def serving(flow_env: Path, tmp_path: Path) -> Iterator[subprocess.Popen[bytes]]:
    """A `catalog-etl serve --no-webhook` on the test Prefect server; killed afterwards."""
    marker = f"CATALOG_SWEEPER_TEST={uuid.uuid4()}"
    env = {
        **os.environ,
        "PREFECT_RUNNER_POLL_FREQUENCY": "1",
        marker.split("=", 1)[0]: marker.split("=", 1)[1],
    }
    log = (tmp_path / "serve.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-c", CLI, "serve", "--no-webhook"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        yield process
    finally:
        for pid in [process.pid, *_processes_with_env(marker)]:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        process.wait(timeout=30)
        log.close()
        assert _processes_with_env(marker) == []


def _wait(predicate: Any, timeout_s: float, what: str, log: Path) -> Any:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}:\n{log.read_text()[-4000:]}")


def test_sweeper_closes_the_job_of_a_killed_serve_run(
    serving: subprocess.Popen[bytes], flow_env: Path, tmp_path: Path
) -> None:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.objects import StateType
    from prefect.states import Crashed

    from flows.sweeper import sweep_now

    log = tmp_path / "serve.log"
    rt = get_runtime()
    # Many tiny chunks: the run is still loading chunks when it is killed.
    rt.store.write("v2/trailco/big.csv", to_csv([catalog_row(i) for i in range(4000)]))
    job_id = steps.request_ingest(
        rt, source="trailco", uri_or_key="v2/trailco/big.csv", scraper_revision="t", chunk_size=4096
    ).job_id
    home = Path(os.environ["CATALOG_HOME"]).resolve()
    served = _wait(lambda: read_serve(home), 120, "the serve record", log)
    assert served.pid == serving.pid and served.webhook is None

    with get_client(sync_client=True) as client:
        deployment = client.read_deployment_by_name("ingest-catalog/ingest-catalog")
        run = client.create_flow_run_from_deployment(
            deployment.id,
            parameters={"job_id": str(job_id), "label": "crash-test"},
            idempotency_key=f"ingest-catalog:{job_id}:1",
        )
        _wait(lambda: job_row(rt.database_url, job_id)["status"] == "running", 120, "run", log)
        os.killpg(serving.pid, signal.SIGKILL)
        serving.wait(timeout=30)
        time.sleep(1.0)

        state = client.read_flow_run(run.id).state
        assert state is not None and state.type is StateType.RUNNING
        untouched = sweep_now(rt.database_url)
        assert not any(j.closed for j in untouched.jobs)
        assert job_row(rt.database_url, job_id)["status"] == "running"

        # What the crash-on-missed-heartbeat automation does once the heartbeats stop.
        client.set_flow_run_state(
            run.id, Crashed(message="Flow run marked as crashed after missing heartbeats.")
        )
        report = sweep_now(rt.database_url)

    swept = {j.job_id: j for j in report.jobs}[job_id]
    assert (swept.closed, swept.run_state, swept.error_kind) == (True, "CRASHED", "crashed")
    job = job_row(rt.database_url, job_id)
    assert (job["status"], job["error_kind"]) == ("failed", "crashed")
    assert job["flow_run_id"] == run.id
    with connect(rt.database_url) as conn:
        applied = conn.execute(
            "SELECT count(*) AS n FROM etl_job_chunks WHERE job_id = %s AND phase = 'apply'",
            (job_id,),
        ).fetchone()
        items = conn.execute("SELECT count(*) AS n FROM catalog_items").fetchone()
    assert applied is not None and applied["n"] == 0
    assert items is not None and items["n"] == 0

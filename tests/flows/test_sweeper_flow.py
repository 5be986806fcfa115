"""The job-state sweeper against a real `catalog-etl serve` whose processes are SIGKILLed.

What this proves: `serve` runs `ingest-catalog` deployment runs; after SIGKILL of the whole
serving process group (runner and flow-run process, so no one reports), Prefect still shows the
run RUNNING — yet the sweeper closes the job at once as failed/`runner_lost`, because the
job's liveness lease (a PostgreSQL advisory lock held by the process running it) died with the
process: no clock and no heartbeat automation is needed. The catalog is untouched (the apply
phase had not begun), and a later CRASHED state (what the heartbeat automation sets after 90 s
of silence) finds nothing more to close.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from catalog_lib.adapters.postgres import connect
from catalog_lib.ingest import steps
from flows.runtime import get_runtime
from flows.stack.serve_process import read_serve
from tests.factories import catalog_row, job_row, to_csv
from tests.flows.serving import serve_process, wait_for

pytestmark = [pytest.mark.flow, pytest.mark.postgres, pytest.mark.slow]


@pytest.fixture
def serving(flow_env: Path, tmp_path: Path) -> Iterator[subprocess.Popen[bytes]]:
    """A `catalog-etl serve --no-webhook` on the test Prefect server; killed afterwards."""
    with serve_process(tmp_path / "serve.log") as process:
        yield process


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
    served = wait_for(lambda: read_serve(home), 120, "the serve record", log)
    assert served.pid == serving.pid
    assert served.webhook is None

    with get_client(sync_client=True) as client:
        deployment = client.read_deployment_by_name("ingest-catalog/ingest-catalog")
        run = client.create_flow_run_from_deployment(
            deployment.id,
            parameters={"job_id": str(job_id), "label": "crash-test"},
            idempotency_key=f"ingest-catalog:{job_id}:1",
        )
        wait_for(lambda: job_row(rt.database_url, job_id)["status"] == "running", 120, "run", log)
        os.killpg(serving.pid, signal.SIGKILL)
        serving.wait(timeout=30)
        time.sleep(1.0)

        state = client.read_flow_run(run.id).state
        assert state is not None
        assert state.type is StateType.RUNNING
        report = sweep_now(rt.database_url)
        swept = {j.job_id: j for j in report.jobs}[job_id]
        assert (swept.closed, swept.run_state, swept.error_kind) == (
            True,
            "RUNNING",
            "runner_lost",
        )
        job = job_row(rt.database_url, job_id)
        assert (job["status"], job["error_kind"]) == ("failed", "runner_lost")
        assert str(run.id) in job["error_message"]
        assert job["flow_run_id"] == run.id

        # What the crash-on-missed-heartbeat automation does once the heartbeats stop.
        client.set_flow_run_state(
            run.id, Crashed(message="Flow run marked as crashed after missing heartbeats.")
        )
        assert sweep_now(rt.database_url).closed == 0

    with connect(rt.database_url) as conn:
        applied = conn.execute(
            "SELECT count(*) AS n FROM etl_job_chunks WHERE job_id = %s AND phase = 'apply'",
            (job_id,),
        ).fetchone()
        items = conn.execute("SELECT count(*) AS n FROM catalog_items").fetchone()
    assert applied is not None
    assert applied["n"] == 0
    assert items is not None
    assert items["n"] == 0

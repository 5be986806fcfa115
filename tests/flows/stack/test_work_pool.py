"""`catalog-etl serve --pool` (what `up --pool` starts): a process worker runs the deployments."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

import pytest

from catalog_lib.ingest import steps
from flows.runtime import get_runtime
from flows.stack.deployments import DEPLOYMENTS
from tests.factories import catalog_row, job_row, to_csv
from tests.flows.serving import serve_process, wait_for

POOL = "catalog-etl-pool-test"


def test_up_pool_starts_serve_with_the_pool_and_records_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from catalog_lib.core.errors import ConfigurationError
    from flows.stack import serve_process
    from flows.stack.serve_process import ServeProcess, read_serve, start_serve, write_record
    from flows.stack.work_pool import DEFAULT_POOL

    started: list[list[str]] = []

    class Exited:
        returncode = 3

        def __init__(self, args: list[str], **_: object) -> None:
            started.append(args)

        def poll(self) -> int:
            return self.returncode

    monkeypatch.setattr(serve_process.subprocess, "Popen", Exited)
    with pytest.raises(ConfigurationError, match="exited with code 3"):
        start_serve(tmp_path, "http://127.0.0.1:1/api", pool=DEFAULT_POOL, timeout_s=5)
    assert started[0][-3:] == ["serve", "--pool", "catalog-etl"]
    start_serve_args = started.pop()
    with pytest.raises(ConfigurationError):
        start_serve(tmp_path, "http://127.0.0.1:1/api", timeout_s=5)
    assert "--pool" not in started[0]
    assert start_serve_args[:-2] == started[0]

    write_record(tmp_path, ServeProcess(os.getpid(), None, "http://x/api", None, pool=POOL))
    recorded = read_serve(tmp_path)
    assert recorded is not None
    assert recorded.pool == POOL


@pytest.mark.flow
@pytest.mark.postgres
@pytest.mark.slow
def test_serve_pool_runs_an_ingest_on_a_process_worker(flow_env: Path, tmp_path: Path) -> None:
    from prefect.client.orchestration import get_client
    from prefect.exceptions import ObjectNotFound

    log = tmp_path / "serve.log"
    rt = get_runtime()
    rt.store.write("v2/trailco/a.csv", to_csv([catalog_row(i) for i in range(20)]))
    job_id = steps.request_ingest(
        rt, source="trailco", uri_or_key="v2/trailco/a.csv", scraper_revision="t"
    ).job_id

    with (
        get_client(sync_client=True) as client,
        serve_process(log, args=("--pool", POOL), PREFECT_WORKER_QUERY_SECONDS="1"),
    ):

        def on_pool() -> object:
            try:
                found = client.read_deployment_by_name("ingest-catalog/ingest-catalog")
            except ObjectNotFound:
                return None
            return found if found.work_pool_name == POOL else None

        try:
            deployment = wait_for(on_pool, 180, "the deployments on the pool", log)
            assert client.read_work_pool(POOL).type == "process"
            run = client.create_flow_run_from_deployment(
                deployment.id, parameters={"job_id": str(job_id), "label": "pool"}
            )
            wait_for(
                lambda: job_row(rt.database_url, job_id)["status"] == "completed",
                240,
                "the ingest on the worker",
                log,
            )
            # The job is final before its flow run returns: wait for the run's own state.
            finished = wait_for(
                lambda: (r := client.read_flow_run(run.id)).state_type.value == "COMPLETED" and r,
                60,
                "the flow run to complete",
                log,
            )
            assert finished.work_pool_name == POOL
            workers = client.read_workers_for_work_pool(POOL)
            assert [w.name for w in workers if w.name.startswith(f"{POOL}-")]
            for spec in DEPLOYMENTS:
                assert client.read_deployment_by_name(spec.full_name).work_pool_name == POOL
        finally:
            # Other tests serve these deployments without a pool: leave none behind.
            for spec in DEPLOYMENTS:
                with contextlib.suppress(ObjectNotFound):
                    client.delete_deployment(client.read_deployment_by_name(spec.full_name).id)
            with contextlib.suppress(ObjectNotFound):
                client.delete_work_pool(POOL)

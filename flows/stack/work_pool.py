"""`catalog-etl serve --pool NAME` (what `catalog-etl up --pool` starts): a process worker.

Instead of serving the deployments from the process itself (`prefect.serve`), the deployments
are registered on a process work pool (created if missing) and this process runs a Prefect
process worker on it, so Prefect's "Work Pools" page shows the pool, its worker and its runs.
Each deployment's pull step sets the working directory to this checkout, so flow-run processes
load the same code (`flows/...` entrypoints, as in prefect.yaml). Importing this module does
not import prefect.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
from pathlib import Path
from typing import Any

from flows.stack.deployments import DEPLOYMENTS, flow_and_schedules
from flows.stack.serve_process import HEARTBEAT_FREQUENCY_S

DEFAULT_POOL = "catalog-etl"
POOL_TYPE = "process"
PROJECT_DIR = Path(__file__).resolve().parents[2]


def ensure_work_pool(name: str) -> bool:
    """Create the process work pool `name` unless it exists; True when it was created."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import WorkPoolCreate
    from prefect.exceptions import ObjectAlreadyExists, ObjectNotFound

    with get_client(sync_client=True) as client:
        try:
            pool = client.read_work_pool(name)
        except ObjectNotFound:
            try:
                client.create_work_pool(WorkPoolCreate(name=name, type=POOL_TYPE))
            except ObjectAlreadyExists:  # another process created it meanwhile
                return False
            return True
    if pool.type != POOL_TYPE:
        from catalog_lib.core.errors import ConfigurationError

        raise ConfigurationError(
            "the work pool exists with another type", pool=name, type=pool.type
        )
    return False


def build_pool_deployments(pool: str) -> list[Any]:
    """Every deployment of `flows.stack.deployments`, to run on `pool` from this checkout."""
    from prefect.runner.storage import LocalStorage

    built = []
    for spec in DEPLOYMENTS:
        flow, schedules = flow_and_schedules(spec)
        deployment = flow.to_deployment(
            name=spec.name,
            schedules=schedules,
            parameters=dict(spec.parameters),
            work_pool_name=pool,
            job_variables={"env": {"PREFECT_FLOWS_HEARTBEAT_FREQUENCY": HEARTBEAT_FREQUENCY_S}},
        )
        # The entrypoint relative to the checkout, whatever the current directory is; the
        # pull step makes the flow-run process start there.
        deployment.entrypoint = spec.entrypoint
        deployment.storage = LocalStorage(path=str(PROJECT_DIR))
        built.append(deployment)
    return built


def apply_pool_deployments(pool: str) -> None:
    """Create the pool (if missing) and register every deployment on it."""
    ensure_work_pool(pool)
    for deployment in build_pool_deployments(pool):
        deployment.apply(work_pool_name=pool)


def release_pool_deployments() -> int:
    """Delete our deployments that sit on a work pool, so `serve` registers them pool-less.

    Prefect updates a deployment in place and keeps its pool, so after `serve --pool` a plain
    `serve` would leave runs queued on a pool that no worker polls any more. Returns how many.
    """
    from prefect.client.orchestration import get_client
    from prefect.exceptions import ObjectNotFound

    deleted = 0
    with get_client(sync_client=True) as client:
        for spec in DEPLOYMENTS:
            try:
                found = client.read_deployment_by_name(spec.full_name)
            except ObjectNotFound:
                continue
            if found.work_pool_name:
                client.delete_deployment(found.id)
                deleted += 1
    return deleted


def worker_name(pool: str) -> str:
    """`<pool>-<host>-<pid>`: one name per worker process, as the Work Pools page lists it."""
    return f"{pool}-{socket.gethostname()}-{os.getpid()}"


def run_worker(pool: str) -> None:
    """Run a process worker on `pool` until SIGTERM or SIGINT."""
    from prefect.workers.process import ProcessWorker

    def stop(signum: int, frame: Any) -> None:  # noqa: ARG001 - signal handler signature
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)

    async def work() -> None:
        async with ProcessWorker(work_pool_name=pool, name=worker_name(pool)) as worker:
            await worker.start()

    try:
        asyncio.run(work())
    except KeyboardInterrupt:
        return

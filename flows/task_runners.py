"""Where an ingest job's tasks run: a thread pool, a process pool or a Dask cluster.

`CATALOG_TASK_RUNNER` picks one (threads by default: on a 2-core machine Prefect's process
pool was slower, because every task run sets up its own engine in the worker process;
docs/scaling.md has the numbers). Either pool runs at most `CATALOG_CHUNK_CONCURRENCY` chunk
tasks at once (the flow keeps that window itself) plus the reconcile count that reads the file
beside them, and a process pool never has more workers than cores. Each task opens one
PostgreSQL connection, so the concurrency setting (+1) is also the job's connection budget.
"""

from __future__ import annotations

import os
from typing import Any

from prefect.task_runners import ProcessPoolTaskRunner, ThreadPoolTaskRunner

from catalog_lib.core.settings import Settings, get_settings


def cores() -> int:
    """CPU cores this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def thread_pool(max_workers: int) -> Any:
    """Prefect's thread pool (typed Any: its generic annotations refuse the concrete runner)."""
    return ThreadPoolTaskRunner(max_workers=max_workers)


class ConfiguredTaskRunner(ThreadPoolTaskRunner[Any]):
    """The runner of the flow as deployed: each run gets the runner the settings ask for then.

    Prefect starts every flow run with `flow.task_runner.duplicate()`, so a deployment (served
    or on a work pool, whose flow object is imported once) honours `CATALOG_TASK_RUNNER` and
    `CATALOG_CHUNK_CONCURRENCY` as set when the run starts, like `configured_flow()` does.
    """

    def duplicate(self) -> Any:
        """The configured runner for one flow run."""
        return task_runner(get_settings())


def deployed_task_runner() -> Any:
    """The flow decorator's runner (typed Any like `thread_pool`)."""
    return ConfiguredTaskRunner(max_workers=16)


def task_runner(settings: Settings) -> Any:
    """The task runner the settings ask for."""
    if settings.task_runner == "dask":
        return _dask_runner(settings)
    if settings.task_runner == "processes":
        return ProcessPoolTaskRunner(
            max_workers=max(1, min(settings.chunk_concurrency + 1, cores()))
        )
    return thread_pool(settings.chunk_concurrency + 1)  # + the count beside the chunks


def _dask_runner(settings: Settings) -> Any:
    """prefect-dask's runner: the scheduler at dask_address, else a local cluster per run."""
    from prefect_dask.task_runners import DaskTaskRunner  # late: dask takes a second to import

    if settings.dask_address:
        return DaskTaskRunner(address=settings.dask_address)
    return DaskTaskRunner(
        cluster_kwargs={
            "n_workers": settings.dask_workers,
            "threads_per_worker": 1,
            "processes": settings.dask_processes,
            "dashboard_address": None,
        }
    )

"""A terminal progress bar of a job's chunks, read from the ledger while its flow runs."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from catalog_lib.adapters.postgres import Connection, connect
from catalog_lib.core.errors import CatalogError
from catalog_lib.ops.reports import get_job_progress

JobLocator = Callable[[Connection], uuid.UUID | None]


@contextmanager
def chunk_progress(
    database_url: str, label: str, locate_job: JobLocator, *, enabled: bool
) -> Iterator[None]:
    """Show `completed/total chunks` of the job `locate_job` finds (polled every 0.5 s)."""
    if not enabled:
        yield
        return
    done = threading.Event()
    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("chunks"),
        TimeElapsedColumn(),
        console=Console(stderr=True),
    ) as bar:
        task = bar.add_task(label, total=None)
        found: list[uuid.UUID] = []

        def refresh(conn: Connection) -> None:
            # Once found, the job is kept: it stays the one shown after it leaves `running`.
            if not found:
                job_id = locate_job(conn)
                if job_id is None:
                    return
                found.append(job_id)
            completed, total = get_job_progress(conn, found[0])
            if total:
                bar.update(task, total=total, completed=completed)

        def poll() -> None:
            # A progress bar must never break the command: a lost connection ends the polling.
            with suppress(CatalogError), connect(database_url, autocommit=True) as conn:
                while not done.wait(0.5):
                    refresh(conn)
                refresh(conn)  # the final figures, so a finished job ends at N/N

        poller = threading.Thread(target=poll, daemon=True)
        poller.start()
        try:
            yield
        finally:
            done.set()
            poller.join(timeout=5)

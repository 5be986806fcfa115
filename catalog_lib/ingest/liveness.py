"""Job liveness without a clock: the process running a job holds a lease on it in PostgreSQL.

The lease is a session advisory lock keyed by the job id, taken before the job moves to
`running` and given back only after the job is final. PostgreSQL drops a session's locks when
its connection ends, so a runner that dies in any way (SIGKILL, OOM kill, a closed terminal, a
lost machine) frees the lease at once. A `running` job whose lease is free has no runner: the
sweeper closes it (`runner_lost`) whatever its flow run claims, and needs no wall clock to do
so. Looking at a lease reads `pg_locks`; it never takes the lock.

Connection convention: `acquire_lease` opens the lease's own connection (it must live exactly
as long as the run); the readers take an open connection from the caller.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

import psycopg

from catalog_lib.adapters.postgres import connect, load_query
from catalog_lib.core.errors import CatalogError, JobLeaseHeldError
from catalog_lib.ingest.jobs import discard_unpublished

log = logging.getLogger(__name__)

# Advisory-lock namespace of job leases ("JOBL"); the migration lock uses a one-key lock, so
# the two can never collide.
LEASE_NAMESPACE = 0x4A4F424C


def lease_key(job_id: uuid.UUID) -> int:
    """The lease key of a job: the first 31 bits of its id (list_open_jobs.sql computes the same).

    Two live jobs sharing a key only make a dead one look alive (the sweeper leaves it), never
    the reverse.
    """
    return int.from_bytes(job_id.bytes[:4], "big") & 0x7FFFFFFF


def _params(job_id: uuid.UUID) -> dict[str, int]:
    return {"namespace": LEASE_NAMESPACE, "key": lease_key(job_id)}


class JobLease:
    """A held lease: an open session that owns the job's advisory lock until `release`."""

    def __init__(self, conn: psycopg.Connection[Any], job_id: uuid.UUID) -> None:
        """Wrap a connection that already holds the lock of `job_id`."""
        self._conn = conn
        self.job_id = job_id

    @property
    def is_held(self) -> bool:
        """Whether this lease's session is still open (its lock then still stands)."""
        return not self._conn.closed

    def release(self) -> None:
        """Give the lease back and close its session; safe to call twice or after a failure."""
        if self._conn.closed:
            return
        try:
            self._conn.execute(load_query("job_lease_release"), _params(self.job_id))
        except CatalogError as exc:
            # Closing the session below frees the lock anyway.
            log.warning(
                "could not release a job lease explicitly",
                extra={
                    "event": "etl.lease.release_failed",
                    "job_id": str(self.job_id),
                    "error_name": type(exc).__name__,
                },
            )
        finally:
            self._conn.close()


def acquire_lease(database_url: str, job_id: uuid.UUID) -> JobLease:
    """Take the job's lease on a session of its own; refuse when a live process holds it.

    Raises:
        JobLeaseHeldError: another process is running this job now.
    """
    conn = connect(database_url, autocommit=True)
    try:
        row = conn.execute(load_query("job_lease_acquire"), _params(job_id)).fetchone()
    except BaseException:
        conn.close()
        raise
    if not row or not row["acquired"]:
        conn.close()
        raise JobLeaseHeldError("another process is running this job", job_id=job_id)
    return JobLease(conn, job_id)


def is_leased(conn: psycopg.Connection[Any], job_id: uuid.UUID) -> bool:
    """Whether a live process holds the job's lease (reads pg_locks; takes nothing)."""
    row = conn.execute(load_query("job_lease_held"), _params(job_id)).fetchone()
    return bool(row and row["held"])


def close_if_runner_lost(conn: psycopg.Connection[Any], job_id: uuid.UUID, message: str) -> bool:
    """Running → failed (`runner_lost`) if, in this very statement, nobody holds the lease."""
    with conn.transaction():
        row = conn.execute(
            load_query("job_close_runner_lost"),
            {**_params(job_id), "id": job_id, "message": message},
        ).fetchone()
        if row is not None:
            # A job that ends unpublished drops what it prepared (never half-applied).
            discard_unpublished(conn, job_id)
    conn.commit()
    return row is not None

"""The console's trigger back end refuses bad inputs with InvalidArgumentError, before any IO."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from catalog_lib.core.errors import InvalidArgumentError
from ops_console.triggers import Backend
from ops_console.triggers.targets import JobTarget

NOTHING: Any = None  # a dependency the check must refuse before touching


def _backend() -> Backend:
    return Backend(database_url="unused", store=NOTHING, prefect_api=None, chunk_size=1)


def test_actions_and_ingests_need_a_reason() -> None:
    backend = _backend()
    with pytest.raises(InvalidArgumentError, match="a reason is required"):
        backend.start_action("retry", uuid.uuid4(), actor="a", reason="  ", force=False, token="t")
    with pytest.raises(InvalidArgumentError, match="a reason is required"):
        backend.ingest(source="trailco", object_key="a.csv", actor="a", reason="")


def test_only_a_cancelled_job_is_retried_through_a_new_ingest() -> None:
    job = JobTarget(
        id=uuid.uuid4(),
        status="failed",
        source="trailco",
        object_key="a.csv",
        source_etag=None,
        source_size=None,
    )
    with pytest.raises(InvalidArgumentError, match="only a cancelled job"):
        _backend().retry_cancelled(job, actor="a", reason="r", force=False)

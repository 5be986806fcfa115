"""Argument failures raise the error tree's InvalidArgumentError (never builtins), one per family.

Every check runs before any IO, so no database, store or Prefect API is needed: the unused
dependencies are passed as None.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from catalog_lib.adapters.prefect_rest import action_key
from catalog_lib.adapters.storage.base import check_block_size, check_range
from catalog_lib.core.errors import (
    ConfigurationError,
    InvalidArgumentError,
    TerminalError,
)
from catalog_lib.ingest import applying, jobs, steps
from catalog_lib.ingest.jobs import JobMode, JobStatus
from catalog_lib.ops import actions, audit, overview
from catalog_lib.ops.action_log import ActionKind, ActionRequest
from catalog_lib.ops.retention import RetentionPolicy
from catalog_lib.rules.signing import sign
from flows.stack.deployments import get_deployment

NOTHING: Any = None  # a dependency the check must refuse before touching


def test_invalid_argument_is_terminal_with_its_own_kind() -> None:
    error = InvalidArgumentError("limit must be positive", limit=0)
    assert isinstance(error, TerminalError)
    assert not isinstance(error, ValueError)
    assert error.kind == "invalid_argument"
    assert str(error) == "limit must be positive (limit=0)"


def test_job_filter_and_pages_refuse_bad_arguments() -> None:
    with pytest.raises(InvalidArgumentError, match=r"unknown job states: \['done'\]"):
        overview.JobFilter(statuses=("done",))
    with pytest.raises(InvalidArgumentError, match=r"limit must be positive.*limit=0"):
        overview.find_jobs(NOTHING, overview.JobFilter(), limit=0)
    now = datetime.now(UTC)
    with pytest.raises(InvalidArgumentError, match="the window and the bucket must be positive"):
        overview.job_series(NOTHING, since=now, until=now + timedelta(hours=1), bucket=timedelta())


@pytest.mark.parametrize("force", ["false", 1, None], ids=repr)
def test_action_request_refuses_a_non_boolean_force(force: Any) -> None:
    with pytest.raises(InvalidArgumentError, match="force must be a bool") as caught:
        ActionRequest(kind=ActionKind.RETRY, job_id=uuid.uuid4(), actor="a", force=force)
    assert caught.value.fields["force"] == repr(force)


def test_action_request_and_ui_actions_need_an_actor_and_a_reason() -> None:
    with pytest.raises(InvalidArgumentError, match="an operator action needs an actor"):
        ActionRequest(kind=ActionKind.RETRY, job_id=uuid.uuid4(), actor="  ")
    common: dict[str, Any] = {
        "action": "ingest",
        "target_job_id": None,
        "result_job_id": uuid.uuid4(),
        "flow_run_id": None,
        "parameters": {},
    }
    with pytest.raises(InvalidArgumentError, match="needs an actor"):
        actions.record_triggered("unused", actor=" ", reason="r", **common)
    with pytest.raises(InvalidArgumentError, match="a reason is required"):
        actions.record_triggered("unused", actor="a", reason=" ", **common)


def test_action_entry_points_refuse_the_wrong_kind() -> None:
    reconcile = ActionRequest(kind=ActionKind.RECONCILE, job_id=uuid.uuid4(), actor="a")
    retry = ActionRequest(kind=ActionKind.RETRY, job_id=uuid.uuid4(), actor="a")
    with pytest.raises(InvalidArgumentError, match="reconcile is not a re-ingest"):
        actions.start_reingest(NOTHING, reconcile)
    with pytest.raises(InvalidArgumentError, match="handles reconcile requests only"):
        actions.reconcile_source(NOTHING, retry)


def test_flag_state_changes_need_a_reason_and_a_positive_mute() -> None:
    with pytest.raises(InvalidArgumentError, match="a reason is required"):
        audit.set_flag_state("unused", 1, reason=" ", actor="a")
    with pytest.raises(InvalidArgumentError, match="mute_days must be at least 1"):
        audit.set_flag_state("unused", 1, reason="r", actor="a", mute_days=0)


def test_retention_policy_refuses_non_positive_values() -> None:
    with pytest.raises(InvalidArgumentError, match="must be positive"):
        RetentionPolicy(max_batches=0)


def test_job_transitions_refuse_the_wrong_status_or_mode() -> None:
    with pytest.raises(InvalidArgumentError, match="only moves a job to failed or cancelled"):
        jobs.mark_ended(
            NOTHING, uuid.uuid4(), JobStatus.COMPLETED, error_kind="x", error_message=""
        )
    with pytest.raises(InvalidArgumentError, match="a superseding job is a retry or a repair"):
        jobs.create_superseding_job(
            NOTHING,
            NOTHING,
            mode=JobMode.INGEST,
            version=NOTHING,
            eligible_statuses=(),
            default_chunk_size=1,
        )


def test_ingest_steps_refuse_impossible_positions() -> None:
    with pytest.raises(InvalidArgumentError, match=r"partition must be in.*partition=4"):
        applying.apply_partition(
            NOTHING,
            uuid.uuid4(),
            partition=4,
            partitions=4,
            source_version=datetime.now(UTC),
            provider=NOTHING,
        )
    with pytest.raises(InvalidArgumentError, match="data_start must be positive"):
        steps.read_header(NOTHING, NOTHING, 0)


def test_storage_signing_and_prefect_helpers_refuse_bad_arguments() -> None:
    with pytest.raises(InvalidArgumentError, match="invalid byte range 5-4"):
        check_range(5, 4)
    with pytest.raises(InvalidArgumentError, match="block_size must be positive"):
        check_block_size(0)
    with pytest.raises(InvalidArgumentError, match="non-negative Unix seconds"):
        sign(b"{}", "secret", -1)
    with pytest.raises(InvalidArgumentError, match="request token"):
        action_key("retry-job", uuid.uuid4(), "")


def test_an_unknown_deployment_is_a_configuration_error() -> None:
    assert get_deployment("job-state-sweeper").name == "job-state-sweeper"
    with pytest.raises(ConfigurationError, match=r"no such deployment.*deployment=nope"):
        get_deployment("nope")

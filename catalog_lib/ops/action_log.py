"""The operator-action vocabulary and its audit trail (`operator_actions`).

What an operator can ask for (`ActionRequest`), what an action did (`ActionResult`), and the
two writes every action makes: `record_action` (one row per action, refusals included) and
`finish_action` (the final outcome of a started action). Both take the caller's `conn`.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from catalog_lib.adapters.postgres import load_query, required_row
from catalog_lib.core.errors import ActionNotStartedError, InvalidArgumentError
from catalog_lib.models.operations import ActionOutcome

# The action API's name for the outcome enum, which the `operator_actions` model defines.
Outcome = ActionOutcome

MAX_MESSAGE = 2000


class ActionKind(StrEnum):
    """The operator actions on a job."""

    RETRY = "retry"
    REPAIR = "repair"
    RECONCILE = "reconcile"


class ActionCode(StrEnum):
    """Why an action was refused or failed."""

    NOT_FOUND = "ETL_NOT_FOUND"
    NOT_ELIGIBLE = "ETL_NOT_ELIGIBLE"
    ALREADY_IN_PROGRESS = "ETL_ALREADY_IN_PROGRESS"
    ETAG_MISMATCH = "ETL_ETAG_MISMATCH"
    SOURCE_MISSING = "ETL_SOURCE_MISSING"
    JOB_FAILED = "ETL_JOB_FAILED"
    ACTION_FAILED = "ETL_ACTION_FAILED"
    RECONCILE_FAILED = "ETL_RECONCILE_FAILED"


@dataclass(frozen=True)
class ActionRequest:
    """Who asks for which action on which job, why, and whether the ETag check is overridden."""

    kind: ActionKind
    job_id: uuid.UUID
    actor: str
    reason: str | None = None
    force: bool = False
    channel: str = "cli"

    def __post_init__(self) -> None:
        # Only a real boolean forces: upstream coerced the string "false" to true (§9 item 26).
        if type(self.force) is not bool:
            raise InvalidArgumentError("force must be a bool", force=repr(self.force))
        if not self.actor.strip():
            raise InvalidArgumentError("an operator action needs an actor")

    def parameters(self) -> dict[str, Any]:
        """The parameters recorded with the action."""
        return {"force": self.force, "job_id": str(self.job_id), "channel": self.channel}


@dataclass(frozen=True)
class ActionResult:
    """What an operator action did (or why it was refused), as recorded in `operator_actions`."""

    action: ActionKind
    job_id: uuid.UUID
    actor: str
    outcome: Outcome
    message: str
    action_id: int | None = None
    code: str | None = None
    force: bool = False
    new_job_id: uuid.UUID | None = None
    flow_run_id: uuid.UUID | None = None
    stored_etag: str | None = None
    live_etag: str | None = None
    expected: int | None = None
    actual: int | None = None
    delta: int | None = None
    verified_at: datetime | None = None

    @property
    def refused(self) -> bool:
        """Whether the action was refused (nothing was run)."""
        return self.outcome is Outcome.REFUSED

    def to_document(self) -> dict[str, Any]:
        """The JSON-ready view the CLI prints and the flows return."""
        document: dict[str, Any] = {
            "action": str(self.action),
            "job_id": self.job_id,
            "new_job_id": self.new_job_id,
            "flow_run_id": self.flow_run_id,
            "refused": self.refused,
            "outcome": str(self.outcome),
            "code": self.code,
            "message": self.message,
            "stored_etag": self.stored_etag,
            "live_etag": self.live_etag,
            "force": self.force,
            "actor": self.actor,
            "action_id": self.action_id,
        }
        if self.action is ActionKind.RECONCILE:
            document.update(
                expected=self.expected,
                actual=self.actual,
                delta=self.delta,
                verified_at=self.verified_at,
            )
        return document


def record_action(
    conn: psycopg.Connection[Any],
    request: ActionRequest,
    target_job_id: uuid.UUID | None,
    outcome: Outcome,
    *,
    code: str | None = None,
    message: str | None = None,
    result_job_id: uuid.UUID | None = None,
    flow_run_id: uuid.UUID | None = None,
) -> int:
    """Write the action's `operator_actions` row; returns its id."""
    row = conn.execute(
        load_query("insert_job_operator_action"),
        {
            "actor": request.actor,
            "action": str(request.kind),
            "target_job_id": target_job_id,
            "reason": request.reason,
            "parameters": Jsonb(request.parameters()),
            "result_job_id": result_job_id,
            "flow_run_id": flow_run_id,
            "outcome": str(outcome),
            "code": code,
            "message": message[:MAX_MESSAGE] if message else None,
        },
    ).fetchone()
    return int(required_row(row, "insert_job_operator_action")["id"])


def finish_action(
    conn: psycopg.Connection[Any],
    action_id: int | None,
    outcome: Outcome,
    code: str | None,
    message: str,
    *,
    flow_run_id: uuid.UUID | None = None,
) -> None:
    """Record the final outcome of a `started` action row."""
    row = conn.execute(
        load_query("finish_job_operator_action"),
        {
            "id": action_id,
            "outcome": str(outcome),
            "code": code,
            "message": message[:MAX_MESSAGE],
            "result_job_id": None,
            "flow_run_id": flow_run_id,
        },
    ).fetchone()
    if row is None:
        raise ActionNotStartedError(
            "operator action is not started (already finished?)", action_id=action_id
        )

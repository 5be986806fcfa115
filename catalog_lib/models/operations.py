"""What operators did: `operator_actions`, one row per action on a job or an audit flag."""

from __future__ import annotations

import uuid
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from pydantic import AwareDatetime
from sqlmodel import Field, SQLModel

from catalog_lib.models.columns import identity_pk, in_values, jsonb, timestamptz


class ActionOutcome(StrEnum):
    """The outcome of an operator action (the CHECK of `operator_actions.outcome`)."""

    STARTED = "started"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    REFUSED = "refused"


def _job_fk(column: str) -> sa.ForeignKey:
    return sa.ForeignKey("etl_jobs.id", ondelete="SET NULL", name=f"operator_actions_{column}_fkey")


class OperatorAction(SQLModel, table=True):
    """Who did what to which job or flag, why, with which parameters and outcome.

    `target_flag_id` has no foreign key: a refused action may name a flag that does not exist.
    """

    __tablename__ = "operator_actions"
    __table_args__ = (
        sa.CheckConstraint(
            in_values("outcome", ActionOutcome), name="operator_actions_outcome_check"
        ),
        sa.Index("operator_actions_target_job_idx", "target_job_id"),
        sa.Index("operator_actions_created_at_idx", sa.text("created_at DESC")),
    )

    id: int = Field(sa_column=identity_pk())
    actor: str = Field(sa_column=sa.Column(sa.Text(), nullable=False))
    action: str = Field(sa_column=sa.Column(sa.Text(), nullable=False))
    target_job_id: uuid.UUID | None = Field(
        default=None, sa_column=sa.Column(sa.Uuid(), _job_fk("target_job_id"))
    )
    target_flag_id: int | None = Field(default=None, sa_column=sa.Column(sa.BigInteger()))
    reason: str | None = Field(default=None, sa_column=sa.Column(sa.Text()))
    parameters: dict[str, Any] = Field(
        default_factory=dict, sa_column=jsonb(nullable=False, empty_object=True)
    )
    result_job_id: uuid.UUID | None = Field(
        default=None, sa_column=sa.Column(sa.Uuid(), _job_fk("result_job_id"))
    )
    flow_run_id: uuid.UUID | None = Field(default=None, sa_column=sa.Column(sa.Uuid()))
    outcome: ActionOutcome = Field(sa_column=sa.Column(sa.Text(), nullable=False))
    code: str | None = Field(default=None, sa_column=sa.Column(sa.Text()))
    message: str | None = Field(default=None, sa_column=sa.Column(sa.Text()))
    created_at: AwareDatetime = Field(sa_column=timestamptz(nullable=False, now=True))
    finished_at: AwareDatetime | None = Field(default=None, sa_column=timestamptz())


class WebhookDelivery(SQLModel, table=True):
    """An accepted webhook signature and the receipt it got (the replay cache).

    A replay of the same signature inside the signing window is answered with this receipt and
    triggers nothing; rows are pruned after twice the window.
    """

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        sa.CheckConstraint(
            "signature_hash ~ '^[0-9a-f]{64}$'", name="webhook_deliveries_signature_hash_check"
        ),
        sa.Index("webhook_deliveries_received_at_idx", "received_at"),
    )

    signature_hash: str = Field(sa_column=sa.Column(sa.Text(), primary_key=True))
    received_at: AwareDatetime = Field(sa_column=timestamptz(nullable=False, now=True))
    receipt: dict[str, Any] = Field(sa_column=jsonb(nullable=False))

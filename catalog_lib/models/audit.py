"""Audit and maintenance: `audit_snapshots`, `audit_flags` (with ack/mute), `maintenance_runs`."""

from __future__ import annotations

import uuid
from decimal import Decimal
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from pydantic import AwareDatetime
from sqlmodel import Field, SQLModel

from catalog_lib.models.columns import identity_pk, in_values, jsonb, timestamptz


class FlagState(StrEnum):
    """An audit flag's state: open until an operator acknowledges or mutes it."""

    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    MUTED = "muted"


class MaintenanceStatus(StrEnum):
    """The states of a recorded maintenance run."""

    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class AuditSnapshot(SQLModel, table=True):
    """One source's audit measurements at one time, with the thresholds and full report."""

    __tablename__ = "audit_snapshots"
    __table_args__ = (
        sa.Index("audit_snapshots_source_generated_idx", "source", sa.text("generated_at DESC")),
    )

    id: int = Field(sa_column=identity_pk())
    generated_at: AwareDatetime = Field(sa_column=timestamptz(nullable=False, now=True))
    source: str = Field(sa_column=sa.Column(sa.Text(), nullable=False))
    total_items: int = Field(
        default=0,
        sa_column=sa.Column(sa.BigInteger(), nullable=False, server_default=sa.text("0")),
    )
    median_price: Decimal | None = Field(default=None, sa_column=sa.Column(sa.Numeric()))
    min_price: Decimal | None = Field(default=None, sa_column=sa.Column(sa.Numeric()))
    max_price: Decimal | None = Field(default=None, sa_column=sa.Column(sa.Numeric()))
    null_rates: dict[str, Any] = Field(
        default_factory=dict, sa_column=jsonb(nullable=False, empty_object=True)
    )
    last_job_id: uuid.UUID | None = Field(
        default=None,
        sa_column=sa.Column(
            sa.Uuid(),
            sa.ForeignKey(
                "etl_jobs.id", ondelete="SET NULL", name="audit_snapshots_last_job_id_fkey"
            ),
        ),
    )
    last_completed_at: AwareDatetime | None = Field(default=None, sa_column=timestamptz())
    days_stale: int | None = Field(default=None, sa_column=sa.Column(sa.Integer()))
    thresholds: dict[str, Any] = Field(
        default_factory=dict, sa_column=jsonb(nullable=False, empty_object=True)
    )
    report: dict[str, Any] = Field(
        default_factory=dict, sa_column=jsonb(nullable=False, empty_object=True)
    )


class AuditFlag(SQLModel, table=True):
    """A problem an audit raised for a source; keeps its first-seen time and ack/mute state."""

    __tablename__ = "audit_flags"
    __table_args__ = (
        sa.CheckConstraint(in_values("state", FlagState), name="audit_flags_state_check"),
        sa.Index("audit_flags_source_code_idx", "source", "code", "field"),
        sa.Index("audit_flags_snapshot_idx", "snapshot_id"),
    )

    id: int = Field(sa_column=identity_pk())
    snapshot_id: int = Field(
        sa_column=sa.Column(
            sa.BigInteger(),
            sa.ForeignKey(
                "audit_snapshots.id", ondelete="CASCADE", name="audit_flags_snapshot_id_fkey"
            ),
            nullable=False,
        )
    )
    source: str = Field(sa_column=sa.Column(sa.Text(), nullable=False))
    code: str = Field(sa_column=sa.Column(sa.Text(), nullable=False))
    field: str | None = Field(default=None, sa_column=sa.Column(sa.Text()))
    label: str = Field(sa_column=sa.Column(sa.Text(), nullable=False))
    value: Decimal | None = Field(default=None, sa_column=sa.Column(sa.Numeric()))
    first_seen_at: AwareDatetime = Field(sa_column=timestamptz(nullable=False, now=True))
    state: FlagState = Field(
        default=FlagState.OPEN,
        sa_column=sa.Column(sa.Text(), nullable=False, server_default=sa.text("'open'")),
    )
    state_reason: str | None = Field(default=None, sa_column=sa.Column(sa.Text()))
    state_actor: str | None = Field(default=None, sa_column=sa.Column(sa.Text()))
    state_changed_at: AwareDatetime | None = Field(default=None, sa_column=timestamptz())
    muted_until: AwareDatetime | None = Field(default=None, sa_column=timestamptz())


class MaintenanceRun(SQLModel, table=True):
    """One run of scheduled work (retention sweep, audit): duration, result or error."""

    __tablename__ = "maintenance_runs"
    __table_args__ = (
        sa.CheckConstraint(
            in_values("status", MaintenanceStatus), name="maintenance_runs_status_check"
        ),
        sa.Index("maintenance_runs_kind_started_idx", "kind", sa.text("started_at DESC")),
    )

    id: int = Field(sa_column=identity_pk())
    kind: str = Field(sa_column=sa.Column(sa.Text(), nullable=False))
    started_at: AwareDatetime = Field(sa_column=timestamptz(nullable=False, now=True))
    finished_at: AwareDatetime | None = Field(default=None, sa_column=timestamptz())
    duration_ms: int | None = Field(default=None, sa_column=sa.Column(sa.BigInteger()))
    status: MaintenanceStatus = Field(sa_column=sa.Column(sa.Text(), nullable=False))
    parameters: dict[str, Any] = Field(
        default_factory=dict, sa_column=jsonb(nullable=False, empty_object=True)
    )
    result: dict[str, Any] | None = Field(default=None, sa_column=jsonb())
    error_message: str | None = Field(default=None, sa_column=sa.Column(sa.Text()))

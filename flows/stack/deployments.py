"""The Prefect deployments of Catalog ETL: one list for `catalog-etl serve` and the tests.

The tests check `prefect.yaml` against it (names, entrypoints, schedules must agree).

Importing this module does not import prefect: `up`/`status` read the names without it.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from catalog_lib.core.errors import ConfigurationError

SCHEDULE_TIMEZONE = "UTC"


@dataclass(frozen=True)
class DeploymentSpec:
    """One deployment: its flow entrypoint, schedule and default parameters."""

    name: str
    flow_name: str
    entrypoint: str  # "flows/module.py:function", as in prefect.yaml
    cron: str | None = None
    interval_s: int | None = None
    parameters: dict[str, Any] = field(default_factory=dict)

    @property
    def module(self) -> str:
        """The dotted module of the entrypoint (`flows.ingest`)."""
        path = self.entrypoint.split(":", 1)[0]
        return path.removesuffix(".py").replace("/", ".")

    @property
    def function(self) -> str:
        """The flow function's name in its module."""
        return self.entrypoint.split(":", 1)[1]

    @property
    def full_name(self) -> str:
        """`flow-name/deployment-name`, as Prefect addresses a deployment."""
        return f"{self.flow_name}/{self.name}"


DEPLOYMENTS: tuple[DeploymentSpec, ...] = (
    DeploymentSpec("ingest-catalog", "ingest-catalog", "flows/ingest.py:ingest_catalog"),
    DeploymentSpec("retry-job", "retry-job", "flows/operator_actions.py:retry_job"),
    DeploymentSpec("repair-job", "repair-job", "flows/operator_actions.py:repair_job"),
    DeploymentSpec("reconcile-job", "reconcile-job", "flows/operator_actions.py:reconcile_job"),
    DeploymentSpec(
        "retention-sweep",
        "retention-sweep",
        "flows/maintenance.py:retention_sweep",
        cron="0 9 * * *",
    ),
    DeploymentSpec(
        "catalog-audit", "catalog-audit", "flows/maintenance.py:catalog_audit", cron="0 10 * * *"
    ),
    DeploymentSpec(
        "job-state-sweeper",
        "job-state-sweeper",
        "flows/sweeper.py:job_state_sweeper",
        interval_s=300,
    ),
)


def get_deployment(name: str) -> DeploymentSpec:
    """The deployment named `name`."""
    for spec in DEPLOYMENTS:
        if spec.name == name:
            return spec
    raise ConfigurationError("no such deployment", deployment=name)


def flow_and_schedules(spec: DeploymentSpec) -> tuple[Any, list[Any] | None]:
    """The flow object a deployment runs and its Prefect schedules (None: unscheduled)."""
    from prefect.schedules import Cron, Interval

    flow = getattr(importlib.import_module(spec.module), spec.function)
    schedules: list[Any] = []
    if spec.cron:
        schedules.append(Cron(spec.cron, timezone=SCHEDULE_TIMEZONE))
    if spec.interval_s:
        schedules.append(Interval(timedelta(seconds=spec.interval_s)))
    return flow, schedules or None


def build_runner_deployments() -> list[Any]:
    """`flow.to_deployment(...)` for every deployment, ready for `prefect.serve`."""
    built = []
    for spec in DEPLOYMENTS:
        flow, schedules = flow_and_schedules(spec)
        built.append(
            flow.to_deployment(
                name=spec.name, schedules=schedules, parameters=dict(spec.parameters)
            )
        )
    return built

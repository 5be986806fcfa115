"""prefect.yaml and `catalog-etl serve` declare the same deployments; both deploy for real."""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from flows.stack.deployments import DEPLOYMENTS, SCHEDULE_TIMEZONE, build_runner_deployments

ROOT = Path(__file__).resolve().parents[3]
POOL = "catalog-etl"


def _prefect_yaml() -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load((ROOT / "prefect.yaml").read_text())
    return document


def test_prefect_yaml_declares_every_served_deployment() -> None:
    document = _prefect_yaml()
    declared = {d["name"]: d for d in document["deployments"]}
    assert list(declared) == [spec.name for spec in DEPLOYMENTS]
    for spec in DEPLOYMENTS:
        entry = declared[spec.name]
        assert entry["entrypoint"] == spec.entrypoint
        assert entry["work_pool"]["name"] == POOL
        assert entry["work_pool"]["job_variables"]["env"] == {
            "PREFECT_FLOWS_HEARTBEAT_FREQUENCY": "30"
        }
        expected: list[dict[str, Any]] = []
        if spec.cron:
            expected.append({"cron": spec.cron, "timezone": SCHEDULE_TIMEZONE})
        if spec.interval_s:
            expected.append({"interval": spec.interval_s})
        assert entry.get("schedules", []) == expected, spec.name
    assert declared["retention-sweep"]["schedules"] == [{"cron": "0 9 * * *", "timezone": "UTC"}]
    assert declared["job-state-sweeper"]["schedules"] == [{"interval": 300}]
    assert "set_working_directory" in str(document["pull"])


@pytest.mark.flow
def test_served_deployments_carry_names_and_schedules(prefect_api: str) -> None:
    built = {d.name: d for d in build_runner_deployments()}
    assert set(built) == {spec.name for spec in DEPLOYMENTS}
    retention = built["retention-sweep"].schedules[0].schedule
    assert (retention.cron, retention.timezone) == ("0 9 * * *", "UTC")
    sweeper = built["job-state-sweeper"].schedules[0].schedule
    assert sweeper.interval == timedelta(seconds=300)
    assert built["ingest-catalog"].schedules == []


@pytest.mark.flow
def test_crash_automation_parses_and_is_created_once(prefect_api: str) -> None:
    from prefect.events.actions import ChangeFlowRunState

    from flows.cli.serve import ensure_crash_automation, load_crash_automation

    automation = load_crash_automation()
    assert automation.trigger.after == {"prefect.flow-run.heartbeat"}
    assert automation.trigger.within == timedelta(seconds=90)
    assert isinstance(automation.actions[0], ChangeFlowRunState)
    assert automation.actions[0].state.value == "CRASHED"
    ensure_crash_automation()
    assert ensure_crash_automation() is False


async def _read_deployments() -> dict[str, Any]:
    from prefect.client.orchestration import get_client

    async with get_client() as client:
        return {
            spec.name: await client.read_deployment_by_name(spec.full_name) for spec in DEPLOYMENTS
        }


async def _create_pool() -> None:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import WorkPoolCreate
    from prefect.exceptions import ObjectAlreadyExists

    async with get_client() as client:
        with contextlib.suppress(ObjectAlreadyExists):
            await client.create_work_pool(WorkPoolCreate(name=POOL, type="process"))


async def _delete_deployments() -> None:
    from prefect.client.orchestration import get_client
    from prefect.exceptions import ObjectNotFound

    async with get_client() as client:
        for spec in DEPLOYMENTS:
            with contextlib.suppress(ObjectNotFound):
                deployment = await client.read_deployment_by_name(spec.full_name)
                await client.delete_deployment(deployment.id)


@pytest.fixture
def clean_deployments(prefect_api: str) -> Iterator[None]:
    """Worker deployments and served ones must not share a server: delete them afterwards."""
    try:
        yield
    finally:
        asyncio.run(_delete_deployments())


@pytest.mark.flow
@pytest.mark.slow
def test_prefect_deploy_all_creates_every_deployment(
    prefect_api: str, clean_deployments: None
) -> None:
    asyncio.run(_create_pool())
    env = {
        **os.environ,
        "PREFECT_API_URL": prefect_api,
        "CATALOG_ETL_PROJECT_DIR": str(ROOT),
    }
    result = subprocess.run(
        [sys.executable, "-m", "prefect", "--no-prompt", "deploy", "--all"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    deployments = asyncio.run(_read_deployments())
    for spec in DEPLOYMENTS:
        deployment = deployments[spec.name]
        assert deployment.work_pool_name == POOL
        assert deployment.entrypoint == spec.entrypoint
        assert deployment.pull_steps
    schedule = deployments["retention-sweep"].schedules[0].schedule
    assert (schedule.cron, schedule.timezone) == ("0 9 * * *", "UTC")
    assert deployments["catalog-audit"].schedules[0].schedule.cron == "0 10 * * *"
    interval = deployments["job-state-sweeper"].schedules[0].schedule.interval
    assert interval == timedelta(seconds=300)

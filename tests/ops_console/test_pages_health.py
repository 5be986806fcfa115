"""Health page: the status strip, the charts over the window, the latest failures."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from catalog_lib.adapters.postgres import connect
from ops_console import charts
from tests.ops_console.conftest import Console, OpenPage, chart_specs, metrics

pytestmark = [pytest.mark.console, pytest.mark.postgres, pytest.mark.slow]


def test_status_strip_shows_the_seeded_numbers(seeded: Console, open_page: OpenPage) -> None:
    summary = seeded.summary
    assert summary is not None
    at = open_page("health")
    shown = metrics(at)
    assert shown["Running now"] == str(summary.running_now)
    assert shown["Failed (24 h)"] == str(summary.failed_24h)
    assert shown["Stale sources"] == str(len(summary.stale_sources))
    assert shown["Open audit flags"] == str(summary.open_flags)
    assert shown["Rejected rows (24 h)"] == f"{summary.rejected_rows_24h:,}"


@pytest.mark.usefixtures("seeded")
def test_charts_carry_time_state_and_measure_fields(open_page: OpenPage) -> None:
    specs = {s["title"]: s for s in chart_specs(open_page("health"))}
    assert set(specs) == {
        "Jobs by state",
        "Rows ingested",
        "Failure rate",
        "Job duration (completed jobs)",
    }
    jobs = specs["Jobs by state"]["encoding"]
    assert jobs["x"]["field"] == "bucket"
    assert jobs["x"]["title"] == "time (UTC)"
    assert jobs["x"]["scale"]["type"] == "utc"
    assert jobs["y"]["field"] == "jobs"
    assert jobs["color"]["field"] == "status"
    assert jobs["color"]["scale"]["domain"] == list(charts.STATE_COLORS)
    assert jobs["color"]["scale"]["range"] == list(charts.STATE_COLORS.values())
    assert specs["Failure rate"]["encoding"]["y"]["field"] == "failure_rate"
    assert specs["Rows ingested"]["encoding"]["color"]["field"] == "kind"
    assert specs["Job duration (completed jobs)"]["encoding"]["color"]["field"] == "quantile"
    assert all(s["encoding"]["tooltip"] for s in specs.values())


def test_the_window_changes_the_charts_and_failures(seeded: Console, open_page: OpenPage) -> None:
    week = open_page("health", window="7 days")
    day = open_page("health", window="24 hours")
    assert any("last 7 days" in c.value for c in week.caption)
    assert any("last 24 hours" in c.value for c in day.caption)
    week_failures = len(week.dataframe[0].value)
    day_failures = len(day.dataframe[0].value)
    with connect(seeded.db_url) as conn:
        row = conn.execute(
            "SELECT count(*) FILTER (WHERE created_at >= now() - interval '24 hours') AS day,"
            " count(*) FILTER (WHERE created_at >= now() - interval '7 days') AS week"
            " FROM etl_jobs WHERE status = 'failed'"
        ).fetchone()
    assert row is not None
    assert day_failures == min(15, row["day"])
    assert week_failures == min(15, row["week"])
    assert week_failures > day_failures


def test_latest_failures_link_to_their_drilldown(seeded: Console, open_page: OpenPage) -> None:
    at = open_page("health")
    table = at.dataframe[0].value
    with connect(seeded.db_url) as conn:
        newest = conn.execute(
            "SELECT id, error_kind FROM etl_jobs WHERE status = 'failed'"
            " ORDER BY created_at DESC LIMIT 1"
        ).fetchone()
    assert newest is not None
    assert table.iloc[0]["job"] == f"jobs?job={newest['id']}"
    assert table.iloc[0]["error kind"] == newest["error_kind"]


@pytest.mark.usefixtures("console_env")
def test_an_empty_database_says_what_to_do(open_page: OpenPage) -> None:
    at = open_page("health")
    assert metrics(at)["Running now"] == "0"
    assert any("catalog-etl demo" in i.value for i in at.info)
    assert not at.get("vega_lite_chart")
    assert any("No job failed" in s.value for s in at.success)


@pytest.mark.usefixtures("console_env")
def test_no_database_stops_with_what_to_do(
    open_page: OpenPage, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CATALOG_DATABASE_URL")
    at = open_page("health")
    assert any("No database to read" in e.value and "catalog-etl up" in e.value for e in at.error)
    assert not at.metric


def test_job_times_are_recent_enough_for_the_strip(seeded: Console) -> None:
    # Guards the premise of the strip test: the seeded history ends now, not at a fixed date.
    with connect(seeded.db_url) as conn:
        row = conn.execute("SELECT max(created_at) AS newest FROM etl_jobs").fetchone()
    assert row is not None
    assert datetime.now(UTC) - row["newest"] < timedelta(minutes=10)

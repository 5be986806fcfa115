"""Jobs page: filters, counts, pages, the drill-down and who may act on a job."""

from __future__ import annotations

from typing import Any

import pytest

from catalog_lib.adapters.postgres import connect
from ops_console import queries
from tests.ops_console.conftest import (
    ACTION_LABELS,
    OIDC,
    Console,
    OpenPage,
    chart_specs,
    labels,
    metrics,
)

pytestmark = [pytest.mark.console, pytest.mark.postgres, pytest.mark.slow]


def _one(db_url: str, sql: str, *params: Any) -> dict[str, Any]:
    with connect(db_url) as conn:
        row = conn.execute(sql, params).fetchone()
    assert row is not None
    return row


def _window_counts(db_url: str) -> dict[str, int]:
    rows = {}
    with connect(db_url) as conn:
        for r in conn.execute(
            "SELECT status::text AS status, count(*) AS n FROM etl_jobs"
            " WHERE created_at >= date_trunc('minute', now()) + interval '1 minute'"
            " - interval '7 days' GROUP BY status"
        ).fetchall():
            rows[r["status"]] = r["n"]
    return rows


def test_counts_by_state_and_first_page(seeded: Console, open_page: OpenPage) -> None:
    at = open_page("jobs")
    counts = _window_counts(seeded.db_url)
    shown = metrics(at)
    assert shown["Matching"] == f"{sum(counts.values()):,}"
    for state in ("pending", "running", "completed", "failed", "cancelled"):
        assert shown[state] == f"{counts.get(state, 0):,}"
    table = at.dataframe[0].value
    assert len(table) == min(50, sum(counts.values()))
    assert table["job"].str.startswith("jobs?job=").all()


def test_everything_but_completed(seeded: Console, open_page: OpenPage) -> None:
    at = open_page("jobs")
    at.selectbox(key="jobs_state").set_value("everything but completed").run()
    counts = _window_counts(seeded.db_url)
    expected = sum(n for s, n in counts.items() if s != "completed")
    assert metrics(at)["Matching"] == f"{expected:,}"
    states = set(at.dataframe[0].value["state"])
    assert states
    assert "completed" not in states


def test_source_revision_and_time_filters_change_the_result(
    seeded: Console, open_page: OpenPage
) -> None:
    summary = seeded.summary
    assert summary is not None
    at = open_page("jobs")
    at.selectbox(key="jobs_created").set_value("any time").run()
    assert metrics(at)["Matching"] == f"{summary.jobs:,}"
    source = summary.sources[1]
    at.multiselect(key="jobs_sources").select(source).run()
    assert metrics(at)["Matching"] == f"{summary.jobs_by_source[source]:,}"
    assert set(at.dataframe[0].value["source"]) == {source}
    revision = at.selectbox(key="jobs_rev").options[1]
    at.selectbox(key="jobs_rev").set_value(revision).run()
    expected = _one(
        seeded.db_url,
        "SELECT count(*) AS n FROM etl_jobs WHERE source = %s AND scraper_revision = %s",
        source,
        revision,
    )["n"]
    assert metrics(at)["Matching"] == f"{expected:,}"
    at.selectbox(key="jobs_created").set_value("last hour").run()
    assert int(metrics(at)["Matching"].replace(",", "")) < expected


@pytest.mark.usefixtures("seeded")
def test_pages_move_through_the_matches(open_page: OpenPage) -> None:
    at = open_page("jobs")
    first = list(at.dataframe[0].value["job"])
    at.number_input(key="jobs_page").set_value(2).run()
    second = list(at.dataframe[0].value["job"])
    assert first
    assert second
    assert not set(first) & set(second)
    assert any("Jobs 51–" in c.value for c in at.caption)


def test_drilldown_by_unique_prefix(seeded: Console, open_page: OpenPage) -> None:
    job = _one(
        seeded.db_url,
        "SELECT j.* FROM etl_jobs j WHERE status = 'completed' AND mode = 'retry'"
        " AND total_invalid > 0 ORDER BY created_at DESC LIMIT 1",
    )
    at = open_page("jobs", query={"job": str(job["id"])[:13]})
    assert at.title[0].value == f"Job {str(job['id'])[:8]}"
    shown = metrics(at)
    assert shown["Rows read"] == f"{job['total_processed']:,}"
    assert shown["Rejected"] == f"{job['total_invalid']:,}"
    assert shown["Expected (file)"] == f"{job['verified_row_count']:,}"
    assert shown["Delta"] == str(job["reconcile_delta"])
    specs = [s for s in chart_specs(at) if s["title"] == "Why rows were rejected"]
    assert specs
    assert specs[0]["encoding"]["y"]["field"] == "reason"
    tables = [t.value for t in at.dataframe]
    ledger = next(t for t in tables if "chunk" in t.columns and "attempts" in t.columns)
    assert len(ledger) == job["chunks_total"]
    sample = next(t for t in tables if "why" in t.columns)
    assert len(sample) > 0
    assert "sku" in sample.columns
    assert "raw_data" not in sample.columns
    chain = next(t for t in tables if "relation" in t.columns)
    assert set(chain["relation"]) >= {"this job", "replaced by this job"}
    assert f"jobs?job={job['supersedes_job_id']}" in set(chain["job"])
    actions = next(t for t in tables if "who" in t.columns)
    assert "retry" in set(actions["action"])


def test_a_running_job_shows_its_live_ledger(seeded: Console, open_page: OpenPage) -> None:
    job = _one(seeded.db_url, "SELECT id, chunks_total FROM etl_jobs WHERE status = 'running'")
    at = open_page("jobs", query={"job": str(job["id"])})
    assert any("Live" in c.value for c in at.caption)
    ledger = next(t.value for t in at.dataframe if "attempts" in t.value.columns)
    assert "running" in set(ledger["state"])


@pytest.mark.usefixtures("seeded")
def test_an_unknown_or_malformed_reference_says_so(open_page: OpenPage) -> None:
    at = open_page("jobs", query={"job": "00000000-dead"})
    assert at.title[0].value == "Job not found"
    assert any("no job" in e.value for e in at.error)
    bad = open_page("jobs", query={"job": "x!"})
    assert any("at least 4 hex" in e.value for e in bad.error)


def _failed_job(db_url: str) -> str:
    return str(
        _one(db_url, "SELECT id FROM etl_jobs WHERE status = 'failed' ORDER BY created_at LIMIT 1")[
            "id"
        ]
    )


def test_read_only_shows_no_action_buttons(seeded: Console, open_page: OpenPage) -> None:
    at = open_page("jobs", query={"job": _failed_job(seeded.db_url)})
    assert not labels(at) & ACTION_LABELS
    assert any("Read-only" in w.value for w in at.sidebar.warning)


def test_signed_out_shows_no_action_buttons(seeded: Console, open_page: OpenPage) -> None:
    at = open_page(
        "jobs",
        query={"job": _failed_job(seeded.db_url)},
        secrets=OIDC,
        user={"is_logged_in": False},
    )
    assert not labels(at) & ACTION_LABELS
    assert "Sign in" in labels(at)


@pytest.mark.usefixtures("local_operator")
def test_a_local_operator_sees_the_actions(seeded: Console, open_page: OpenPage) -> None:
    at = open_page("jobs", query={"job": _failed_job(seeded.db_url)})
    assert "Retry" in labels(at)


def test_flow_run_link_points_at_the_prefect_ui(monkeypatch: pytest.MonkeyPatch) -> None:
    import uuid

    run = uuid.UUID(int=5)
    monkeypatch.delenv("PREFECT_UI_URL", raising=False)
    monkeypatch.setenv("PREFECT_API_URL", "http://127.0.0.1:4200/api")
    assert queries.flow_run_url(run) == f"http://127.0.0.1:4200/runs/flow-run/{run}"
    monkeypatch.setenv("PREFECT_UI_URL", "https://prefect.example/")
    assert queries.flow_run_url(run) == f"https://prefect.example/runs/flow-run/{run}"
    assert queries.flow_run_url(None) is None
    monkeypatch.delenv("PREFECT_API_URL")
    assert queries.flow_run_url(run) is None


@pytest.mark.usefixtures("console_env")
def test_no_jobs_says_what_to_do(open_page: OpenPage) -> None:
    at = open_page("jobs")
    assert any("No jobs yet" in i.value and "catalog-etl demo" in i.value for i in at.info)

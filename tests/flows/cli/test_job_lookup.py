"""`jobs` (replaced by, --unresolved), short job ids and `job rows` (real PG, no Prefect)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from catalog_lib.core.settings import get_settings
from catalog_lib.ingest import steps
from catalog_lib.ingest.jobs import JobStatus
from catalog_lib.ops import actions
from catalog_lib.ops.action_log import ActionKind, ActionRequest
from catalog_lib.rules.mapping import ITEM_FIELDS
from flows.cli.app import app
from flows.runtime import get_runtime
from tests.factories import catalog_row, run_steps, to_csv

pytestmark = [pytest.mark.postgres]


@pytest.fixture
def db_env(
    db_url: str, catalog_env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Path]:
    """The CLI on the test database and a local landing folder (no Prefect needed)."""
    landing = tmp_path / "landing"
    landing.mkdir()
    monkeypatch.setenv("CATALOG_DATABASE_URL", db_url)
    monkeypatch.setenv("CATALOG_LANDING_URL", str(landing))
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    monkeypatch.delenv("PREFECT_UI_URL", raising=False)
    get_settings.cache_clear()
    get_runtime.cache_clear()
    yield landing
    get_settings.cache_clear()
    get_runtime.cache_clear()


def _cli(*args: str) -> tuple[int, Any, str]:
    result = CliRunner().invoke(app, list(args))
    try:
        document = json.loads(result.stdout)
    except json.JSONDecodeError:
        document = result.stdout
    return result.exit_code, document, result.stderr


def _rows(n: int) -> list[dict[str, str]]:
    rows = [catalog_row(i) for i in range(n)]
    rows[2] = catalog_row(2, productUrl="ftp://files.example.com/x")
    rows[5] = catalog_row(5, productUrl="mailto:someone@example.com")
    return rows


def _failed_job(landing: Path, key: str) -> uuid.UUID:
    (landing / key).write_bytes(to_csv(_rows(30)))
    rt = get_runtime()
    trigger = steps.request_ingest(
        rt, source="trailco", uri_or_key=key, scraper_revision="t", chunk_size=600
    )
    steps.start_job(rt, trigger.job_id, None)
    steps.plan_job(rt, trigger.job_id)
    steps.end_job(rt, trigger.job_id, JobStatus.FAILED, error_kind="crashed", error_message="x")
    return trigger.job_id


def _retry(job_id: uuid.UUID) -> uuid.UUID:
    rt = get_runtime()
    started = actions.start_reingest(
        rt, ActionRequest(kind=ActionKind.RETRY, job_id=job_id, actor="t")
    )
    assert started.new_job_id is not None
    run_steps(rt, started.new_job_id)
    actions.finish_reingest(rt, started, flow_run_id=None)
    return started.new_job_id


def test_jobs_show_the_replacing_job_and_unresolved_keeps_only_open_failures(
    db_env: Path,
) -> None:
    recovered = _failed_job(db_env, "a.csv")
    retry = _retry(recovered)
    open_failure = _failed_job(db_env, "b.csv")

    code, listing, _ = _cli("jobs", "--status", "failed", "--json")
    assert code == 0
    replaced = {j["job_id"]: j["replaced_by"] for j in listing["jobs"]}
    assert replaced == {str(recovered): str(retry), str(open_failure): None}

    code, unresolved, _ = _cli("jobs", "--unresolved", "--json")
    assert code == 0
    assert [j["job_id"] for j in unresolved["jobs"]] == [str(open_failure)]

    code, text, _ = _cli("jobs", "--status", "failed")
    assert code == 0
    assert "replaced by" in text
    # The short id (any unique prefix is accepted wherever a job id is taken).
    assert str(retry)[:8] in text

    code, text, _ = _cli("jobs", "--source", "nobody")
    assert (code, text.strip()) == (0, "no jobs")

    code, refused, _ = _cli("jobs", "--unresolved", "--status", "completed", "--json")
    assert (code, refused["error"]) == (2, "usage")


def test_any_unique_prefix_names_a_job(db_env: Path) -> None:
    job_id = _failed_job(db_env, "a.csv")
    for ref in (str(job_id)[:8], str(job_id)[:13], str(job_id).upper()[:6]):
        code, shown, _ = _cli("job", "show", ref, "--json")
        assert code == 0, shown
        assert shown["job_id"] == str(job_id)
    code, rows, _ = _cli("job", "rows", str(job_id)[:8], "--json")
    assert (code, rows["job_id"]) == (0, str(job_id))


def test_an_ambiguous_prefix_lists_the_candidates_and_exits_two(db_env: Path) -> None:
    ids = {_failed_job(db_env, f"{i}.csv") for i in range(20)}
    # Twenty random ids: some first hex digit is shared by two of them.
    firsts = [str(i)[0] for i in ids]
    shared = next(d for d in firsts if firsts.count(d) > 1)
    candidates = sorted(str(i) for i in ids if str(i).startswith(shared))
    code, doc, _ = _cli("job", "show", shared, "--json")
    assert (code, doc["error"]) == (2, "ambiguous_job_id")
    assert sorted(doc["candidates"]) == candidates
    code, _, err = _cli("job", "show", shared)
    assert code == 2
    assert "error:" in err
    assert all(c in err for c in candidates)


@pytest.mark.parametrize("ref", ["ffffffff-ffff", "not-hex", ""], ids=["unknown", "text", "empty"])
def test_a_reference_that_names_no_job_exits_two(db_env: Path, ref: str) -> None:
    _failed_job(db_env, "a.csv")
    code, doc, _ = _cli("job", "show", ref, "--json")
    assert (code, doc["error"]) == (2, "not_found")
    code, doc, _ = _cli("retry", ref, "--json")
    assert (code, doc["error"]) == (2, "not_found")


def test_an_ambiguous_prefix_is_refused_before_any_action(db_env: Path) -> None:
    ids = [str(_failed_job(db_env, f"{i}.csv")) for i in range(20)]
    shared = next(i[0] for i in ids if sum(j[0] == i[0] for j in ids) > 1)
    code, doc, _ = _cli("retry", shared, "--json")
    assert (code, doc["error"]) == (2, "ambiguous_job_id")


def test_job_show_prints_the_flow_runs_ui_link(
    db_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    job_id = _failed_job(db_env, "a.csv")
    run_id = uuid.uuid4()
    from catalog_lib.adapters.postgres import connect

    with connect(get_runtime().database_url) as conn:
        conn.execute("UPDATE etl_jobs SET flow_run_id = %s WHERE id = %s", (run_id, job_id))
    monkeypatch.setenv("PREFECT_API_URL", "http://127.0.0.1:4999/api")
    code, doc, _ = _cli("job", "show", str(job_id), "--json")
    assert code == 0
    assert doc["flow_run_url"] == f"http://127.0.0.1:4999/runs/flow-run/{run_id}"
    code, text, _ = _cli("job", "show", str(job_id))
    assert f"http://127.0.0.1:4999/runs/flow-run/{run_id}" in text
    assert "None" not in text


def test_job_rows_lists_rejected_rows_with_reasons_and_mapped_values(db_env: Path) -> None:
    (db_env / "a.csv").write_bytes(to_csv(_rows(12)))
    rt = get_runtime()
    trigger = steps.request_ingest(rt, source="trailco", uri_or_key="a.csv", scraper_revision="t")
    run_steps(rt, trigger.job_id)

    code, doc, _ = _cli("job", "rows", str(trigger.job_id), "--json")
    assert code == 0
    assert [r["record_ordinal"] for r in doc["rows"]] == sorted(
        r["record_ordinal"] for r in doc["rows"]
    )
    assert len(doc["rows"]) == 2
    first = doc["rows"][0]
    assert first["errors"][0]["field"] == "productUrl"
    assert first["values"]["product_url"] == "ftp://files.example.com/x"
    assert set(first["values"]) <= set(ITEM_FIELDS)

    code, only, _ = _cli("job", "rows", str(trigger.job_id), "--reason", "mailto", "--json")
    assert [r["values"]["product_url"] for r in only["rows"]] == ["mailto:someone@example.com"]
    code, limited, _ = _cli("job", "rows", str(trigger.job_id), "--limit", "1", "--json")
    assert len(limited["rows"]) == 1
    code, text, _ = _cli("job", "rows", str(trigger.job_id))
    assert code == 0
    assert "productUrl" in text
    code, text, _ = _cli("job", "rows", str(trigger.job_id), "--reason", "price")
    assert (code, text.strip()) == (0, f"no rejected rows for 'price' in job {trigger.job_id}")


def test_the_action_progress_finds_the_new_job_whatever_its_status(db_env: Path) -> None:
    from catalog_lib.adapters.postgres import connect
    from flows.cli.recovery import new_successor

    original = _failed_job(db_env, "a.csv")
    database_url = get_runtime().database_url
    locate = new_successor(database_url, original)
    with connect(database_url) as conn:
        assert locate(conn) is None
    replacement = _retry(original)  # completed before the first poll: still found
    with connect(database_url) as conn:
        assert locate(conn) == replacement
        # A locator made now knows that job already: it waits for a newer one.
        assert new_successor(database_url, original)(conn) is None


def test_the_progress_bar_ends_at_every_chunk_done(
    db_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from rich.progress import Progress

    from flows.cli.progress import chunk_progress

    (db_env / "a.csv").write_bytes(to_csv(_rows(30)))
    rt = get_runtime()
    trigger = steps.request_ingest(
        rt, source="trailco", uri_or_key="a.csv", scraper_revision="t", chunk_size=600
    )
    updates: list[tuple[object, object]] = []
    real_update = Progress.update

    def record(self: Progress, task: Any, **kwargs: Any) -> None:
        updates.append((kwargs.get("completed"), kwargs.get("total")))
        real_update(self, task, **kwargs)

    monkeypatch.setattr(Progress, "update", record)
    # The job runs while the bar polls, as under a command; it may finish between two polls.
    with chunk_progress(rt.database_url, "x", lambda _conn: trigger.job_id, enabled=True):
        job = run_steps(rt, trigger.job_id)
    assert updates[-1] == (job["chunks_total"], job["chunks_total"])
    assert job["chunks_total"] > 1


def test_retention_text_counts_in_words(db_env: Path) -> None:
    code, text, _ = _cli("retention", "--dry-run", "--days", "1")
    assert code == 0
    assert text.strip() == "would delete 0 rejected rows older than 1 day in 1 batch"

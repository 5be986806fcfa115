"""`catalog-etl ingest | jobs | job show | demo` end to end (Prefect test server, real PG)."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from catalog_lib.adapters.postgres import connect
from catalog_lib.core.settings import get_settings
from catalog_lib.demo.sample_files import build_demo_files
from flows.cli.app import app
from tests.factories import catalog_row, to_csv

pytestmark = [pytest.mark.flow, pytest.mark.postgres]

REQUIRED_KEYS = {
    "job_id",
    "status",
    "source",
    "object_key",
    "filename",
    "source_etag",
    "flow_run_id",
    "chunks",
    "total_processed",
    "total_valid",
    "total_invalid",
    "total_embedding_failures",
    "verified_row_count",
    "reconcile_delta",
    "supersedes_job_id",
    "duplicate_of",
    "error_kind",
    "error_message",
}


def _cli(*args: str) -> tuple[int, Any]:
    result = CliRunner().invoke(app, list(args))
    try:
        document = json.loads(result.stdout)
    except json.JSONDecodeError:
        document = result.stdout
    return result.exit_code, document


def _write(landing: Path, key: str, rows: int) -> None:
    path = landing / key
    path.parent.mkdir(parents=True, exist_ok=True)
    data = [catalog_row(i) for i in range(rows)]
    data[2] = catalog_row(2, productUrl="ftp://files.example.com/x")
    path.write_bytes(to_csv(data))


def test_ingest_prints_the_job_and_exits_zero(flow_env: Path) -> None:
    _write(flow_env, "v2/trailco/a.csv", 40)
    code, doc = _cli("ingest", "trailco", "v2/trailco/a.csv", "--chunk-size", "1KiB", "--json")
    assert code == 0, doc
    assert set(doc) >= REQUIRED_KEYS
    assert (doc["status"], doc["total_processed"], doc["total_valid"], doc["total_invalid"]) == (
        "completed",
        40,
        39,
        1,
    )
    assert doc["chunks"] > 1
    assert doc["reconcile_delta"] == 0
    assert doc["duplicate_of"] is None
    assert doc["filename"] == "a.csv"
    assert doc["object_key"].endswith("/v2/trailco/a.csv")
    assert doc["invalid_reasons"] == [
        {
            "field": "productUrl",
            "rows": 1,
            "reason": "Product URL scheme must be http: or https: (got ftp:)",
        }
    ]


def test_second_trigger_of_the_same_file_is_a_duplicate(flow_env: Path) -> None:
    _write(flow_env, "a.csv", 12)
    code, first = _cli("ingest", "trailco", str(flow_env / "a.csv"), "--json")
    assert code == 0
    code, again = _cli("ingest", "trailco", f"file://{flow_env / 'a.csv'}", "--json")
    assert code == 0
    assert again["job_id"] == first["job_id"] == again["duplicate_of"]
    code, listing = _cli("jobs", "--json")
    assert [j["job_id"] for j in listing["jobs"]] == [first["job_id"]]


def test_several_uris_make_one_job_each(flow_env: Path) -> None:
    _write(flow_env, "a.csv", 12)
    _write(flow_env, "b.csv", 13)
    code, doc = _cli("ingest", "trailco", "a.csv", "b.csv", "--json")
    assert code == 0
    assert [j["total_processed"] for j in doc["jobs"]] == [12, 13]
    assert len({j["job_id"] for j in doc["jobs"]}) == 2


def test_missing_object_fails_with_exit_one(flow_env: Path) -> None:
    code, doc = _cli("ingest", "trailco", "nope.csv", "--json")
    assert code == 1
    assert (doc["status"], doc["error_kind"]) == ("failed", "source_missing")


def test_empty_object_fails_the_job_with_an_error_kind(flow_env: Path) -> None:
    (flow_env / "empty.csv").write_bytes(b"")
    code, doc = _cli("ingest", "trailco", "empty.csv", "--json")
    assert code == 1
    assert (doc["status"], doc["error_kind"]) == ("failed", "empty_source")


@pytest.mark.parametrize(
    "args",
    [("Bad Source", "a.csv"), ("trailco", "a.csv", "--chunk-size", "lots")],
    ids=["source-slug", "chunk-size"],
)
def test_usage_errors_exit_two(flow_env: Path, args: tuple[str, ...]) -> None:
    code, doc = _cli("ingest", *args, "--json")
    assert (code, doc["error"]) == (2, "usage")


def test_key_escaping_the_landing_root_is_refused(flow_env: Path) -> None:
    code, doc = _cli("ingest", "trailco", "../../etc/passwd", "--json")
    # `..` is a jail escape: the InvalidObjectKeyError subclass ObjectOutsideLandingError.
    assert (code, doc["status"], doc["error_kind"]) == (1, "failed", "object_outside_landing")


def test_jobs_filters_and_job_show(flow_env: Path) -> None:
    _write(flow_env, "a.csv", 12)
    code, job = _cli("ingest", "trailco", "a.csv", "--json")
    (flow_env / "e.csv").write_bytes(b"")
    _cli("ingest", "evo", "e.csv", "--json")
    code, failed = _cli("jobs", "--status", "failed", "--json")
    assert code == 0
    assert [j["source"] for j in failed["jobs"]] == ["evo"]
    code, trailco = _cli("jobs", "--source", "trailco", "--json")
    assert [j["job_id"] for j in trailco["jobs"]] == [job["job_id"]]
    code, shown = _cli("job", "show", job["job_id"], "--json")
    assert code == 0
    assert set(shown) >= REQUIRED_KEYS
    assert sum(c["rows_processed"] for c in shown["ledger"]) == 12
    assert [c["id"] for c in shown["supersession_chain"]] == [job["job_id"]]
    code, text = _cli("job", "show", job["job_id"])
    assert code == 0
    assert "chunk ledger" in text
    code, text = _cli("jobs", "--status", "failed")
    assert code == 0
    assert "evo" in text
    assert "trailco" not in text
    code, missing = _cli("job", "show", "00000000-0000-0000-0000-000000000000", "--json")
    assert code == 2
    assert missing["error"] == "not_found"


def test_demo_ingests_every_sample_file(flow_env: Path) -> None:
    code, doc = _cli("demo", "--rows", "60", "--json")
    assert code == 0, doc
    expected = {f.source: f for f in build_demo_files(rows_per_source=60)}
    assert {j["source"] for j in doc["jobs"]} == set(expected)
    for job in doc["jobs"]:
        sample = expected[job["source"]]
        assert job["status"] == "completed"
        assert job["reconcile_delta"] == 0
        assert (job["total_processed"], job["total_invalid"]) == (
            sample.expected_rows,
            sample.expected_invalid,
        )
    assert doc["catalog_items"] > 0
    assert doc["history"] == {"seeded_jobs": 150, "already_seeded": False}
    code, again = _cli("demo", "--rows", "60", "--json")
    assert code == 0
    assert all(j["duplicate_of"] for j in again["jobs"])
    assert again["history"]["already_seeded"] is True


def test_a_lost_database_connection_is_a_clean_error(
    flow_env: Path, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from flows.cli import jobs as jobs_command

    real_list_jobs = jobs_command.list_jobs

    def list_on_a_killed_connection(conn: Any, **kwargs: Any) -> Any:
        # The DSN psycopg reports leaves the password out; the fixture's URL carries it.
        with connect(db_url, autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(%s, 5000)", (conn.info.backend_pid,))
        return real_list_jobs(conn, **kwargs)

    monkeypatch.setattr(jobs_command, "list_jobs", list_on_a_killed_connection)
    code, document = _cli("jobs", "--json")
    assert code == 1
    assert document["error"] == "database_unavailable"
    assert document["message"].startswith("database connection failed")
    result = CliRunner().invoke(app, ["jobs"])
    assert result.exit_code == 1
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "error: database connection failed" in result.stderr
    assert "Traceback" not in result.output + result.stderr


def test_a_failing_statement_is_a_clean_error_without_server_text(
    flow_env: Path, db_url: str
) -> None:
    _write(flow_env, "a.csv", 3)
    code, job = _cli("ingest", "trailco", "a.csv", "--json")
    assert code == 0
    with connect(db_url) as conn:
        conn.execute("ALTER TABLE operator_actions RENAME TO operator_actions_moved")
    code, document = _cli("job", "show", job["job_id"], "--json")
    assert code == 1
    assert document["error"] == "database_error"
    assert "sqlstate=42P01" in document["message"]
    assert "operator_actions" not in document["message"]


def test_an_unreachable_database_is_a_clean_error_without_the_dsn(
    flow_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CATALOG_DATABASE_URL", "postgresql://ops:hunter2@127.0.0.1:1/catalog")
    get_settings.cache_clear()
    code, document = _cli("jobs", "--json")
    assert (code, document["error"]) == (1, "database_unavailable")
    assert "hunter2" not in json.dumps(document)
    assert "127.0.0.1" not in json.dumps(document)


def test_logs_of_a_job_come_from_its_flow_run(flow_env: Path) -> None:
    _write(flow_env, "a.csv", 12)
    code, job = _cli("ingest", "trailco", "a.csv", "--json")
    assert code == 0, job
    # Prefect ships run logs in the background: wait for the run's last line to arrive.
    deadline = time.monotonic() + 60
    while True:
        code, doc = _cli("logs", job["job_id"][:8], "--json")
        assert code == 0, doc
        finished = [x for x in doc["logs"] if x["message"].startswith("Finished in state")]
        if any(x["logger"] == "prefect.flow_runs" for x in finished):
            break
        assert time.monotonic() < deadline, doc["logs"]
        time.sleep(1)
    assert (doc["job_id"], doc["flow_run_id"], doc["state"]) == (
        job["job_id"],
        job["flow_run_id"],
        "COMPLETED",
    )
    stamps = [line["timestamp"] for line in doc["logs"]]
    assert stamps == sorted(stamps)
    code, text = _cli("logs", job["job_id"], "--follow")
    assert code == 0
    assert "prefect.flow_runs: Finished in state Completed()" in text
    assert len(text.splitlines()) >= len(doc["logs"])


def test_ingest_text_output_puts_errors_on_stderr(flow_env: Path) -> None:
    result = CliRunner().invoke(app, ["ingest", "trailco", "nope.csv"])
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.startswith("error: nope.csv: source_missing")
    _write(flow_env, "b.csv", 12)
    result = CliRunner().invoke(app, ["ingest", "trailco", "b.csv"])
    assert result.exit_code == 0
    assert " in 1 chunk;" in result.stdout
    assert "None" not in result.stdout

"""Maintenance flows on the Prefect harness, the CLI commands, and the no-leak guarantee."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from catalog_lib.adapters.postgres import connect
from catalog_lib.core.errors import MalformedCsvError
from catalog_lib.core.logs import reset_logging
from catalog_lib.core.settings import get_settings
from catalog_lib.ingest import steps
from flows.cli.app import app
from flows.runtime import get_runtime
from tests.factories import catalog_row, to_csv
from tests.sentry_memory import FAKE_DSN, memory_sentry

pytestmark = [pytest.mark.postgres]


def _seed_invalid_logs(db_url: str, *, old: int, fresh: int) -> None:
    job_id = uuid.uuid4()
    with connect(db_url) as conn:
        conn.execute(
            "INSERT INTO etl_jobs (id, status, source, filename, object_key, scraper_revision, "
            "ingest_key) VALUES (%s, 'failed', 'trailco', 'a.csv', 'a.csv', 't', %s)",
            (job_id, str(job_id)),
        )
        conn.execute(
            "INSERT INTO invalid_item_logs (job_id, chunk_index, record_ordinal, errors, raw_data, "
            "created_at) SELECT %s, 0, g, '[]', '{}', now() - interval '100 days' "
            "FROM generate_series(1, %s::int) g",
            (job_id, old),
        )
        conn.execute(
            "INSERT INTO invalid_item_logs (job_id, chunk_index, record_ordinal, errors, raw_data) "
            "SELECT %s, 0, g, '[]', '{}' FROM generate_series(%s::int, %s::int) g",
            (job_id, old + 1, old + fresh),
        )
        conn.commit()


def _seed_catalog(db_url: str) -> None:
    job_id = uuid.uuid4()
    with connect(db_url) as conn:
        conn.execute(
            "INSERT INTO etl_jobs (id, status, source, filename, object_key, scraper_revision, "
            "ingest_key, completed_at, total_processed, total_valid, reconcile_delta) VALUES "
            "(%s, 'completed', 'trailco', 'a.csv', 'a.csv', 't', %s, now(), 3, 3, 0)",
            (job_id, str(job_id)),
        )
        for i, price in enumerate(("1.299", "49.95", "59.95")):
            item = conn.execute(
                "INSERT INTO catalog_items (name, product_url, sku, brand, description, weight, "
                "images, price, availability, source_version) VALUES (%s, 'https://e.example/x', "
                "%s, 'B', 'D', 100, '[\"i\"]', %s, 'in_stock', now()) RETURNING id",
                (f"n{i}", f"S{i}", price),
            ).fetchone()
            assert item is not None
            conn.execute(
                "INSERT INTO catalog_item_etl_jobs (catalog_item_id, etl_job_id) VALUES (%s, %s)",
                (item["id"], job_id),
            )
        conn.commit()


def _cli(*args: str) -> tuple[int, Any]:
    result = CliRunner().invoke(app, list(args))
    try:
        return result.exit_code, json.loads(result.stdout)
    except json.JSONDecodeError:
        return result.exit_code, result.stdout + result.output


@pytest.fixture
def cli_env(catalog_env: Path, db_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.setenv("CATALOG_DATABASE_URL", db_url)
    get_settings.cache_clear()
    yield db_url
    get_settings.cache_clear()


def test_retention_command_sweeps_and_dry_runs(cli_env: str) -> None:
    _seed_invalid_logs(cli_env, old=25, fresh=3)
    code, dry = _cli("retention", "--dry-run", "--batch-size", "10", "--max-batches", "2", "--json")
    assert code == 0, dry
    assert (dry["deleted"], dry["batches"], dry["capped"], dry["dry_run"]) == (20, 2, True, True)
    code, doc = _cli("retention", "--batch-size", "10", "--max-batches", "2", "--json")
    assert code == 0, doc
    assert (doc["deleted"], doc["batches"], doc["capped"], doc["retention_days"]) == (
        20,
        2,
        True,
        90,
    )
    code, doc = _cli("retention", "--days", "90", "--json")
    assert (doc["deleted"], doc["capped"]) == (5, False)
    code, text = _cli("retention")
    assert code == 0
    assert "deleted 0 rejected rows older than 90 days" in text


def test_audit_commands_run_ack_mute_and_history(cli_env: str) -> None:
    _seed_catalog(cli_env)
    code, report = _cli("audit", "--json")
    assert code == 0, report
    (source,) = report["sources"]
    assert source["source"] == "trailco"
    assert source["flags"] == ["decimal_bug (1)"]
    assert report["thresholds"]["stale_days_threshold"] == 30
    flag_id = source["flag_details"][0]["id"]

    code, acked = _cli(
        "audit", "ack", str(flag_id), "--reason", "known", "--actor", "ana", "--json"
    )
    assert code == 0, acked
    assert (acked["state"], acked["action"], acked["state_actor"]) == (
        "acknowledged",
        "audit.ack",
        "ana",
    )
    code, again = _cli("audit", "--source", "trailco", "--json")
    assert again["sources"][0]["flag_details"][0]["state"] == "acknowledged"
    new_flag = again["sources"][0]["flag_details"][0]["id"]
    code, muted = _cli("audit", "mute", str(new_flag), "--reason", "later", "--days", "2", "--json")
    assert code == 0
    assert muted["state"] == "muted"
    assert muted["muted_until"]

    code, missing = _cli("audit", "ack", "999999", "--reason", "x", "--json")
    assert code == 2
    assert missing["error"] == "not_found"
    code, history = _cli("audit", "history", "--json")
    assert code == 0
    assert len(history["flags"]) == 2
    assert [f["state"] for f in history["flags"]] == ["muted", "acknowledged"]
    code, text = _cli("audit", "history")
    assert code == 0
    assert "decimal_bug (1)" in text
    assert "muted" in text
    with connect(cli_env) as conn:
        actions = conn.execute(
            "SELECT action, outcome FROM operator_actions ORDER BY id"
        ).fetchall()
    assert [(a["action"], a["outcome"]) for a in actions] == [
        ("audit.ack", "succeeded"),
        ("audit.mute", "succeeded"),
        ("audit.ack", "refused"),
    ]
    code, text = _cli("audit")
    assert code == 0
    assert "decimal_bug (1)" in text


def test_maintenance_commands_do_not_import_prefect() -> None:
    probe = (
        "import sys, flows.cli.app, flows.cli.quality; "
        "assert 'prefect' not in sys.modules, 'prefect imported'"
    )
    subprocess.run([sys.executable, "-c", probe], check=True, timeout=60)


def _flow_logs(flow_run_id: uuid.UUID) -> list[str]:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import LogFilter, LogFilterFlowRunId
    from prefect.logging.handlers import APILogHandler

    APILogHandler().flush()

    async def read() -> list[Any]:
        async with get_client() as client:
            return await client.read_logs(
                log_filter=LogFilter(flow_run_id=LogFilterFlowRunId(any_=[flow_run_id]))
            )

    return [entry.message for entry in asyncio.run(read())]


@pytest.fixture
def restore_logging() -> Iterator[None]:
    yield
    reset_logging()


@pytest.mark.flow
def test_retention_flow_records_the_run_and_routes_library_logs(
    flow_env: Path, restore_logging: None
) -> None:
    from flows.maintenance import retention_sweep

    db_url = get_runtime().database_url
    _seed_invalid_logs(db_url, old=12, fresh=1)
    results = Path(os.environ["PREFECT_LOCAL_STORAGE_PATH"])
    expired, kept = results / "expired-result-for-test", results / "fresh-result-for-test"
    expired.write_text("{}")
    kept.write_text("{}")
    eight_days_ago = time.time() - 8 * 86400
    os.utime(expired, (eight_days_ago, eight_days_ago))
    state = retention_sweep(batch_size=5, max_batches=2, return_state=True)
    assert state.is_completed(), state.message
    result = state.result()
    assert (result["deleted"], result["batches"], result["capped"]) == (10, 2, True)
    assert result["result_files_deleted"] >= 1
    assert not expired.exists()
    assert kept.exists()
    kept.unlink()
    with connect(db_url) as conn:
        run = conn.execute("SELECT * FROM maintenance_runs").fetchone()
    assert run is not None
    assert run["status"] == "succeeded"
    assert run["result"]["deleted"] == 10
    logs = _flow_logs(state.state_details.flow_run_id)
    # Readable lines (`message · event · key=value …`), not JSON strings.
    assert [m for m in logs if m.startswith("{")] == []
    events = {part for m in logs for part in m.split(" · ")}
    assert "retention.completed" in events
    assert "retention.capped" in events
    assert any("retention.capped" in m and "deleted=10" in m for m in logs)


@pytest.mark.flow
def test_audit_flow_stores_snapshots(flow_env: Path, restore_logging: None) -> None:
    from flows.maintenance import catalog_audit

    _seed_catalog(get_runtime().database_url)
    state = catalog_audit(return_state=True)
    assert state.is_completed(), state.message
    (source,) = state.result()["sources"]
    assert source["flags"] == ["decimal_bug (1)"]
    assert source["snapshot_id"]


MARKER = "ZZ-PRIVATE-ROW-MARKER"
URL_SECRET = "ZZURLSECRETpassw0rd"


def _marked_rows(n: int) -> list[dict[str, str]]:
    rows = []
    for i in range(n):
        rows.append(
            catalog_row(
                i,
                name=f"{MARKER}-{i} Trail Tent",
                sku=f"{MARKER}-{i}",
                description=f"Private text {MARKER}-{i}, do not log.",
                productUrl=f"https://buyer:{URL_SECRET}@shop.example.com/p/{i}?token={URL_SECRET}",
            )
        )
    rows[3] = {**rows[3], "sku": f"{MARKER} with space"}  # an invalid row, kept for forensics
    return rows


class _TerminalStore:
    """Wraps the runtime's store: reads of one chunk raise a terminal error."""

    def __init__(self, inner: Any, fail_start: int) -> None:
        self.inner = inner
        self.fail_start = fail_start

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def read_range(self, uri: str, start: int, end: int, *, expected: Any = None) -> bytes:
        if start == self.fail_start:
            raise MalformedCsvError("bad bytes", byte_offset=start)
        return bytes(self.inner.read_range(uri, start, end, expected=expected))


@pytest.mark.flow
def test_failing_ingest_leaks_no_row_content(
    flow_env: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
    restore_logging: None,
) -> None:
    from flows import ingest as ingest_module

    monkeypatch.setenv("CATALOG_SENTRY_DSN", FAKE_DSN)
    monkeypatch.setenv("CATALOG_LOG_FORMAT", "json")
    get_settings.cache_clear()
    rt = get_runtime()
    rt.store.write("v2/trailco/private.csv", to_csv(_marked_rows(60)))
    trigger = steps.request_ingest(
        rt,
        source="trailco",
        uri_or_key="v2/trailco/private.csv",
        scraper_revision="t",
        chunk_size=2048,
    )
    planned = steps.plan_job(rt, trigger.job_id)
    assert len(planned.chunks) > 2
    flaky = dataclasses.replace(rt, store=_TerminalStore(rt.store, planned.chunks[2].byte_start))
    monkeypatch.setattr(ingest_module, "get_runtime", lambda: flaky)

    captured: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            captured.append(self.format(record) + repr(vars(record)))

    root_handler = Collect()
    logging.getLogger().addHandler(root_handler)
    try:
        with memory_sentry() as sentry, caplog.at_level(logging.DEBUG):
            state = ingest_module.configured_flow()(
                job_id=str(trigger.job_id), label="private.csv", return_state=True
            )
            import sentry_sdk

            sentry_sdk.get_client().flush(timeout=5)
            sent = sentry.serialized()
            events = sentry.events
    finally:
        logging.getLogger().removeHandler(root_handler)
    out, err = capfd.readouterr()

    assert state.is_failed()
    with connect(rt.database_url) as conn:
        staged = conn.execute(
            "SELECT count(*) AS n FROM etl_staged_items WHERE job_id = %s", (trigger.job_id,)
        ).fetchone()
        invalid = conn.execute("SELECT raw_data FROM invalid_item_logs").fetchall()
    # The markers did go through the pipeline (so the test can fail) ...
    assert staged is not None
    assert staged["n"] > 0
    assert any(MARKER in json.dumps(r["raw_data"]) for r in invalid)
    assert any('"event": "etl.chunk.completed"' in line for line in err.splitlines())
    # ... the failure reached Sentry as an event tagged with the job and source ...
    failed = [e for e in events if e["tags"].get("event") == "etl.job.failed"]
    assert failed
    assert failed[0]["tags"]["job_id"] == str(trigger.job_id)
    assert failed[0]["tags"]["source"] == "trailco"
    # ... and no log line, record or Sentry payload carries row content or the URL secret.
    texts = {
        "caplog": caplog.text + "".join(repr(vars(r)) for r in caplog.records),
        "root-handler": "\n".join(captured),
        "stdout": out,
        "stderr": err,
        "sentry": sent,
    }
    for where, text in texts.items():
        assert MARKER not in text, where
        assert URL_SECRET not in text, where
        assert "Private text" not in text, where

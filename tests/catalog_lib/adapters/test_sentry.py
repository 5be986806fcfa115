"""Sentry: which records become events, their tags, and what the scrubbers remove."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
import sentry_sdk

from catalog_lib.adapters.sentry import (
    capture_event,
    init_sentry,
    redact_secrets,
    scrub_breadcrumb,
    scrub_event,
)
from catalog_lib.core.errors import SourceChangedError
from tests.sentry_memory import FAKE_DSN, MemoryTransport, memory_sentry

log = logging.getLogger("catalog_lib.telemetry_test")
# Kept away from the raising line: Sentry sends a few lines of source context around it.
DB_MESSAGE = 'Failing row contains (ZZ-ROW-2, "Secret Tent")'


@pytest.fixture
def sentry() -> Iterator[MemoryTransport]:
    logging.getLogger("catalog_lib").setLevel(logging.INFO)
    with memory_sentry() as transport:
        yield transport
    logging.getLogger("catalog_lib").setLevel(logging.NOTSET)


def _flush() -> None:
    sentry_sdk.get_client().flush(timeout=2)


@pytest.mark.parametrize(
    "event",
    [
        "etl.embedding.fallback",
        "etl.reconcile.mismatch",
        "etl.etag.refused",
        "retention.capped",
        "etl.sweeper.closed",
    ],
)
def test_important_warnings_become_events_with_tags(sentry: MemoryTransport, event: str) -> None:
    log.warning("w", extra={"event": event, "job_id": "job-1", "source": "trailco", "count": 3})
    _flush()
    (sent,) = sentry.events
    assert sent["message"] == event
    assert sent["level"] == "warning"
    assert sent["tags"]["event"] == event
    assert (sent["tags"]["job_id"], sent["tags"]["source"]) == ("job-1", "trailco")
    assert sent["extra"]["count"] == 3


def test_etag_refusal_of_an_operator_action_is_an_event(sentry: MemoryTransport) -> None:
    log.warning("r", extra={"event": "etl.action.refused", "code": "ETL_ETAG_MISMATCH"})
    log.warning("r", extra={"event": "etl.action.refused", "code": "ETL_NOT_ELIGIBLE"})
    _flush()
    assert [e["tags"]["code"] for e in sentry.events] == ["ETL_ETAG_MISMATCH"]


def test_ordinary_warnings_and_info_are_breadcrumbs_only(sentry: MemoryTransport) -> None:
    log.info("i", extra={"event": "etl.chunk.completed", "job_id": "j", "rows_valid": 9})
    log.warning("w", extra={"event": "etl.embedding.retry", "job_id": "j"})
    log.warning("no event extra: ignored")
    assert sentry.events == []
    log.error("e", extra={"event": "etl.job.failed", "job_id": "j", "source": "s"})
    _flush()
    (failed,) = sentry.events
    assert failed["level"] == "error"
    assert failed["tags"]["event"] == "etl.job.failed"
    crumbs = [c["category"] for c in failed["breadcrumbs"]["values"]]
    assert crumbs[-2:] == ["etl.chunk.completed", "etl.embedding.retry"]
    assert failed["breadcrumbs"]["values"][-2]["data"] == {"job_id": "j", "rows_valid": 9}


def test_row_content_in_extras_is_dropped(sentry: MemoryTransport) -> None:
    log.error(
        "e",
        extra={
            "event": "etl.job.failed",
            "job_id": "j",
            "item_name": "ZZ-ROW Tent",
            "raw_data": {"sku": "ZZ-ROW-1"},
            "rows": 4,
        },
    )
    _flush()
    (sent,) = sentry.events
    assert "ZZ-ROW" not in sentry.serialized()
    assert sent["extra"]["rows"] == 4
    assert "item_name" not in sent["extra"]


def test_foreign_exception_values_are_withheld(sentry: MemoryTransport) -> None:
    try:
        raise RuntimeError(DB_MESSAGE)
    except RuntimeError:
        sentry_sdk.capture_exception()
    try:
        raise SourceChangedError("the source changed", object_key="a.csv")
    except SourceChangedError:
        sentry_sdk.capture_exception()
    _flush()
    values = [e["exception"]["values"][-1]["value"] for e in sentry.events]
    assert values == [
        "RuntimeError (message withheld)",
        "the source changed (object_key=a.csv)",
    ]
    assert "ZZ-ROW-2" not in sentry.serialized()
    frames = sentry.events[0]["exception"]["values"][-1]["stacktrace"]["frames"]
    assert all("vars" not in f for f in frames)


def test_capture_event_helper_and_no_op_without_sdk(sentry: MemoryTransport) -> None:
    assert capture_event("retention.capped", tags={"source": "x"}) is not None
    _flush()
    assert sentry.events[0]["tags"] == {"event": "retention.capped", "source": "x"}


def test_capture_event_without_sentry_does_nothing() -> None:
    assert not sentry_sdk.is_initialized()
    assert capture_event("retention.capped") is None
    assert init_sentry(None) is False


def test_init_is_idempotent_for_the_same_dsn(sentry: MemoryTransport) -> None:
    assert init_sentry(FAKE_DSN)  # keeps the in-memory transport
    log.warning("w", extra={"event": "retention.capped"})
    _flush()
    assert len(sentry.events) == 1
    handlers = [h for h in logging.getLogger().handlers if hasattr(h, "catalog_etl_sentry")]
    assert len(handlers) == 1


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        pytest.param(FAKE_DSN, "0123456789abcdef0123456789abcdef", id="dsn"),
        pytest.param("postgresql://etl:hunter2@db.internal/catalog", "hunter2", id="db-url"),
        pytest.param("https://x.example.com/a?token=abc123&q=1", "abc123", id="query-token"),
        pytest.param("Authorization: Bearer eyJhbGciOi.payload", "eyJhbGciOi", id="bearer"),
        pytest.param("key AKIAABCDEFGHIJKLMNOP here", "AKIAABCDEFGHIJKLMNOP", id="aws-key"),
        pytest.param("password=s3cr3t!", "s3cr3t!", id="password"),
        pytest.param(
            "tok wJalrXUtnFEMI9K7MDENGbPxRfiCYEXAMPLEKEY9 x", "wJalrXUtnFEMI", id="opaque"
        ),
    ],
)
def test_secrets_are_redacted(text: str, secret: str) -> None:
    assert secret not in redact_secrets(text)


def test_ids_and_hashes_survive_redaction() -> None:
    text = "job 9b2f4c4e-8a53-4a5f-9a57-0a8c2b1f1e11 etag sha256:" + "ab12" * 16
    assert redact_secrets(text) == text


def test_scrub_event_strips_request_bodies_contexts_and_long_text() -> None:
    event = {
        "message": "x" * 300,
        "request": {"method": "POST", "url": "https://u:p@h.example/v1/ingest?sig=1", "data": "B"},
        "extra": {"job_id": "j", "description": "ZZ-ROW text", "count": 2},
        "contexts": {"row": {"name": "ZZ-ROW"}, "runtime": {"name": "CPython"}},
        "tags": {"source": "s", "sku": "ZZ-ROW-9"},
        "user": {"email": "a@b.c"},
    }
    scrubbed = scrub_event(event, None)
    assert scrubbed is not None
    assert scrubbed["request"] == {"method": "POST", "url": "https://***@h.example/v1/ingest"}
    assert scrubbed["extra"] == {"job_id": "j", "count": 2}
    assert scrubbed["contexts"] == {"row": {}, "runtime": {"name": "CPython"}}
    assert scrubbed["tags"] == {"source": "s"}
    assert "user" not in scrubbed
    assert scrubbed["message"] == "[scrubbed]"


def test_scrub_breadcrumb_keeps_ids_and_redacts_urls() -> None:
    crumb = {
        "category": "httpx",
        "message": "short",
        "data": {"url": "https://k:v@api.example/v1?key=1", "status_code": 200, "body": "B"},
    }
    assert scrub_breadcrumb(crumb) == {
        "category": "httpx",
        "message": "short",
        "data": {"status_code": 200, "url": "https://***@api.example/v1"},
    }

"""Artifact keys, run tags and run-log lines, without a Prefect server."""

from __future__ import annotations

import logging
import re

import pytest

from flows.artifacts import artifact_key, markdown_fields, merge_tags, run_tags, slug
from flows.run_logs import RunLogFormatter
from flows.sweeper import describe_sweep

KEY = re.compile(r"[a-z0-9-]+")


@pytest.mark.parametrize(
    ("source", "key"),
    [
        ("trailco", "ingest-trailco"),
        ("trail_co.eu", "ingest-trail-co-eu"),
        ("Trail Co  EU", "ingest-trail-co-eu"),
        ("--x--", "ingest-x"),
        ("ÄÖü", "ingest-unnamed"),
        ("a" * 200, "ingest-" + "a" * 93),
    ],
)
def test_artifact_keys_are_lowercase_letters_digits_and_dashes(source: str, key: str) -> None:
    assert artifact_key("ingest", source) == key
    assert KEY.fullmatch(artifact_key("ingest", source))


def test_slug_never_ends_with_a_dash_when_cut() -> None:
    key = artifact_key("ingest", "a" * 92 + "-b")
    assert not key.endswith("-")
    assert len(key) <= 100
    assert slug("") == "unnamed"


def test_run_tags_keep_the_trigger_that_created_the_run() -> None:
    assert run_tags("trailco", "cli") == ["source:trailco", "trigger:cli"]
    assert run_tags(None, None) == []
    merged = merge_tags(["trigger:webhook", "x"], run_tags("trailco", "prefect"))
    assert merged == ["trigger:webhook", "x", "source:trailco"]
    assert merge_tags([], run_tags("s", "schedule")) == ["source:s", "trigger:schedule"]


def test_markdown_fields_escape_pipes_and_line_breaks() -> None:
    text = markdown_fields("retry", [("reason", "a|b\nc"), ("new job", None)])
    assert "| reason | a\\|b c |" in text
    assert "| new job | – |" in text


def test_run_log_lines_are_readable_with_structured_context() -> None:
    record = logging.makeLogRecord(
        {
            "name": "catalog_lib.ingest.steps",
            "levelno": logging.ERROR,
            "msg": "job ended",
            "event": "etl.job.failed",
            "job_id": "abc",
            "error_message": "the source changed",
            "chunks": [1, 2],
        }
    )
    line = RunLogFormatter().format(record)
    assert line == (
        'job ended · etl.job.failed · job_id=abc error_message="the source changed" chunks=[1, 2]'
    )


def test_run_log_lines_reduce_exceptions_to_their_name() -> None:
    try:
        raise ValueError("row content: Trail Tent 7")
    except ValueError:
        import sys

        record = logging.makeLogRecord({"msg": "boom", "exc_info": sys.exc_info()})
    line = RunLogFormatter().format(record)
    assert "Trail Tent" not in line
    assert "error_name=ValueError" in line


def test_describe_sweep_names_every_closed_job() -> None:
    report = {
        "examined": 3,
        "closed": 1,
        "jobs": [
            {
                "job_id": "j1",
                "source": "s",
                "job_status": "running",
                "flow_run_id": "r1",
                "run_state": "CRASHED",
                "closed": True,
                "error_kind": "crashed",
            },
            {
                "job_id": "j2",
                "source": "s",
                "job_status": "running",
                "flow_run_id": "r2",
                "run_state": "RUNNING",
                "closed": False,
                "error_kind": None,
            },
        ],
    }
    assert describe_sweep(report) == [
        "examined 3 open jobs, closed 1",
        "closed job j1 (s): was running, flow run r1 CRASHED → crashed",
    ]

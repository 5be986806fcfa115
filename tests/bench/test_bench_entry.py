"""The benchmark entry point runs, and its JSON has the documented shape and exact counts."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]


def _bench(*args: str) -> dict:
    done = subprocess.run(
        [sys.executable, "-m", "bench", "--quick", "--json", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=280,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout)


def _piece(name: str, *args: str) -> dict:
    """Run one piece once at --quick sizes; its JSON (the only piece in the output)."""
    result = _bench("--only", name, "--runs", "1", *args)
    assert set(result) == {"meta", name}
    return result[name]


def test_quick_planner_piece_counts_exactly() -> None:
    result = _bench("--only", "planner", "--planner-mb", "3", "--runs", "1")
    assert set(result) == {"meta", "planner"}
    assert result["meta"]["profile"]["runs"] == 1
    planner = result["planner"]
    assert planner["exact"] is True
    by_name = {row["name"]: row for row in planner["rows"]}
    assert set(by_name) == {
        "wc -l",
        "raw read, 8 MiB blocks",
        "plan_chunks",
        "count_records (reconcile)",
        "grammar scan alone",
        "count_records_stdlib",
    }
    for counter in (
        "plan_chunks",
        "count_records (reconcile)",
        "grammar scan alone",
        "count_records_stdlib",
    ):
        assert by_name[counter]["result"] == planner["records"]
    # the planner streams: its heap peak is bounded by its blocks, not the file
    memory = planner["memory"]
    assert memory["large"]["file_mb"] > memory["small"]["file_mb"]
    assert 0 < memory["large"]["peak_mib"] < 64
    # quoted multi-line descriptions: more physical lines than records
    assert by_name["wc -l"]["result"] == planner["physical_lines"] > planner["records"] > 5000
    assert by_name["raw read, 8 MiB blocks"]["result"] >= 3_000_000
    for row in planner["rows"]:
        assert row["median_s"] > 0
        assert row["vs_wc"] > 0


def test_unknown_piece_is_refused() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bench", "--only", "planner,nope"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 2
    assert "unknown pieces ['nope']" in done.stderr


@pytest.mark.postgres
@pytest.mark.slow
def test_quick_pipeline_piece_times_every_step_against_raw_copy() -> None:
    piece = _piece("pipeline", "--rows", "2000")
    assert piece["rows"] == 2000
    for key in ("copy", "parse", "plan_parse", "steps"):
        assert piece[key]["median_s"] > 0
        assert piece[key]["rows_per_s"] > 0
    assert piece["copy"]["vs_copy"] == 1.0
    assert piece["steps_s"]["run_chunk"] > 0
    assert piece["steps_s"]["plan_job"] > 0
    assert piece["steps_s"]["stage_chunk (inside)"] > 0  # the write inside run_chunk
    assert piece["steps_s"]["publish_job (inside)"] > 0


@pytest.mark.postgres
@pytest.mark.slow
def test_quick_reingest_piece_reports_embedding_calls() -> None:
    piece = _piece("reingest", "--rows", "4000")
    assert piece["rows"] == 1000
    assert piece["first"]["calls"] >= 1
    assert piece["first"]["texts"] > 0
    assert set(piece["reingest"]) == {"median_s", "calls", "texts"}
    assert piece["time_ratio"] > 0


def test_quick_parse_piece_checks_both_paths_agree() -> None:
    parse = _piece("parse", "--rows", "800")
    assert parse["rows"] == 800
    assert parse["coverage"]["chunks"] >= 1
    assert parse["coverage"]["fallback_chunks"] == 0  # the generator's data is columnar
    assert parse["rowwise"]["cpu_us_per_row"] > 0
    assert parse["speedup_cpu"] > 0


def test_quick_rss_piece_reports_each_childs_own_peak() -> None:
    rss = _piece("rss", "--rss-mb", "1", "2")
    for label in ("small", "large"):
        assert rss[label]["rows"] > 0
        # the child's own VmHWM: an ingest process, not the size of the benchmark parent
        assert 50 < rss[label]["peak_rss_mb"] < 2000
    assert rss["large_vs_small"] > 0


@pytest.mark.postgres
@pytest.mark.slow
def test_quick_workers_piece_reports_the_cores_it_kept_busy() -> None:
    piece = _piece("workers", "--rows", "6000")
    assert piece["rows"] == 6000
    assert piece["chunks"] >= 8
    assert piece["speedup"] > 0
    cores = piece["cores"]
    for label in ("one_worker", "two_workers"):
        assert 0 < piece["cores_busy"][label] <= cores
    assert piece["ceiling"] == pytest.approx(cores / piece["cores_busy"]["one_worker"], rel=0.01)

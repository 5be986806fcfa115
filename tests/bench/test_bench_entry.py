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
    }
    assert by_name["plan_chunks"]["result"] == planner["records"]
    assert by_name["count_records (reconcile)"]["result"] == planner["records"]
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
def test_quick_reingest_piece_reports_embedding_calls() -> None:
    result = _bench("--only", "reingest", "--rows", "4000", "--runs", "1")
    piece = result["reingest"]
    assert piece["rows"] == 1000
    assert piece["first"]["calls"] >= 1
    assert piece["first"]["texts"] > 0
    assert set(piece["reingest"]) == {"median_s", "calls", "texts"}
    assert piece["time_ratio"] > 0

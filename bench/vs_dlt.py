"""Piece ``dlt``: dlt's stock and fastest configurations vs the SQL baseline, interleaved.

dlt runs in an isolated ``uv run --isolated --with 'dlt[postgres]'`` environment
(``bench/load_dlt.py``), never in the project's own.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

from bench.context import Context, median
from bench.ingest import run_baseline

# label → bench/load_dlt.py configuration
DLT_CONFIGS = {"stock": "stock", "fastest": "fastest"}
DLT_WITH = ("dlt[postgres]", "pyarrow", "pandas")


def uv_isolated(*args: str) -> list[str]:
    """``uv run --isolated --with ...`` for dlt, outside the project's environment."""
    withs = [x for spec in DLT_WITH for x in ("--with", spec)]
    return ["uv", "run", "--isolated", "--no-project", *withs, *args]


def bench_dlt(ctx: Context) -> dict[str, Any]:
    """Compare dlt's stock and fastest configurations with the baseline, interleaved."""
    probe = subprocess.run(
        uv_isolated("python", "-c", "import dlt; print(dlt.__version__)"),
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    if probe.returncode != 0:
        return {"error": "dlt could not be installed here: " + probe.stderr.strip()[-400:]}
    path, planted = ctx.catalog_file(ctx.profile.rows)
    rows = planted["rows"]
    script = Path(__file__).with_name("load_dlt.py")
    seconds: dict[str, list[float]] = {"baseline": [], **{k: [] for k in DLT_CONFIGS}}
    errors: dict[str, str] = {}
    loaded: dict[str, int] = {}
    for _ in range(ctx.profile.runs):
        seconds["baseline"].append(run_baseline(ctx, path)["seconds"])
        for label, config in DLT_CONFIGS.items():
            url = ctx.fresh_database(migrated=False)
            pipelines = ctx.root / f"dlt-{ctx._databases}"
            done = subprocess.run(
                uv_isolated(
                    "python",
                    str(script),
                    "--config",
                    config,
                    "--url",
                    url,
                    "--csv",
                    str(path),
                    "--pipelines-dir",
                    str(pipelines),
                ),
                capture_output=True,
                text=True,
                check=False,
            )
            if done.returncode != 0:
                errors[label] = done.stderr.strip()[-400:]
                continue
            report = json.loads(done.stdout.strip().splitlines()[-1])
            seconds[label].append(float(report["seconds"]))
            loaded[label] = int(report["rows"])
    base_s = median(seconds["baseline"])
    out: dict[str, Any] = {
        "rows": rows,
        "dlt_version": probe.stdout.strip(),
        "baseline": {"median_s": round(base_s, 3), "rows_per_s": round(rows / base_s)},
    }
    for label, config in DLT_CONFIGS.items():
        if seconds[label]:
            took = median(seconds[label])
            out[label] = {
                "config": config,
                "median_s": round(took, 3),
                "rows_per_s": round(rows / took),
                "vs_baseline": round(base_s / took, 4),
                "rows_normalized": loaded[label],
            }
        else:
            out[label] = {"config": config, "error": errors.get(label, "no run")}
    return out

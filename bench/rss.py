"""Piece ``rss``: peak RSS of one ingest process for a small and a large file."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from bench.context import MIB, Context


def rss_child(url: str, landing: str, chunk_size: int) -> None:
    """Child process: ingest ``bench/catalog.csv`` from ``landing`` (steps, one process)."""
    from catalog_lib.ingest import steps
    from tests.factories import local_runtime, run_steps

    rt = local_runtime(url, Path(landing), chunk_size=chunk_size)
    trigger = steps.request_ingest(
        rt, source="bench", uri_or_key="bench/catalog.csv", scraper_revision="b"
    )
    job = run_steps(rt, trigger.job_id)
    done = {"status": job["status"], "rows": job["total_processed"], "hwm_kb": _hwm_kb()}
    print(json.dumps(done))


def _hwm_kb() -> int:
    """This process's own peak RSS (VmHWM, KiB) since its exec.

    Not `ru_maxrss` of the waited child: Linux carries the RSS of the process it was forked
    from into that figure, so a large benchmark parent would be counted as the child's peak.
    """
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise SystemExit("no VmHWM in /proc/self/status (Linux only)")


def bench_rss(ctx: Context) -> dict[str, Any]:
    """Peak RSS (the child's own VmHWM) of one ingest of a small and a large file."""
    from bench.catalog_csv import write_csv

    out: dict[str, Any] = {}
    for label, mb in (("small", ctx.profile.rss_small_mb), ("large", ctx.profile.rss_large_mb)):
        url = ctx.fresh_database(migrated=True)
        landing = ctx.root / f"landing-rss-{label}"
        (landing / "bench").mkdir(parents=True)
        records = write_csv(landing / "bench" / "catalog.csv", mb * 1_000_000)
        cmd = [
            sys.executable,
            "-m",
            "bench",
            "--rss-child",
            url,
            str(landing),
            str(ctx.profile.chunk_mib * MIB),
        ]
        with (ctx.root / f"rss-{label}.out").open("w+") as sink:
            proc = subprocess.Popen(cmd, stdout=sink, stderr=subprocess.DEVNULL)
            _, status, _ = os.wait4(proc.pid, 0)
            sink.seek(0)
            lines = sink.read().strip().splitlines()
        if os.waitstatus_to_exitcode(status) != 0 or not lines:
            raise SystemExit(f"the {label} RSS ingest failed")
        child = json.loads(lines[-1])
        if child["rows"] != records or child["status"] != "completed":
            raise SystemExit(f"the {label} RSS ingest processed {child['rows']} of {records}")
        out[label] = {"file_mb": mb, "rows": records, "peak_rss_mb": round(child["hwm_kb"] / 1024)}
    out["large_vs_small"] = round(out["large"]["peak_rss_mb"] / out["small"]["peak_rss_mb"], 3)
    return out

"""One entry point for the benchmarks: ``uv run python -m bench [--quick] [--only ...] [--json]``.

Every piece runs its baseline in the same process run, on the same generated file, interleaved
round by round (baseline, contender, baseline, ...), and reports medians of ``--runs`` rounds
as ratios, so the numbers compare across machines even though absolute rates do not.

Pieces (``--only`` takes a comma list; default: all):

* ``planner``  chunk planner and reconcile counter vs ``wc -l`` on one file (counts checked);
* ``ingest``   the real flow (Prefect, trigger to completed job, embeddings off) vs COPY +
  SQL upsert into an identical table on the same server; also the orchestration overhead;
* ``dlt``      dlt stock and arrow + CSV loader vs the same baseline (isolated environment);
* ``reingest`` re-ingest of an unchanged file vs first ingest, counting embedding calls;
* ``rss``      peak RSS of an ingest process for a small and a large file;
* ``workers``  the chunk phase with 1 and 2 worker processes.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.timing import timed_steps

PIECES = ("planner", "ingest", "dlt", "reingest", "rss", "workers")
MIB = 1024 * 1024


@dataclass(frozen=True)
class Profile:
    """Sizes of one benchmark run."""

    rows: int
    planner_mb: int
    rss_small_mb: int
    rss_large_mb: int
    runs: int
    chunk_mib: int = 16


FULL = Profile(rows=200_000, planner_mb=1000, rss_small_mb=100, rss_large_mb=1000, runs=3)
QUICK = Profile(rows=20_000, planner_mb=50, rss_small_mb=5, rss_large_mb=50, runs=3)


@dataclass
class Context:
    """What the pieces share: sizes, a scratch folder, one lazily started PostgreSQL."""

    profile: Profile
    root: Path
    stack: ExitStack
    _server: Any = None
    _databases: int = 0
    _files: dict[str, tuple[Path, dict[str, int]]] = field(default_factory=dict)

    def server_url(self, database: str = "postgres") -> str:
        """URL of the benchmark's own embedded PostgreSQL (started on first use)."""
        if self._server is None:
            from catalog_lib.adapters.embedded_postgres import EmbeddedPostgres

            server = EmbeddedPostgres(self.root / "pg")
            server.start()
            self.stack.callback(server.stop)
            self._server = server
        return str(self._server.url(database))

    def fresh_database(self, *, migrated: bool) -> str:
        """A new database on the server; migrated to the product's schema when asked."""
        import psycopg
        from psycopg import sql

        from catalog_lib.adapters.postgres import upgrade_schema

        self._databases += 1
        name = f"bench_{self._databases}"
        with psycopg.connect(self.server_url(), autocommit=True) as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        url = self.server_url(name)
        if migrated:
            upgrade_schema(url, embedding_dimensions=8)
        return url

    def catalog_file(self, rows: int) -> tuple[Path, dict[str, int]]:
        """The project generator's catalog CSV of ``rows`` rows, and what it planted."""
        key = f"catalog-{rows}"
        if key not in self._files:
            from bench.catalog_csv import write_rows

            path = self.root / f"catalog-{rows}.csv"
            self._files[key] = (path, write_rows(path, rows, seed=20261130))
        return self._files[key]


def median(values: list[float]) -> float:
    """Median of the runs' values."""
    return statistics.median(values)


def load() -> list[float]:
    """The 1-, 5- and 15-minute load averages (noise indicator on shared machines)."""
    return [round(x, 2) for x in os.getloadavg()]


def wc_lines(path: Path) -> int:
    """Physical lines by ``wc -l``."""
    out = subprocess.run(["wc", "-l", str(path)], check=True, capture_output=True, text=True)
    return int(out.stdout.split()[0])


def iter_blocks(path: Path, block: int = 8 * MIB) -> Iterator[bytes]:
    """The file in blocks, as object storage streams it."""
    with path.open("rb") as fh:
        while data := fh.read(block):
            yield data


def timed(run: Callable[[], Any]) -> tuple[float, Any]:
    """Wall seconds of one call and its result."""
    start = time.perf_counter()
    result = run()
    return time.perf_counter() - start, result


# --- planner and counter -------------------------------------------------------------------


def bench_planner(ctx: Context) -> dict[str, Any]:
    """Planner (fast path) and reconcile counter vs ``wc -l``; every count checked exactly."""
    from bench.catalog_csv import write_csv
    from catalog_lib.adapters.counting import count_records
    from catalog_lib.adapters.storage import StorageConfig, open_store
    from catalog_lib.rules.chunking import plan_chunks

    folder = ctx.root / "planner"
    folder.mkdir()
    path = folder / "catalog.csv"
    records = write_csv(path, ctx.profile.planner_mb * 1_000_000)
    size = path.stat().st_size
    chunk = ctx.profile.chunk_mib * MIB
    store = open_store(StorageConfig(landing_url=str(folder)))
    version = store.head(str(path))
    contenders: dict[str, Callable[[], int]] = {
        "wc -l": lambda: wc_lines(path),
        "raw read, 8 MiB blocks": lambda: sum(len(b) for b in iter_blocks(path)),
        "plan_chunks": lambda: (
            plan_chunks(iter_blocks(path), size=size, chunk_size=chunk).record_count
        ),
        "count_records (reconcile)": lambda: count_records(store, version).records,
    }
    seconds: dict[str, list[float]] = {name: [] for name in contenders}
    results: dict[str, int] = {}
    for _ in range(ctx.profile.runs):
        for name, run in contenders.items():
            took, result = timed(run)
            seconds[name].append(took)
            results[name] = int(result)
    wc_s = median(seconds["wc -l"])
    rows = [
        {
            "name": name,
            "median_s": round(median(runs), 4),
            "mb_per_s": round(size / 1e6 / median(runs), 1),
            "vs_wc": round(wc_s / median(runs), 4),
            "result": results[name],
        }
        for name, runs in seconds.items()
    ]
    exact = results["plan_chunks"] == results["count_records (reconcile)"] == records
    return {
        "file_mb": round(size / 1e6, 1),
        "records": records,
        "physical_lines": results["wc -l"],
        "exact": exact,
        "rows": rows,
    }


# --- the product's ingest through the real flow ---------------------------------------------


STEP_NAMES = (
    "plan_job",
    "run_chunk",
    "aggregate_job",
    "count_source",
    "reconcile_job",
    "run_apply_partition",
    "finalize_job",
)


@contextmanager
def prefect_server(ctx: Context) -> Iterator[None]:
    """A throwaway local Prefect server for the flow runs (loopback, no telemetry)."""
    os.environ["PREFECT_LOCAL_STORAGE_PATH"] = str(ctx.root / "prefect-results")
    os.environ["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
    os.environ["PREFECT_LOGGING_LEVEL"] = "WARNING"
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=300):
        yield


def run_flow(ctx: Context, csv_path: Path, env: dict[str, str]) -> dict[str, Any]:
    """Ingest ``csv_path`` into a fresh database through the configured flow; timings."""
    from catalog_lib.core.settings import get_settings
    from catalog_lib.ingest import steps
    from flows import ingest as ingest_module
    from flows.runtime import get_runtime

    url = ctx.fresh_database(migrated=True)
    landing = ctx.root / f"landing-{ctx._databases}"
    (landing / "bench").mkdir(parents=True)
    os.link(csv_path, landing / "bench" / "catalog.csv")
    settings_env = {
        "CATALOG_DATABASE_URL": url,
        "CATALOG_LANDING_URL": str(landing),
        "CATALOG_HOME": str(ctx.root / "home"),
        "CATALOG_EMBEDDING_PROVIDER": "none",
        "CATALOG_CHUNK_SIZE": str(ctx.profile.chunk_mib * MIB),
        **env,
    }
    old = {k: os.environ.get(k) for k in settings_env}
    os.environ.update(settings_env)
    get_settings.cache_clear()
    get_runtime.cache_clear()
    try:
        with timed_steps(STEP_NAMES) as work:
            start = time.perf_counter()
            trigger = steps.request_ingest(
                get_runtime(), source="bench", uri_or_key="bench/catalog.csv", scraper_revision="b"
            )
            state = ingest_module.configured_flow()(
                job_id=str(trigger.job_id), label="bench", return_state=True
            )
            wall = time.perf_counter() - start
        if not state.is_completed():
            raise SystemExit(f"the ingest flow ended {state.type}: {state.message}")
        summary = state.result()
    finally:
        for key, value in old.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        get_settings.cache_clear()
        get_runtime.cache_clear()
    return {"seconds": wall, "work": dict(work), "summary": summary}


def run_baseline(ctx: Context, csv_path: Path) -> dict[str, Any]:
    """COPY + one SQL upsert into the product's catalog_items (fresh migrated database)."""
    import psycopg

    from bench import baseline_sql

    url = ctx.fresh_database(migrated=True)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CHECKPOINT")
    result = baseline_sql.load(url, csv_path)
    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT count(*) FROM catalog_items").fetchone()
    result["rows_in_target"] = int(row[0]) if row else 0
    return result


def bench_ingest(ctx: Context) -> dict[str, Any]:
    """Flow ingest vs the COPY + SQL upsert baseline; orchestration overhead from the same runs."""
    path, planted = ctx.catalog_file(ctx.profile.rows)
    rows = planted["rows"]
    base: list[dict[str, Any]] = []
    ours: list[dict[str, Any]] = []
    serial: list[dict[str, Any]] = []
    with prefect_server(ctx):
        for _ in range(ctx.profile.runs):
            base.append(run_baseline(ctx, path))
            ours.append(run_flow(ctx, path, {}))
            serial.append(run_flow(ctx, path, {"CATALOG_CHUNK_CONCURRENCY": "1"}))
    for run in (*ours, *serial):
        summary = run["summary"]
        if summary["total_processed"] != rows or summary["reconcile_delta"] != 0:
            raise SystemExit(f"the flow processed {summary['total_processed']} of {rows} rows")
    base_s = median([r["seconds"] for r in base])
    ours_s = median([r["seconds"] for r in ours])
    serial_s = median([r["seconds"] for r in serial])
    serial_work = median([sum(r["work"].values()) for r in serial])
    chunk_apply = median(
        [r["work"]["run_chunk"] + r["work"]["run_apply_partition"] for r in serial]
    )
    return {
        "rows": rows,
        "file_mb": round(path.stat().st_size / 1e6, 1),
        "chunk_mib": ctx.profile.chunk_mib,
        "baseline": {
            "median_s": round(base_s, 3),
            "rows_per_s": round(rows / base_s),
            "rows_in_target": base[-1]["rows_in_target"],
        },
        "flow": {
            "median_s": round(ours_s, 3),
            "rows_per_s": round(rows / ours_s),
            "vs_baseline": round(base_s / ours_s, 4),
            "items_upserted": ours[-1]["summary"]["items_upserted"],
            "total_invalid": ours[-1]["summary"]["total_invalid"],
            "steps_s": {k: round(v, 3) for k, v in ours[-1]["work"].items()},
        },
        "overhead": {
            "chunk_concurrency": 1,
            "flow_wall_s": round(serial_s, 3),
            "step_work_s": round(serial_work, 3),
            "chunk_plus_apply_s": round(chunk_apply, 3),
            "overhead_share": round(max(serial_s - serial_work, 0.0) / serial_s, 4),
        },
        "all_s": {
            "baseline": [round(r["seconds"], 3) for r in base],
            "flow": [round(r["seconds"], 3) for r in ours],
            "flow_serial": [round(r["seconds"], 3) for r in serial],
        },
    }


# --- dlt --------------------------------------------------------------------------------------

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


# --- re-ingest with a counting embedding provider --------------------------------------------


class CountingEmbeddings:
    """A local embedding provider that counts calls and texts (deterministic 8-d vectors)."""

    def __init__(self) -> None:
        self.name = "counting"
        self.dimensions: int | None = 8
        self.enabled = True
        self.calls = 0
        self.texts = 0

    def embed(self, texts: Any) -> list[list[float]]:
        """One vector per text, derived from its hash."""
        import hashlib

        self.calls += 1
        self.texts += len(texts)
        vectors = []
        for text in texts:
            digest = hashlib.sha256(text.encode()).digest()
            vectors.append([b / 255 for b in digest[:8]])
        return vectors


def bench_reingest(ctx: Context) -> dict[str, Any]:
    """First ingest vs re-ingest of the same bytes (a new object version, same content)."""
    from catalog_lib.ingest import steps
    from tests.factories import local_runtime, run_steps

    path, planted = ctx.catalog_file(max(ctx.profile.rows // 4, 1000))
    first: list[tuple[float, int, int]] = []
    again: list[tuple[float, int, int]] = []
    for _ in range(ctx.profile.runs):
        url = ctx.fresh_database(migrated=True)
        landing = ctx.root / f"landing-{ctx._databases}"
        (landing / "bench").mkdir(parents=True)
        provider = CountingEmbeddings()
        rt = local_runtime(url, landing, chunk_size=ctx.profile.chunk_mib * MIB, provider=provider)
        for key, sink in (("bench/catalog.csv", first), ("bench/catalog-again.csv", again)):
            os.link(path, landing / key)
            calls, texts = provider.calls, provider.texts
            start = time.perf_counter()
            trigger = steps.request_ingest(rt, source="bench", uri_or_key=key, scraper_revision="b")
            job = run_steps(rt, trigger.job_id)
            took = time.perf_counter() - start
            if job["status"] != "completed":
                raise SystemExit(f"re-ingest benchmark job ended {job['status']}")
            sink.append((took, provider.calls - calls, provider.texts - texts))
    first_s = median([t for t, _, _ in first])
    again_s = median([t for t, _, _ in again])
    return {
        "rows": planted["rows"],
        "first": {"median_s": round(first_s, 3), "calls": first[-1][1], "texts": first[-1][2]},
        "reingest": {"median_s": round(again_s, 3), "calls": again[-1][1], "texts": again[-1][2]},
        "time_ratio": round(again_s / first_s, 4),
    }


# --- peak RSS -----------------------------------------------------------------------------------


def rss_child(url: str, landing: str, chunk_size: int) -> None:
    """Child process: ingest ``bench/catalog.csv`` from ``landing`` (steps, one process)."""
    from catalog_lib.ingest import steps
    from tests.factories import local_runtime, run_steps

    rt = local_runtime(url, Path(landing), chunk_size=chunk_size)
    trigger = steps.request_ingest(
        rt, source="bench", uri_or_key="bench/catalog.csv", scraper_revision="b"
    )
    job = run_steps(rt, trigger.job_id)
    print(json.dumps({"status": job["status"], "rows": job["total_processed"]}))


def bench_rss(ctx: Context) -> dict[str, Any]:
    """Peak RSS (ru_maxrss of the child) of one ingest of a small and a large file."""
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
            _, status, usage = os.wait4(proc.pid, 0)
            sink.seek(0)
            lines = sink.read().strip().splitlines()
        if os.waitstatus_to_exitcode(status) != 0 or not lines:
            raise SystemExit(f"the {label} RSS ingest failed")
        child = json.loads(lines[-1])
        if child["rows"] != records or child["status"] != "completed":
            raise SystemExit(f"the {label} RSS ingest processed {child['rows']} of {records}")
        out[label] = {"file_mb": mb, "rows": records, "peak_rss_mb": round(usage.ru_maxrss / 1024)}
    out["large_vs_small"] = round(out["large"]["peak_rss_mb"] / out["small"]["peak_rss_mb"], 3)
    return out


# --- chunk workers ------------------------------------------------------------------------------


def _chunk_worker(
    url: str, landing: str, chunk_size: int, job_id: str, version: Any, header: bytes, spec: Any
) -> int:
    """Worker process: run one chunk task body (parse, stage, ledger) against the database."""
    import uuid

    from catalog_lib.ingest import steps
    from tests.factories import local_runtime

    rt = local_runtime(url, Path(landing), chunk_size=chunk_size)
    return steps.run_chunk(rt, uuid.UUID(job_id), version, header, spec).rows_processed


def bench_workers(ctx: Context) -> dict[str, Any]:
    """The chunk phase of one job with 1 and 2 worker processes (interleaved, median)."""
    import uuid
    from concurrent.futures import ProcessPoolExecutor

    from catalog_lib.ingest import steps
    from tests.factories import local_runtime

    path, planted = ctx.catalog_file(ctx.profile.rows)
    # At least 8 chunks, so two workers are never left waiting on an odd last chunk.
    chunk_size = max(min(ctx.profile.chunk_mib * MIB, path.stat().st_size // 8), 256 * 1024)
    seconds: dict[int, list[float]] = {1: [], 2: []}
    chunks = 0
    for _ in range(ctx.profile.runs):
        for workers in (1, 2):
            url = ctx.fresh_database(migrated=True)
            landing = ctx.root / f"landing-{ctx._databases}"
            (landing / "bench").mkdir(parents=True)
            os.link(path, landing / "bench" / "catalog.csv")
            rt = local_runtime(url, landing, chunk_size=chunk_size)
            trigger = steps.request_ingest(
                rt, source="bench", uri_or_key="bench/catalog.csv", scraper_revision="b"
            )
            steps.start_job(rt, trigger.job_id, None)
            planned = steps.plan_job(rt, trigger.job_id)
            header = steps.read_header(rt, planned.version, planned.data_start)
            chunks = len(planned.chunks)
            start = time.perf_counter()
            with ProcessPoolExecutor(max_workers=workers) as pool:
                futures = [
                    pool.submit(
                        _chunk_worker,
                        url,
                        str(landing),
                        chunk_size,
                        str(trigger.job_id),
                        planned.version,
                        header,
                        spec,
                    )
                    for spec in planned.chunks
                ]
                processed = sum(future.result() for future in futures)
            if processed != planned.record_count:
                raise SystemExit(f"the chunk phase processed {processed} of {planned.record_count}")
            seconds[workers].append(time.perf_counter() - start)
            steps.aggregate_job(
                rt,
                uuid.UUID(str(trigger.job_id)),
                expected_records=planned.record_count,
                expected_chunks=chunks,
            )
    one, two = median(seconds[1]), median(seconds[2])
    return {
        "rows": planted["rows"],
        "chunks": chunks,
        "chunk_mib": chunk_size / MIB,
        "one_worker": {"median_s": round(one, 3), "rows_per_s": round(planted["rows"] / one)},
        "two_workers": {"median_s": round(two, 3), "rows_per_s": round(planted["rows"] / two)},
        "speedup": round(one / two, 3),
        "cores": os.cpu_count(),
    }


# --- driver -------------------------------------------------------------------------------------

RUNNERS: dict[str, Callable[[Context], dict[str, Any]]] = {
    "planner": bench_planner,
    "ingest": bench_ingest,
    "dlt": bench_dlt,
    "reingest": bench_reingest,
    "rss": bench_rss,
    "workers": bench_workers,
}


def table(results: dict[str, Any]) -> str:
    """The human-readable summary: one line per measured ratio."""
    lines = [f"{'benchmark':<44}{'value':>14}  detail"]

    def add(name: str, value: str, detail: str = "") -> None:
        lines.append(f"{name:<44}{value:>14}  {detail}")

    for name, piece in results.items():
        if not isinstance(piece, dict) or name in ("meta",):
            continue
        if "error" in piece:
            add(name, "not run", piece["error"][:120])
            continue
        if name == "planner":
            for row in piece["rows"]:
                add(
                    f"planner: {row['name']}",
                    f"{row['vs_wc']:.3f}x wc",
                    f"{row['median_s']:.3f} s, {row['mb_per_s']:.0f} MB/s, result {row['result']}",
                )
            add("planner: counts exact", str(piece["exact"]), f"{piece['records']} records")
        elif name == "ingest":
            flow, base, over = piece["flow"], piece["baseline"], piece["overhead"]
            add(
                "ingest (flow) vs COPY + SQL upsert",
                f"{flow['vs_baseline']:.3f}x",
                f"{flow['rows_per_s']:,} vs {base['rows_per_s']:,} rows/s, {piece['rows']} rows",
            )
            add(
                "orchestration overhead (1 chunk worker)",
                f"{over['overhead_share']:.1%}",
                f"wall {over['flow_wall_s']} s, step work {over['step_work_s']} s",
            )
        elif name == "dlt":
            for label in DLT_CONFIGS:
                entry = piece[label]
                if "error" in entry:
                    add(f"dlt {label}", "failed", entry["error"][:120])
                else:
                    add(
                        f"dlt {label} ({entry['config']}) vs baseline",
                        f"{entry['vs_baseline']:.3f}x",
                        f"{entry['rows_per_s']:,} rows/s",
                    )
        elif name == "reingest":
            add(
                "re-ingest unchanged vs first ingest",
                f"{piece['time_ratio']:.3f}x time",
                f"embedding calls {piece['reingest']['calls']} vs {piece['first']['calls']}",
            )
        elif name == "rss":
            add(
                "peak RSS large vs small file",
                f"{piece['large_vs_small']:.2f}x",
                f"{piece['large']['peak_rss_mb']} MB ({piece['large']['file_mb']} MB file) vs "
                f"{piece['small']['peak_rss_mb']} MB ({piece['small']['file_mb']} MB file)",
            )
        elif name == "workers":
            add(
                "chunk phase, 2 workers vs 1",
                f"{piece['speedup']:.2f}x",
                f"{piece['chunks']} chunks on {piece['cores']} cores",
            )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Parse the options, run the chosen pieces, print the table (or JSON)."""
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes (minutes, not tens)")
    parser.add_argument("--only", default=",".join(PIECES), help=f"comma list of {PIECES}")
    parser.add_argument("--json", action="store_true", help="print JSON instead of the table")
    parser.add_argument("--rows", type=int, help="rows of the ingest/dlt/workers file")
    parser.add_argument("--planner-mb", type=int, help="size of the planner/counter file (MB)")
    parser.add_argument("--rss-mb", type=int, nargs=2, metavar=("SMALL", "LARGE"))
    parser.add_argument("--runs", type=int, help="interleaved rounds per piece (median kept)")
    parser.add_argument("--chunk-mib", type=int, help="chunk size (MiB) of the ingests")
    parser.add_argument("--rss-child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.rss_child:
        rss_child(args.rss_child[0], args.rss_child[1], int(args.rss_child[2]))
        return 0
    base = QUICK if args.quick else FULL
    profile = Profile(
        rows=args.rows or base.rows,
        planner_mb=args.planner_mb or base.planner_mb,
        rss_small_mb=args.rss_mb[0] if args.rss_mb else base.rss_small_mb,
        rss_large_mb=args.rss_mb[1] if args.rss_mb else base.rss_large_mb,
        runs=args.runs or base.runs,
        chunk_mib=args.chunk_mib or base.chunk_mib,
    )
    pieces = [p.strip() for p in args.only.split(",") if p.strip()]
    unknown = sorted(set(pieces) - set(PIECES))
    if unknown:
        parser.error(f"unknown pieces {unknown}; choose from {PIECES}")
    root = Path(tempfile.mkdtemp(prefix="catalog-bench-", dir="/tmp"))
    root.chmod(0o755)  # as root the embedded server runs as a service user who must enter it
    results: dict[str, Any] = {
        "meta": {
            "profile": profile.__dict__,
            "cores": os.cpu_count(),
            "load_before": load(),
            "python": sys.version.split()[0],
        }
    }
    try:
        with ExitStack() as stack:
            ctx = Context(profile=profile, root=root, stack=stack)
            for piece in pieces:
                started = time.perf_counter()
                results[piece] = RUNNERS[piece](ctx)
                results[piece]["bench_s"] = round(time.perf_counter() - started, 1)
                # Each piece as it ends, so a long run that is stopped keeps what it measured.
                print(json.dumps({piece: results[piece]}, default=str), file=sys.stderr)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    results["meta"]["load_after"] = load()
    if args.json:
        print(json.dumps(results, indent=2, default=str))
    else:
        print(table(results))
        print(
            f"load average before {results['meta']['load_before']}, "
            f"after {results['meta']['load_after']} on {os.cpu_count()} cores"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""`catalog-etl demo`: sample scraper files → landing folder → ingest → summary."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table

from catalog_lib.adapters.postgres import connect, redact_url, resolve_database, upgrade_schema
from catalog_lib.core.sizes import parse_size
from catalog_lib.demo.history import HistorySpec, seed_history
from catalog_lib.demo.sample_files import build_demo_files
from catalog_lib.ops.reports import count_catalog_items
from flows.cli.jobs import ingest_one
from flows.cli.output import (
    JSON_OPTION,
    ExitCode,
    emit,
    fail,
    handle_errors,
    load_settings,
    make_console,
    shown,
)
from flows.cli.startup import announce_database, start_prefect
from flows.runtime import get_runtime, secret_value

# A small, deterministic past so the console has something to show on first start; seeded
# once per database (its jobs are recognisable by their s3://seeded-history/ object keys).
DEMO_HISTORY = HistorySpec(jobs=150, days=14, sources=6, items=300, invalid_logs_per_job=8)


def demo(
    rows: Annotated[
        int, typer.Option(min=10, max=1_000_000, help="Data rows per sample file.")
    ] = 400,
    chunk_size: Annotated[
        str, typer.Option(help="Chunk size for the demo (small, so every file has several chunks).")
    ] = "64KiB",
    history: Annotated[
        bool,
        typer.Option(
            help="Also seed a small made-up history (150 jobs over 14 days, audits, "
            "maintenance runs) for the ops console."
        ),
    ] = True,
    as_json: bool = JSON_OPTION,
) -> None:
    """Write sample scraper CSVs to the landing folder, ingest them, and print a summary."""
    settings = load_settings(as_json)
    try:
        size = parse_size(chunk_size)
    except ValueError as exc:
        fail(str(exc), code=ExitCode.REFUSED, as_json=as_json, kind="usage")
    with handle_errors(as_json):
        announce_database(settings)
        target = resolve_database(
            secret_value(settings.database_url), settings.state_dir, settings.pg_bin_dir
        )
        upgrade_schema(target.url, embedding_dimensions=settings.embedding_dimensions)
        rt = get_runtime()
        server = start_prefect(settings)
        files = build_demo_files(rows_per_source=rows)
        results = []
        for sample in files:
            rt.store.write(sample.key, sample.data)
            document, _ = ingest_one(
                rt, sample.source, sample.key, "demo", size, show_progress=not as_json
            )
            results.append(
                {
                    **document,
                    "expected_rows": sample.expected_rows,
                    "expected_invalid": sample.expected_invalid,
                }
            )
        with connect(rt.database_url) as conn:
            seeded = seed_history(conn, DEMO_HISTORY) if history else None
            catalog_items = count_catalog_items(conn)
    summary = {
        "landing": rt.store.root_uri,
        "database": redact_url(target.url),
        "prefect_ui": server.ui_url,
        "catalog_items": catalog_items,
        "jobs": results,
        "history": None
        if seeded is None
        else {"seeded_jobs": seeded.jobs, "already_seeded": seeded.skipped},
    }
    emit(summary, as_json=as_json, text=lambda: _print_summary(summary))
    if any(r.get("status") != "completed" for r in results):
        raise typer.Exit(int(ExitCode.FAILED))


def _print_summary(summary: dict[str, Any]) -> None:
    console = make_console()
    table = Table(
        "source",
        "status",
        "chunks",
        "rows",
        "valid",
        "rejected",
        "reconcile Δ",
        title="demo ingest",
    )
    for job in summary["jobs"]:
        status = "already ingested" if job.get("duplicate_of") else str(job.get("status"))
        table.add_row(
            job.get("source", job.get("uri", "?")),
            status,
            shown(job.get("chunks")),
            shown(job.get("total_processed")),
            shown(job.get("total_valid")),
            shown(job.get("total_invalid")),
            shown(job.get("reconcile_delta")),
        )
    console.print(table)
    first = next((j for j in summary["jobs"] if j.get("job_id")), None)
    console.print(f"catalog_items now holds [bold]{summary['catalog_items']}[/bold] products.")
    console.print(f"Sample files: {summary['landing']}")
    history = summary.get("history")
    if history and not history["already_seeded"]:
        console.print(
            f"Seeded {history['seeded_jobs']} made-up past jobs for the ops console "
            "(`--no-history` to skip)."
        )
    if summary["prefect_ui"]:
        console.print(f"Prefect UI (flow runs, chunk tasks, artifacts): {summary['prefect_ui']}")
    console.print("\nNext:")
    console.print("  uv run catalog-etl jobs")
    if first:
        short = str(first["job_id"])[:8]  # any unique prefix of a job id works
        console.print(f"  uv run catalog-etl job show {short}")
        console.print(f"  uv run catalog-etl job rows {short}     # its rejected rows, and why")
    console.print(
        '  psql "$(uv run catalog-etl db url)" -c "SELECT sku, name, price FROM '
        'catalog_items LIMIT 5"',
        markup=False,
    )
    console.print("  uv run catalog-etl down       # stop the local servers when you are done")

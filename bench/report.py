"""The human-readable summary of a benchmark run: one line per measured ratio."""

from __future__ import annotations

from typing import Any

from bench.vs_dlt import DLT_CONFIGS


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
            small, large = piece["memory"]["small"], piece["memory"]["large"]
            add(
                "planner: heap peak, large vs small file",
                f"{large['peak_mib'] / max(small['peak_mib'], 0.1):.2f}x",
                f"{large['peak_mib']} MiB ({large['file_mb']} MB) vs "
                f"{small['peak_mib']} MiB ({small['file_mb']} MB)",
            )
        elif name == "pipeline":
            for key, label in (
                ("parse", "parse + map + validate, no DB"),
                ("plan_parse", "plan + parse + map + validate"),
                ("steps", "all steps on one process"),
            ):
                add(
                    f"pipeline: {label} vs raw COPY",
                    f"{piece[key]['vs_copy']:.3f}x",
                    f"{piece[key]['rows_per_s']:,} vs {piece['copy']['rows_per_s']:,} rows/s",
                )
            shares = ", ".join(f"{k} {v:.2f} s" for k, v in piece["steps_s"].items() if v)
            add("pipeline: step times (last round)", "", shares)
        elif name == "parse":
            add(
                "parse: vectorised vs row-wise (CPU)",
                f"{piece['speedup_cpu']:.2f}x",
                f"{piece['columnar']['cpu_us_per_row']} vs {piece['rowwise']['cpu_us_per_row']} "
                f"CPU µs/row; fallback chunks {piece['coverage']['fallback_chunks']} of "
                f"{piece['coverage']['chunks']}",
            )
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
                f"wall {over['flow_wall_s']} s, a step running {over['step_busy_s']} s; "
                f"default pool {over['overhead_share_default_pool']:.1%}",
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
                f"{piece['chunks']} chunks on {piece['cores']} cores; cores busy "
                f"{piece['cores_busy']['one_worker']} with 1 worker, "
                f"{piece['cores_busy']['two_workers']} with 2 (ceiling {piece['ceiling']:.2f}x)",
            )
    return "\n".join(lines)

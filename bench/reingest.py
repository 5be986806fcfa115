"""Piece ``reingest``: re-ingest of an unchanged file vs first ingest, counting embedding calls."""

from __future__ import annotations

import os
import time
from typing import Any

from bench.context import MIB, Context, median


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

"""The apply phase with a real embedding endpoint: only changed texts are embedded, fallback."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from catalog_lib.adapters.embeddings import OpenAICompatibleEmbeddings
from catalog_lib.adapters.postgres import connect
from catalog_lib.ingest import steps
from tests.factories import catalog_row, ingest_file, job_row, local_runtime, to_csv
from tests.fake_embeddings import FakeEmbeddingServer

pytestmark = pytest.mark.postgres


@pytest.fixture
def provider(embedding_server: FakeEmbeddingServer) -> Iterator[OpenAICompatibleEmbeddings]:
    with httpx.Client(trust_env=False) as client:
        yield OpenAICompatibleEmbeddings(
            model="test-model",
            base_url=embedding_server.url,
            api_key="k",
            dimensions=8,
            batch_size=4,
            timeout_s=2.0,
            max_attempts=2,
            backoff_initial_s=0.001,
            backoff_max_s=0.01,
            client=client,
        )


def _embedded_texts(server: FakeEmbeddingServer) -> list[str]:
    return [t for r in server.requests for t in r["body"]["input"]]


def _vectors(db_url: str) -> dict[str, Any]:
    with connect(db_url) as conn:
        rows = conn.execute(
            "SELECT sku, embedding::text AS v, embedding_text_hash AS h "
            "FROM catalog_items ORDER BY sku"
        ).fetchall()
    return {r["sku"]: (r["v"], r["h"]) for r in rows}


def test_every_new_item_is_embedded_once(
    db_url: str,
    tmp_path: Path,
    embedding_server: FakeEmbeddingServer,
    provider: OpenAICompatibleEmbeddings,
) -> None:
    rt = local_runtime(db_url, tmp_path / "l", provider=provider, chunk_size=600)
    rows = [catalog_row(i) for i in range(10)] + [catalog_row(3, description="Updated.")]
    job = ingest_file(rt, "a.csv", to_csv(rows))
    assert job["total_embedding_failures"] == 0
    vectors = _vectors(db_url)
    assert len(vectors) == 10
    assert all(v is not None and h for v, h in vectors.values())
    texts = _embedded_texts(embedding_server)
    assert len(texts) == 10  # one text per merged SKU, not per row
    assert any("Updated." in t for t in texts)


def test_unchanged_texts_are_not_embedded_again(
    db_url: str,
    tmp_path: Path,
    embedding_server: FakeEmbeddingServer,
    provider: OpenAICompatibleEmbeddings,
) -> None:
    rt = local_runtime(db_url, tmp_path / "l", provider=provider)
    ingest_file(rt, "a.csv", to_csv([catalog_row(i) for i in range(6)]))
    before = _vectors(db_url)
    embedding_server.requests.clear()
    changed = [catalog_row(i) for i in range(6)]
    changed[1] = catalog_row(1, price="$9.99")  # price is not part of the embedding text
    changed[2] = catalog_row(2, description="A brand new description.")
    ingest_file(rt, "b.csv", to_csv(changed))
    texts = _embedded_texts(embedding_server)
    assert len(texts) == 1
    assert "brand new" in texts[0]
    after = _vectors(db_url)
    assert after["SKU-00001"] == before["SKU-00001"]
    assert after["SKU-00002"][1] != before["SKU-00002"][1]


def test_provider_failure_loads_rows_keeps_vectors_and_counts_once(
    db_url: str,
    tmp_path: Path,
    embedding_server: FakeEmbeddingServer,
    provider: OpenAICompatibleEmbeddings,
) -> None:
    rt = local_runtime(db_url, tmp_path / "l", provider=provider, apply_partitions=2)
    ingest_file(rt, "a.csv", to_csv([catalog_row(i) for i in range(4)]))
    kept = _vectors(db_url)["SKU-00000"]
    embedding_server.script = ["503"] * 50  # the endpoint is down for the whole next job
    rows = [catalog_row(i, description=f"Changed {i}") for i in range(4)]
    rows += [catalog_row(i) for i in range(4, 9)]
    job = ingest_file(rt, "b.csv", to_csv(rows))
    assert job["status"] == "completed"
    assert job["total_embedding_failures"] == 9  # every item whose text needed a vector
    vectors = _vectors(db_url)
    assert len(vectors) == 9
    assert vectors["SKU-00000"] == kept  # the stale vector and its hash are kept
    assert all(vectors[f"SKU-{i:05d}"] == (None, None) for i in range(4, 9))
    with connect(db_url) as conn:
        descriptions = conn.execute(
            "SELECT description FROM catalog_items WHERE sku = 'SKU-00000'"
        ).fetchone()
        conn.execute("UPDATE etl_jobs SET status = 'running' WHERE id = %s", (job["id"],))
        conn.commit()
    assert descriptions is not None
    assert descriptions["description"] == "Changed 0"
    # A retried apply partition is skipped by the ledger: the failures are not counted twice.
    for partition in range(rt.apply_partitions):
        result = steps.run_apply_partition(
            rt, job["id"], partition, rt.apply_partitions, job["source_last_modified"]
        )
        assert result.skipped
    with connect(db_url) as conn:
        steps.jobs.aggregate_totals(conn, job["id"])
    assert job_row(db_url, job["id"])["total_embedding_failures"] == 9

"""Typed staging (migration 0006): typed columns, NULL for empty, SKU-hash partitions, merge."""

from __future__ import annotations

import json
import uuid
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from catalog_lib.adapters.postgres import connect, downgrade_schema, load_query, upgrade_schema
from catalog_lib.ingest import steps
from catalog_lib.ingest.staging import ITEM_COLUMNS, staged_values
from tests.factories import (
    HEADER,
    catalog_row,
    catalog_snapshot,
    ingest_file,
    local_runtime,
    to_csv,
)

pytestmark = pytest.mark.postgres

# psycopg's binary type per PostgreSQL type of the staged columns (`availability`: its text).
_UDT_BY_COPY_TYPE = {"text": {"text", "availability"}, "float8": {"float8"}, "jsonb": {"jsonb"}}
_UDT_BY_COPY_TYPE |= {"numeric": {"numeric"}, "int4": {"int4"}}


def _stage_only(rt: steps.Runtime, data: bytes, *, chunk_size: int) -> uuid.UUID:
    """Trigger, plan and stage every chunk of `data`; nothing is applied."""
    rt.store.write("trailco/a.csv", data)
    trigger = steps.request_ingest(
        rt,
        source="trailco",
        uri_or_key="trailco/a.csv",
        scraper_revision="t",
        chunk_size=chunk_size,
    )
    steps.start_job(rt, trigger.job_id, None)
    planned = steps.plan_job(rt, trigger.job_id)
    for spec in planned.chunks:
        steps.run_chunk(rt, trigger.job_id, planned.version, planned.header, spec)
    return trigger.job_id


def _merged(db_url: str, job_id: uuid.UUID, partition: int, partitions: int) -> list[str]:
    """The SKUs the merge query yields for one partition (in a rolled-back transaction)."""
    with connect(db_url) as conn, conn.transaction(force_rollback=True):
        conn.execute(load_query("create_merged_table"))
        conn.execute(
            load_query("merge_staged_partition"),
            {"job_id": job_id, "partition": partition, "partitions": partitions},
        )
        return [r["sku"] for r in conn.execute("SELECT sku FROM _merged").fetchall()]


def _plan_nodes(node: dict[str, Any]) -> list[dict[str, Any]]:
    return [node, *(n for child in node.get("Plans", []) for n in _plan_nodes(child))]


def test_empty_values_are_staged_as_null_and_values_stay() -> None:
    item = {
        "sku": "S-1",
        "name": "Tent",
        "description": "",
        "categories": [],
        "techs": {},
        "brand": None,
        "review_count": 0,
        "price": Decimal("0"),
        "images": [""],
        "currency": "0",
    }
    values = dict(zip((name for name, _ in ITEM_COLUMNS), staged_values(item), strict=True))
    assert values["name"] == "Tent"
    assert values["description"] is None
    assert values["categories"] is None
    assert values["techs"] is None
    assert values["brand"] is None
    assert values["color"] is None  # absent
    # 0, a zero price, a list holding an empty string and "0" are values, not empty ones.
    assert values["review_count"] == 0
    assert values["price"] == Decimal("0")
    assert values["images"] == [""]
    assert values["currency"] == "0"


def test_staged_columns_match_the_table(db_url: str) -> None:
    with connect(db_url) as conn:
        rows = conn.execute(
            "SELECT column_name, udt_name, is_generated FROM information_schema.columns "
            "WHERE table_name = 'etl_staged_items' ORDER BY ordinal_position"
        ).fetchall()
    types = {r["column_name"]: r["udt_name"] for r in rows}
    assert {r["column_name"] for r in rows if r["is_generated"] == "ALWAYS"} == {"sku_hash"}
    assert "item" not in types
    assert set(types) == {
        "job_id",
        "record_ordinal",
        "chunk_index",
        "sku",
        "sku_hash",
        *(name for name, _ in ITEM_COLUMNS),
    }
    for name, copy_type in ITEM_COLUMNS:
        assert types[name] in _UDT_BY_COPY_TYPE[copy_type], name


def test_stage_chunk_writes_typed_values_null_for_empty_and_the_sku_hash(
    db_url: str, tmp_path: Path
) -> None:
    rt = local_runtime(db_url, tmp_path / "landing")
    rows = [
        catalog_row(1, price="12.50", description="", categories="[]", reviewCount="0"),
        catalog_row(2, price="$7", weight="", weightUnit="", reviewCount=""),
    ]
    job_id = _stage_only(rt, to_csv(rows), chunk_size=1 << 20)
    with connect(db_url) as conn:
        staged = conn.execute(
            "SELECT *, price::text AS price_text, "
            "sku_hash = (hashtext(sku) & 2147483647) AS hash_ok "
            "FROM etl_staged_items WHERE job_id = %s ORDER BY record_ordinal",
            (job_id,),
        ).fetchall()
    first, second = staged
    assert first["price_text"] == "12.50"  # the Decimal's scale is kept, as jsonb kept it
    assert first["description"] is None
    assert first["categories"] is None
    assert first["review_count"] == 0
    assert first["weight"] == 1001.0
    assert first["weight_unit"] == "g"
    assert first["name"] == "Trail Tent 1"
    assert second["categories"] == ["Tents", "Backpacking"]
    assert second["price"] == Decimal("7")
    assert second["weight"] is None
    assert second["review_count"] is None
    assert all(r["hash_ok"] for r in staged)


@pytest.mark.parametrize("partitions", [1, 2, 3, 5])
def test_each_sku_lands_in_exactly_one_partition(
    db_url: str, tmp_path: Path, partitions: int
) -> None:
    rt = local_runtime(db_url, tmp_path / "landing")
    rows = [catalog_row(i) for i in range(60)] + [
        catalog_row(i, brand="B2") for i in range(0, 60, 7)
    ]
    job_id = _stage_only(rt, to_csv(rows), chunk_size=700)
    merged = [_merged(db_url, job_id, p, partitions) for p in range(partitions)]
    every = [sku for part in merged for sku in part]
    assert sorted(every) == sorted({r["sku"] for r in rows})
    if partitions > 1:
        assert all(part for part in merged)  # 60 SKUs: no partition is empty


def test_a_partition_reads_only_its_rows_through_the_hash_index(
    db_url: str, tmp_path: Path
) -> None:
    rt = local_runtime(db_url, tmp_path / "landing")
    rows = [catalog_row(i) for i in range(120)] + [catalog_row(5, brand="B2")]
    job_id = _stage_only(rt, to_csv(rows), chunk_size=4000)
    params = {"job_id": job_id, "partition": 1, "partitions": 4}
    skus = set(_merged(db_url, job_id, 1, 4))
    expected_rows = sum(1 for r in rows if r["sku"] in skus)
    with connect(db_url) as conn, conn.transaction(force_rollback=True):
        # A tiny table would be scanned whole; the index must be able to bound the read.
        conn.execute("SET LOCAL enable_seqscan = off")
        conn.execute(load_query("create_merged_table"))
        row = conn.execute(
            "EXPLAIN (ANALYZE, FORMAT JSON) " + load_query("merge_staged_partition"), params
        ).fetchone()
    assert row is not None
    nodes = _plan_nodes(row["QUERY PLAN"][0]["Plan"])
    index_nodes = [n for n in nodes if n.get("Index Name") == "etl_staged_items_job_hash_idx"]
    assert index_nodes, "the partition is not read through (job_id, sku_hash)"
    assert [n["Actual Rows"] for n in index_nodes] == [expected_rows]
    assert 0 < expected_rows < len(rows)
    scans = [n for n in nodes if n.get("Relation Name") == "etl_staged_items"]
    assert all(n.get("Rows Removed by Filter", 0) == 0 for n in scans)


_MERGE_HEADER = (*HEADER, "color")


def _merge_rows() -> list[dict[str, str]]:
    """SKU-00001 three times, far apart; later rows leave some fields empty."""
    rows = [catalog_row(1, brand="Alpha", color="red", price="$10.00", reviewCount="5")]
    rows += [catalog_row(i, color="grey") for i in range(2, 12)]
    rows.append(
        catalog_row(
            1,
            name="Tent One v2",
            brand="",
            color="blue",
            price="",
            reviewCount="0",
            description="",
            categories="[]",
        )
    )
    rows += [catalog_row(i, color="grey") for i in range(12, 24)]
    rows.append(
        catalog_row(
            1,
            name="Tent One v3",
            brand="",
            color="",
            price="12.50",
            reviewCount="",
            description="Newest words.",
            weight="",
            weightUnit="",
        )
    )
    return rows


@pytest.mark.parametrize(("chunk_size", "reverse"), [(1 << 20, False), (300, False), (300, True)])
def test_repeated_skus_merge_later_non_empty_values_across_chunks_in_any_order(
    db_url: str, tmp_path: Path, chunk_size: int, reverse: bool
) -> None:
    rt = local_runtime(db_url, tmp_path / "landing")
    data = to_csv(_merge_rows(), header=_MERGE_HEADER)
    job = ingest_file(rt, "trailco/a.csv", data, chunk_size=chunk_size, reverse_chunks=reverse)
    assert job["status"] == "completed"
    if chunk_size > len(data):
        assert job["chunks_total"] == 1
    else:
        assert job["chunks_total"] > 3  # the three rows of SKU-00001 are in different chunks
    item = next(r for r in catalog_snapshot(db_url) if r["sku"] == "SKU-00001")
    assert item["name"] == "Tent One v3"
    assert item["brand"] == "Alpha"  # later empty brands do not erase it
    assert item["color"] == "blue"  # the newest row's empty color does not erase the second's
    assert str(item["price"]) == "12.50"
    assert item["review_count"] == 0  # "0" is a value: it replaces 5; the later empty does not
    assert item["description"] == "Newest words."
    assert item["categories"] == ["Tents", "Backpacking"]  # "[]" is empty
    assert (item["weight"], item["weight_unit"]) == (1001.0, "g")


def test_migration_0006_converts_staged_rows_and_discards_unpublished_prepared_items(
    empty_db_url: str,
) -> None:
    upgrade_schema(empty_db_url, embedding_dimensions=8, revision="0005")
    job_id = uuid.uuid4()
    item = {
        "sku": "SKU-1",
        "name": "Tent",
        "product_url": "https://shop.example.com/p/1",
        "price": "12.50",
        "weight": 1001.5,
        "weight_unit": "g",
        "categories": ["Tents"],
        "availability": "in_stock",
        "review_count": 0,
        "techs": {"k": None, "n": 1},
    }
    with connect(empty_db_url) as conn:
        conn.execute(
            "INSERT INTO etl_jobs (id, status, source, filename, object_key, scraper_revision, "
            "ingest_key) VALUES (%s, 'running', 'trailco', 'a.csv', 'a.csv', 't', %s)",
            (job_id, str(job_id)),
        )
        conn.execute(
            "INSERT INTO etl_staged_items (job_id, record_ordinal, chunk_index, sku, item) "
            "VALUES (%s, 1, 0, 'SKU-1', %s::jsonb)",
            (job_id, json.dumps(item)),
        )
        conn.execute(
            "INSERT INTO etl_prepared_items (job_id, sku, apply_partition, item) "
            "VALUES (%s, 'SKU-1', 0, %s::jsonb)",
            (job_id, json.dumps(item)),
        )
        conn.execute(
            "INSERT INTO etl_job_chunks (job_id, phase, chunk_index, status) "
            "VALUES (%s, 'apply', 0, 'completed')",
            (job_id,),
        )
        conn.commit()

    upgrade_schema(empty_db_url, embedding_dimensions=8)
    with connect(empty_db_url) as conn:
        staged = conn.execute(
            "SELECT *, price::text AS price_text, availability::text AS availability_text, "
            "sku_hash = (hashtext(sku) & 2147483647) AS hash_ok FROM etl_staged_items"
        ).fetchone()
        prepared = conn.execute("SELECT count(*) AS n FROM etl_prepared_items").fetchone()
        ledger = conn.execute(
            "SELECT status::text AS status, error_kind FROM etl_job_chunks WHERE job_id = %s",
            (job_id,),
        ).fetchone()
    assert staged is not None
    assert (staged["name"], staged["price_text"], staged["weight"]) == ("Tent", "12.50", 1001.5)
    assert (staged["categories"], staged["techs"]) == (["Tents"], {"k": None, "n": 1})
    assert (staged["availability_text"], staged["review_count"]) == ("in_stock", 0)
    assert staged["description"] is None
    assert staged["hash_ok"]
    assert prepared == {"n": 0}
    assert ledger == {"status": "failed", "error_kind": "discarded"}

    downgrade_schema(empty_db_url, revision="0005")
    with connect(empty_db_url) as conn:
        back = conn.execute("SELECT item FROM etl_staged_items").fetchone()
    assert back == {"item": item}

"""What staging writes for the values a jsonb cell can hold, on the happy and the failure paths.

These pin the JSON text of `to_json_text` (the stdlib encoder: compact separators, non-ASCII as
is, Decimals as exact strings) and what `stage_chunk` does with a cell PostgreSQL or the
encoder refuses, so a faster encoder can be proven to write the same bytes and fail the same
way.
"""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from catalog_lib.adapters.postgres import connect
from catalog_lib.core.errors import DatabaseQueryError
from catalog_lib.ingest import steps
from catalog_lib.ingest.staging import stage_chunk, to_json_text
from catalog_lib.rules.chunking import ChunkSpec
from catalog_lib.rules.rows import ParsedChunk, ValidRow
from tests.factories import catalog_row, local_runtime, to_csv


@pytest.mark.parametrize(
    ("value", "text"),
    [
        pytest.param({"p": Decimal("1.10")}, '{"p":"1.10"}', id="decimal-keeps-its-scale"),
        pytest.param([Decimal("-0"), Decimal("1E+3")], '["-0","1E+3"]', id="decimal-str"),
        pytest.param([Decimal("NaN")], '["NaN"]', id="decimal-nan-is-a-string"),
        pytest.param([float("nan")], "[NaN]", id="nan"),
        pytest.param([float("inf"), float("-inf")], "[Infinity,-Infinity]", id="infinity"),
        pytest.param(
            {1: "a", None: "b", False: "c", 1.5: "d"},
            '{"1":"a","null":"b","false":"c","1.5":"d"}',
            id="non-str-keys-become-strings",
        ),
        pytest.param(
            [2**70, -(2**64)], "[1180591620717411303424,-18446744073709551616]", id="ints"
        ),
        pytest.param(
            [1e-05, 2.5e-08, 1e16, -0.0, 0.1], "[1e-05,2.5e-08,1e+16,-0.0,0.1]", id="floats"
        ),
        pytest.param(
            ["é漢😀", '\x00\x1f\x7f\n"\\/'], '["é漢😀","\\u0000\\u001f\x7f\\n\\"\\\\/"]', id="str"
        ),
        pytest.param(
            {"b": [None, True, False, {}], "a": []}, '{"b":[null,true,false,{}],"a":[]}', id="order"
        ),
        pytest.param((1, "x"), '[1,"x"]', id="tuple"),
    ],
)
def test_to_json_text_writes_the_stdlib_text(value: Any, text: str) -> None:
    assert to_json_text(value) == text


@pytest.mark.parametrize(
    ("value", "kind"),
    [
        ({1, 2}, "set"),
        (b"bytes", "bytes"),
        (dt.date(2026, 12, 5), "date"),
        (uuid.UUID(int=1), "UUID"),
        (1j, "complex"),
        (object(), "object"),
    ],
)
def test_a_non_json_value_raises_type_error(value: Any, kind: str) -> None:
    with pytest.raises(TypeError, match=f"^cannot serialise {kind}$"):
        to_json_text({"k": [value]})


def test_a_circular_value_raises_value_error() -> None:
    loop: list[Any] = []
    loop.append(loop)
    with pytest.raises(ValueError, match="Circular reference detected"):
        to_json_text(loop)


# --- stage_chunk on PostgreSQL: what lands in the staged jsonb cell, or how the chunk fails.


def _job(db_url: str, tmp_path: Path) -> tuple[uuid.UUID, ChunkSpec]:
    """A started, planned job of a one-row file: its id and its only chunk."""
    rt = local_runtime(db_url, tmp_path / "landing")
    rt.store.write("trailco/a.csv", to_csv([catalog_row(1)]))
    trigger = steps.request_ingest(
        rt, source="trailco", uri_or_key="trailco/a.csv", scraper_revision="t"
    )
    steps.start_job(rt, trigger.job_id, None)
    (spec,) = steps.plan_job(rt, trigger.job_id).chunks
    return trigger.job_id, spec


def _stage(db_url: str, job_id: uuid.UUID, spec: ChunkSpec, techs: Any) -> None:
    item = {"sku": "SKU-1", "name": "Tent", "techs": techs, "categories": ["a", "b"]}
    with connect(db_url) as conn:
        stage_chunk(conn, job_id, spec, ParsedChunk([ValidRow(0, "SKU-1", item)], []))


def _staged(db_url: str, job_id: uuid.UUID) -> list[dict[str, Any]]:
    with connect(db_url) as conn:
        return conn.execute(
            "SELECT techs::text AS techs, categories::text AS categories, c.status "
            "FROM etl_staged_items s JOIN etl_job_chunks c USING (job_id) "
            "WHERE job_id = %s AND c.phase = 'chunk'",
            (job_id,),
        ).fetchall()


def _nothing_staged(db_url: str, job_id: uuid.UUID) -> None:
    with connect(db_url) as conn:
        staged = conn.execute(
            "SELECT count(*) AS n FROM etl_staged_items WHERE job_id = %s", (job_id,)
        ).fetchone()
        ledger = conn.execute(
            "SELECT status FROM etl_job_chunks WHERE job_id = %s AND phase = 'chunk'", (job_id,)
        ).fetchall()
    assert staged is not None
    assert staged["n"] == 0
    assert [r["status"] for r in ledger] != ["completed"]


@pytest.mark.postgres
@pytest.mark.parametrize(
    ("techs", "stored"),
    [
        pytest.param({"p": Decimal("1.10")}, '{"p": "1.10"}', id="decimal"),
        pytest.param({1: "a", None: "b"}, '{"1": "a", "null": "b"}', id="non-str-keys"),
        pytest.param({"n": 2**70}, '{"n": 1180591620717411303424}', id="big-int"),
        pytest.param({"w": 1e-05, "z": -0.0}, '{"w": 0.00001, "z": 0.0}', id="floats"),
        pytest.param({"x": None, "t": "é\x01"}, '{"t": "é\\u0001", "x": null}', id="null-str"),
    ],
)
def test_stage_chunk_stores_the_cell_postgresql_parses(
    db_url: str, tmp_path: Path, techs: Any, stored: str
) -> None:
    job_id, spec = _job(db_url, tmp_path)
    _stage(db_url, job_id, spec, techs)
    (row,) = _staged(db_url, job_id)
    assert row["techs"] == stored
    assert row["categories"] == '["a", "b"]'
    assert row["status"] == "completed"


@pytest.mark.postgres
@pytest.mark.parametrize("number", [float("nan"), float("inf"), float("-inf")])
def test_a_non_finite_float_fails_the_chunk_in_postgresql(
    db_url: str, tmp_path: Path, number: float
) -> None:
    # The stdlib writes NaN / Infinity, which jsonb refuses: the chunk fails, nothing is kept.
    # (An encoder that wrote `null` instead would silently store a different value.)
    job_id, spec = _job(db_url, tmp_path)
    with pytest.raises(DatabaseQueryError) as failure:
        _stage(db_url, job_id, spec, {"w": number})
    assert failure.value.fields["sqlstate"] == "22P02"  # invalid_text_representation
    _nothing_staged(db_url, job_id)


@pytest.mark.postgres
def test_a_non_json_value_fails_the_chunk_with_type_error(db_url: str, tmp_path: Path) -> None:
    job_id, spec = _job(db_url, tmp_path)
    with pytest.raises(TypeError, match=r"^cannot serialise set$"):
        _stage(db_url, job_id, spec, {"w": {1}})
    _nothing_staged(db_url, job_id)


@pytest.mark.postgres
def test_a_lone_surrogate_fails_the_chunk_with_unicode_encode_error(
    db_url: str, tmp_path: Path
) -> None:
    # The parser scrubs lone surrogates (rules/text.py); staging itself refuses one.
    job_id, spec = _job(db_url, tmp_path)
    with pytest.raises(UnicodeEncodeError, match="surrogates not allowed"):
        _stage(db_url, job_id, spec, {"w": "a\ud800"})
    _nothing_staged(db_url, job_id)

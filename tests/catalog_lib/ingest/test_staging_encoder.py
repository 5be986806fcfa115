"""What staging writes for the values a jsonb cell can hold, on the happy and the failure paths.

These pin the JSON text of `to_json_text` (the stdlib encoder: compact separators, non-ASCII as
is, Decimals as exact strings) and what `stage_chunk` does with a cell PostgreSQL or the
encoder refuses; then prove that the faster path staging takes (`json_bytes` through orjson,
pre-encoded jsonb and uuid fields in the COPY) writes the same bytes and fails the same way,
on hypothesis-generated values and on a generated catalog chunk.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import io
import uuid
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from psycopg.copy import Copy, FileWriter
from psycopg.types.json import set_json_dumps

from bench.catalog_csv import write_rows
from catalog_lib.adapters.postgres import connect
from catalog_lib.core.errors import DatabaseQueryError
from catalog_lib.ingest import steps
from catalog_lib.ingest.staging import (
    ITEM_COLUMNS,
    ITEM_FIELDS,
    STAGED_TYPES,
    json_bytes,
    stage_chunk,
    staged_values,
    to_json_text,
    write_staged_rows,
)
from catalog_lib.models.catalog import Availability
from catalog_lib.rules.chunking import ChunkSpec, plan_chunks
from catalog_lib.rules.rows import ParsedChunk, ValidRow, parse_chunk
from tests.factories import catalog_row, local_runtime, to_csv

Encode = Callable[[Any], str]
# Both encoders staging has: the stdlib one (the reference) and the orjson path.
ENCODERS = [
    pytest.param(to_json_text, id="stdlib"),
    pytest.param(lambda value: json_bytes(value).decode(), id="json_bytes"),
]


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
@pytest.mark.parametrize("encode", ENCODERS)
def test_each_encoder_writes_the_stdlib_text(encode: Encode, value: Any, text: str) -> None:
    assert encode(value) == text


@dataclasses.dataclass
class _Point:
    x: int
    y: int


class _Size(enum.Enum):
    LARGE = 3


@pytest.mark.parametrize(
    ("value", "kind"),
    [
        ({1, 2}, "set"),
        (b"bytes", "bytes"),
        (dt.date(2026, 12, 5), "date"),
        (dt.datetime(2026, 12, 5, 4, 0, tzinfo=dt.UTC), "datetime"),
        (dt.time(4, 0), "time"),
        (_Point(1, 2), "_Point"),
        (1j, "complex"),
        (object(), "object"),
    ],
)
@pytest.mark.parametrize("encode", ENCODERS)
def test_a_non_json_value_raises_type_error(encode: Encode, value: Any, kind: str) -> None:
    with pytest.raises(TypeError, match=f"^cannot serialise {kind}$"):
        encode({"k": [value]})


@pytest.mark.parametrize(
    ("value", "kind", "orjson_text"),
    [
        (uuid.UUID(int=1), "UUID", b'["00000000-0000-0000-0000-000000000001"]'),
        (_Size.LARGE, "_Size", b"[3]"),
    ],
)
def test_uuids_and_non_str_enums_are_refused_by_the_stdlib_only(
    value: Any, kind: str, orjson_text: bytes
) -> None:
    # The documented edge of `json_bytes`: orjson encodes these natively. A staged jsonb cell
    # is parsed JSON (rules/jsonish.py) and never holds one; `to_json_text` refuses them.
    with pytest.raises(TypeError, match=f"^cannot serialise {kind}$"):
        to_json_text([value])
    assert json_bytes([value]) == orjson_text


@pytest.mark.parametrize("encode", ENCODERS)
def test_a_circular_value_raises_value_error(encode: Encode) -> None:
    loop: list[Any] = []
    loop.append(loop)
    with pytest.raises(ValueError, match="Circular reference detected"):
        encode(loop)


@pytest.mark.parametrize("encode", ENCODERS)
def test_a_lone_surrogate_is_written_by_the_stdlib_and_refused_as_utf8(encode: Encode) -> None:
    assert to_json_text(["a\ud800"]) == '["a\ud800"]'
    with pytest.raises(UnicodeEncodeError, match="surrogates not allowed"):
        encode(["a\ud800"]).encode()


# --- The orjson path against the stdlib on generated values.

_SURROGATES = st.sampled_from(["a\ud800", "\udfff", "\ud83d\ude00"])
_TEXT = st.one_of(
    st.text(),
    st.text(st.characters(codec="utf-8", max_codepoint=0x7F)),  # control chars, DEL
    st.text(st.sampled_from('"\\/\x00\x1f\x7f\u2028é漢😀 nule-0.')),  # marks and escapes
    _SURROGATES,
)
_NUMBERS = st.one_of(
    st.integers(),
    st.integers(min_value=-(2**65), max_value=2**65),  # around orjson's 64-bit limits
    st.floats(),  # NaN, ±Infinity, -0.0, subnormals, huge
    st.floats(min_value=-1e-3, max_value=1e-3),  # where orjson and repr differ
    st.floats(min_value=1e15, max_value=1e17),  # where repr switches to an exponent
    st.decimals(),
)
_LEAVES = st.one_of(st.none(), st.booleans(), _NUMBERS, _TEXT)
_KEYS = st.one_of(st.text(), st.integers(), st.floats(), st.booleans(), st.none())
_VALUES = st.recursive(
    _LEAVES,
    lambda inner: st.one_of(
        st.lists(inner, max_size=5),
        st.tuples(inner, inner),
        st.dictionaries(_KEYS, inner, max_size=5),
    ),
    max_leaves=30,
)


def _outcome(encode: Callable[[Any], bytes], value: Any) -> tuple[str, Any]:
    try:
        return ("bytes", encode(value))
    except Exception as exc:  # the failure itself is compared
        return (type(exc).__name__, str(exc))


def _stdlib_bytes(value: Any) -> bytes:
    return to_json_text(value).encode()


@settings(max_examples=1000)
@given(_VALUES)
def test_json_bytes_writes_the_stdlib_bytes_or_raises_its_error(value: Any) -> None:
    assert _outcome(json_bytes, value) == _outcome(_stdlib_bytes, value)


def test_json_bytes_matches_the_stdlib_on_floats_of_every_decade() -> None:
    mantissas = (1.0, 1.5, 2.2250738585072014, 5.9466805032430505, 9.999999999999998)
    values = [m * 10.0**e for e in range(-323, 309) for m in mantissas]
    values += [5e-324, 1e-4, 9.999999999999999e-05, 1e16, 9999999999999998.0, 0.0, -0.0]
    for value in values:
        assert json_bytes([value, -value]) == _stdlib_bytes([value, -value]), value


_EMPTY_OR_NOT = st.one_of(
    _VALUES,
    st.sampled_from(["", [], {}, (), 0, 0.0, -0.0, False, Decimal("0"), Decimal("-0"), "0"]),
    st.sampled_from(list(Availability)),
)


@given(st.dictionaries(st.sampled_from(ITEM_FIELDS), _EMPTY_OR_NOT))
def test_staged_values_nulls_exactly_none_and_empty_str_list_dict(item: dict[str, Any]) -> None:
    empty = ("", [], {})
    reference = [None if v is None or v in empty else v for v in (item.get(f) for f in ITEM_FIELDS)]
    assert staged_values(item) == reference


# --- The COPY stream on the server's connection: byte for byte what psycopg's dumpers wrote.


def _reference_rows(copy: Copy, job_id: uuid.UUID, rows: list[ValidRow]) -> None:
    """The staging write before the orjson path: psycopg's uuid and jsonb dumpers, stdlib JSON."""
    copy.set_types(STAGED_TYPES)
    for row in rows:
        copy.write_row([job_id, row.ordinal, 3, row.sku, *staged_values(row.item)])


def _streams(db_url: str, rows: list[ValidRow]) -> tuple[bytes, bytes]:
    job_id = uuid.UUID(int=7)
    out = []
    with connect(db_url) as conn:
        for reference in (True, False):
            buffer = io.BytesIO()
            cursor = conn.cursor()
            set_json_dumps(to_json_text, context=cursor)
            with Copy(cursor, binary=True, writer=FileWriter(buffer)) as copy:
                if reference:
                    _reference_rows(copy, job_id, rows)
                else:
                    write_staged_rows(copy, job_id, 3, rows)
            out.append(buffer.getvalue())
    return out[0], out[1]


def _chunk_rows(tmp_path: Path, rows: int) -> list[ValidRow]:
    path = tmp_path / "catalog.csv"
    write_rows(path, rows, seed=20261205)
    data = path.read_bytes()
    plan = plan_chunks([data], size=len(data), chunk_size=len(data))
    (spec,) = plan.chunks
    return parse_chunk(
        data[spec.byte_start : spec.byte_end + 1], header=plan.header, spec=spec
    ).valid


@pytest.mark.postgres
def test_the_copy_stream_of_a_generated_chunk_is_unchanged(db_url: str, tmp_path: Path) -> None:
    rows = _chunk_rows(tmp_path, 3000)
    assert len(rows) > 2900
    reference, stream = _streams(db_url, rows)
    assert stream == reference
    assert len(stream) > 1_000_000


# Values staged items hold: parsed JSON in the jsonb cells, the model's types elsewhere.
_FINITE = st.floats(allow_nan=False, allow_infinity=False)
_JSON_VALUES = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), _FINITE, st.text()),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)
_BY_COPY_TYPE = {
    "text": st.text(),
    "float8": _FINITE,
    "int4": st.integers(min_value=-(2**31), max_value=2**31 - 1),
    "numeric": st.decimals(allow_nan=False, allow_infinity=False),
    "jsonb": _JSON_VALUES,
}
_ITEMS = st.fixed_dictionaries(
    {},
    optional={
        name: st.sampled_from(list(Availability))
        if name == "availability"
        else _BY_COPY_TYPE[copy_type] | st.sampled_from(["", [], {}, None])
        for name, copy_type in ITEM_COLUMNS
    },
)


@pytest.mark.postgres
@settings(max_examples=25, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(_ITEMS, min_size=1, max_size=20))
def test_the_copy_stream_of_generated_items_is_unchanged(
    db_url: str, items: list[dict[str, Any]]
) -> None:
    rows = [ValidRow(i, f"SKU-{i}", item) for i, item in enumerate(items)]
    reference, stream = _streams(db_url, rows)
    assert stream == reference


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

r"""Property: every file over the documented grammar ends verified, at any chunk size.

Files are generated over the grammar of docs/ingest.md ("The CSV grammar"): mixed line endings
(LF, CRLF, CR CR LF) on records and blank lines, blank lines before the header, a BOM, quoted
fields with commas, line breaks and `""`, literal quotes inside unquoted fields, invalid UTF-8
bytes, raw NUL bytes, `\\u0000` and lone-surrogate escapes in JSON-ish cells, long records and
rows wider than DuckDB's column limit. Each file is ingested at 1 KiB, 4 KiB and 16 MiB chunks
on real PostgreSQL; every job must end `completed` with
`verified_row_count == total_processed == valid + invalid` (or `failed` with nothing
published), and the catalog must not depend on the chunk size.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from catalog_lib.adapters.postgres import connect
from catalog_lib.core.errors import CatalogError
from catalog_lib.ingest import steps
from tests.factories import catalog_snapshot, local_runtime, run_steps

pytestmark = pytest.mark.postgres

HEADER = b"name,sku,productUrl,price,techs,description"
CHUNK_SIZES = (1024, 4096, 16 * 1024 * 1024)

_plain_text = st.text(
    alphabet=st.characters(codec="utf-8", exclude_characters=',"\r\n', exclude_categories=("Cs",)),
    max_size=12,
).map(lambda s: s.encode())
_quoted_text = st.lists(
    st.sampled_from([b"a", b",", b"\n", b"\r\n", b'""', b" ", "é".encode(), b"\xfc"]),
    max_size=8,
).map(lambda parts: b'"' + b"".join(parts) + b'"')
_literal_quote = st.sampled_from([b'Tent 12" long', b'5"', b'a"b"c'])
_bad_bytes = st.sampled_from([b"Zelt f\xfcr 2", b"\xff\xfe", b"x\x00y", b"\x00"])
_cell = st.one_of(_plain_text, _quoted_text, _literal_quote, _bad_bytes)
_techs = st.sampled_from(
    [
        b"",
        b'"{""Color"": ""red\\u0000""}"',
        b'"{""Icon"": ""\\ud83d""}"',
        b"\"{'Note': 'a\\x00b'}\"",
        b'"{""k"": ""v""}"',
    ]
)
_price = st.sampled_from(
    [b"$10.00", b"", b"   ", b'"$39.99 (20% off)"', b"2 for $10", b"1e3", b"N/A", b"-5"]
)
_ending = st.sampled_from([b"\n", b"\r\n", b"\r\r\n"])


@st.composite
def _record(draw: st.DrawFn, ordinal: int) -> bytes:
    sku = draw(st.sampled_from([f"SKU-{ordinal}", f"SKU-{ordinal % 3}", "BAD SKU"])).encode()
    cells = [
        draw(_cell),
        sku,
        f"https://shop.example.com/p/{ordinal}".encode(),
        draw(_price),
        draw(_techs),
        draw(_cell),
    ]
    shape = draw(st.sampled_from(["normal", "short", "wide", "long"]))
    if shape == "short":
        cells = cells[:3]
    elif shape == "wide":
        cells += [b"x"] * draw(st.sampled_from([10, 4200]))
    elif shape == "long":
        cells[5] = b"y" * draw(st.integers(1500, 20_000))
    return b",".join(cells)


@st.composite
def _files(draw: st.DrawFn) -> tuple[bytes, int]:
    out = [b"\xef\xbb\xbf"] if draw(st.booleans()) else []
    out += [draw(_ending) for _ in range(draw(st.integers(0, 2)))]  # blank lines first
    out += [HEADER, draw(_ending)]
    count = draw(st.integers(0, 12))
    for ordinal in range(count):
        out += [draw(_record(ordinal)), draw(_ending)]
        out += [draw(_ending) for _ in range(draw(st.integers(0, 1)))]
    if count and draw(st.booleans()):
        out.pop()  # no final line ending (the last item is then a record or a blank line)
    return b"".join(out), count


def _reset(db_url: str) -> None:
    with connect(db_url) as conn:
        conn.execute("TRUNCATE catalog_items, etl_jobs CASCADE")
        conn.commit()


def _outcome(db_url: str, job_id: uuid.UUID) -> dict[str, Any]:
    with connect(db_url) as conn:
        job = conn.execute("SELECT * FROM etl_jobs WHERE id = %s", (job_id,)).fetchone()
        published = conn.execute(
            "SELECT (SELECT count(*) FROM catalog_items WHERE last_job_id = %(j)s) "
            "+ (SELECT count(*) FROM catalog_item_etl_jobs WHERE etl_job_id = %(j)s) AS n",
            {"j": job_id},
        ).fetchone()
    assert job is not None
    assert published is not None
    return {**job, "published": published["n"]}


@settings(
    max_examples=8,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(generated=_files())
def test_every_grammar_file_ends_verified_at_every_chunk_size(
    db_url: str, tmp_path: Path, generated: tuple[bytes, int]
) -> None:
    data, records = generated
    catalogs = []
    for chunk_size in CHUNK_SIZES:
        _reset(db_url)
        rt = local_runtime(db_url, tmp_path / uuid.uuid4().hex, chunk_size=chunk_size)
        rt.store.write("f.csv", data)
        trigger = steps.request_ingest(rt, source="s", uri_or_key="f.csv", scraper_revision="r")
        try:
            run_steps(rt, trigger.job_id)
        except CatalogError as exc:
            steps.end_job(
                rt,
                trigger.job_id,
                steps.jobs.JobStatus.FAILED,
                error_kind=exc.kind,
                error_message=str(exc),
            )
        job = _outcome(db_url, trigger.job_id)
        if job["status"] == "failed":
            assert job["published"] == 0, job["error_kind"]
            catalogs.append(None)
            continue
        assert job["status"] == "completed"
        assert job["verified_row_count"] == job["total_processed"] == records
        assert job["total_processed"] == job["total_valid"] + job["total_invalid"]
        assert job["reconcile_delta"] == 0
        catalogs.append(catalog_snapshot(db_url))
    assert catalogs[0] is not None  # every generated file is one the parser accepts
    assert catalogs == [catalogs[0]] * len(CHUNK_SIZES)

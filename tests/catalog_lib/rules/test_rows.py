"""Tests for catalog_lib.rules.rows: characters PostgreSQL refuses never reach a stored item."""

from __future__ import annotations

from catalog_lib.rules.chunking import plan_chunks
from catalog_lib.rules.rows import ParsedChunk, parse_chunk


def _parse(data: bytes) -> ParsedChunk:
    plan = plan_chunks([data], size=len(data), chunk_size=1 << 20)
    (spec,) = plan.chunks
    return parse_chunk(data[spec.byte_start : spec.byte_end + 1], header=plan.header, spec=spec)


def test_a_name_of_only_nul_bytes_is_an_empty_name() -> None:
    parsed = _parse(b"name,sku,productUrl\n\x00\x00,S-1,https://x.example.com/1\n")
    (row,) = parsed.invalid
    assert row.errors == [
        {"field": "name", "reason": "Name is required and must be a non-empty string", "value": ""}
    ]


def test_a_nul_inside_a_sku_is_an_invalid_character_and_is_not_logged() -> None:
    parsed = _parse(b"name,sku,productUrl\nTent,S\x00-1,https://x.example.com/1\n")
    (row,) = parsed.invalid
    assert row.errors[0]["field"] == "sku"
    assert row.errors[0]["value"] == "S-1"
    assert row.item["sku"] == "S-1"


def test_escapes_of_nul_and_lone_surrogates_are_scrubbed_from_json_cells() -> None:
    data = (
        b"name,sku,productUrl,techs\n"
        b'Tent\x00,S-1,https://x.example.com/1,"{""a\\u0000"": ""\\ud83d\\ude00\\udc00""}"\n'
    )
    (row,) = _parse(data).valid
    assert row.item["name"] == "Tent"
    assert row.item["techs"] == {"a": "\U0001f600\ufffd"}

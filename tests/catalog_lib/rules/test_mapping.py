"""Tests for catalog_lib.rules.mapping: one raw CSV row → one catalog item."""

from __future__ import annotations

import csv
import io
import json
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from catalog_lib.rules.mapping import (
    COLUMN_BY_FIELD,
    ITEM_FIELDS,
    map_row,
    parse_rating,
    parse_review_count,
)
from catalog_lib.rules.validation import validate_item

# domain-spec §2.5, verbatim.
EXAMPLE_CSV = """\
name,sku,productUrl,brand,description,categories,images,price,currency,availability,weight,weightUnit,ratingValue,reviewCount,variants,techs,faqs
UltraLight 2P Tent,TENT-UL2P-GRN,https://shop.example.com/products/ultralight-2p-tent,TrailCo,"Two-person, three-season
backpacking tent.","[""Tents"",""Backpacking""]","[""https://cdn.example.com/img/ul2p-1.jpg"",""https://cdn.example.com/img/ul2p-2.jpg""]",$349.95,USD,in_stock,2.1,kg,4.6,128,"[{""attribute"":""color"",""values"":[""Green"",""Sand""]}]","{""Capacity"":""2 person"",""Packed Size"":""46 x 15 cm""}","[{""question"":""Is the footprint included?"",""answer"":""No, sold separately.""}]"
Alpine Down Jacket,JKT-ALP-M-BLK,https://shop.example.com/p/alpine-down-jacket?variant=blk-m,Northline,Hooded 800-fill down jacket.,"Jackets, Insulation",https://cdn.example.com/img/alp-1.jpg,$189.00,USD,out_of_stock,,,4.2,37,"[{'attribute': 'size', 'values': ['S', 'M', 'L']}]","{'Claimed Weight': '12 oz', 'Fill Power': '800', 'Hood': True}",
Trail Mug 350ml,MUG 350 TI,javascript:alert(1),Ti Works,,,,12.5,USD,preorder,90,g,,,,,
UltraLight 2P Tent (2026 edition),TENT-UL2P-GRN,https://shop.example.com/products/ultralight-2p-tent,TrailCo,,,,$329.95,USD,in_stock,,,,,,,
Camp Spork,SPK-TI-01,https://shop.example.com/p/spork,Ti Works,Titanium spork.,Kitchen,,N/A,USD,InStock,18,g,,,,,
"""  # noqa: E501


def example_rows() -> list[dict[str, str]]:
    """The §2.5 rows as csv.DictReader yields them."""
    return list(csv.DictReader(io.StringIO(EXAMPLE_CSV)))


def test_item_fields_match_catalog_items_order() -> None:
    assert ITEM_FIELDS[:3] == ("name", "product_url", "sku")
    assert ITEM_FIELDS[-1] == "faqs"
    assert len(ITEM_FIELDS) == 27
    assert COLUMN_BY_FIELD["product_url"] == "productUrl"
    assert COLUMN_BY_FIELD["review_count"] == "reviewCount"


def test_example_row_0_tent() -> None:
    item = map_row(example_rows()[0])
    assert item["description"] == "Two-person, three-season backpacking tent."
    assert item["categories"] == ["Tents", "Backpacking"]
    assert len(item["images"]) == 2
    assert item["price"] == Decimal("349.95")
    assert (item["weight"], item["weight_unit"]) == (2100.0, "kg")
    assert item["rating_value"] == 4.6
    assert item["review_count"] == 128
    assert item["variants"] == [{"attribute": "color", "values": ["Green", "Sand"]}]
    assert item["techs"] == {"Capacity": "2 person", "Packed Size": "46 x 15 cm"}
    assert item["faqs"] == [
        {"question": "Is the footprint included?", "answer": "No, sold separately."}
    ]
    assert validate_item(item) == []


def test_example_row_1_jacket() -> None:
    item = map_row(example_rows()[1])
    assert item["categories"] == ["Jackets", "Insulation"]
    assert item["images"] == ["https://cdn.example.com/img/alp-1.jpg"]
    assert item["price"] == Decimal("189.00")
    assert (item["weight"], item["weight_unit"]) == (340.0, "oz")
    assert item["variants"] == [{"attribute": "size", "values": ["S", "M", "L"]}]
    assert item["techs"] == {"Claimed Weight": "12 oz", "Fill Power": "800", "Hood": True}
    assert item["availability"] == "out_of_stock"
    assert "faqs" not in item
    assert validate_item(item) == []


def test_example_row_2_mug_matches_upstream_raw_data() -> None:
    item = map_row(example_rows()[2])
    assert item == {
        "description": "",
        "name": "Trail Mug 350ml",
        "product_url": "javascript:alert(1)",
        "currency": "USD",
        "weight": 90.0,
        "weight_unit": "g",
        "price": Decimal("12.5"),
        "brand": "Ti Works",
        "sku": "MUG 350 TI",
        "availability": "preorder",
    }
    assert [e.to_json() for e in validate_item(item)] == [
        {
            "field": "sku",
            "reason": "SKU contains invalid characters (allowed: A-Z a-z 0-9 _ . / -)",
            "value": "MUG 350 TI",
        },
        {
            "field": "productUrl",
            "reason": "Product URL scheme must be http: or https: (got javascript:)",
            "value": "javascript:alert(1)",
        },
    ]


def test_example_row_3_tent_edition() -> None:
    item = map_row(example_rows()[3])
    assert item["description"] == ""
    assert item["price"] == Decimal("329.95")
    assert "review_count" not in item  # an empty count must not wipe row 0's count in the merge
    assert "weight" not in item
    assert "images" not in item
    assert validate_item(item) == []


def test_example_row_4_spork_na_price_is_invalid() -> None:
    item = map_row(example_rows()[4])
    assert item["price"] is None
    assert "availability" not in item
    assert [e.to_json() for e in validate_item(item)] == [
        {"field": "price", "reason": "Price must be a non-negative number", "value": None}
    ]


def test_example_job_counts() -> None:
    results = [validate_item(map_row(row)) for row in example_rows()]
    assert [len(errors) for errors in results] == [0, 0, 2, 0, 1]


@pytest.mark.parametrize(
    ("row", "expected"),
    [
        pytest.param({"sku": '"ABC-1"'}, {"sku": "ABC-1"}, id="sku-quotes"),
        pytest.param({"sku": ""}, {}, id="sku-empty-unset"),
        pytest.param({"name": "  Tent  "}, {"name": "Tent"}, id="name-trim"),
        pytest.param({"name": ""}, {"name": ""}, id="name-empty-kept"),
        pytest.param({"productUrl": ' "x" '}, {"product_url": '"x"'}, id="url-quotes-kept"),
        pytest.param({"description": "a\r\n\r\nb\n"}, {"description": "a b"}, id="description"),
        pytest.param({"description": None}, {"description": ""}, id="description-short-row"),
        pytest.param({"currency": " EUR "}, {"currency": "EUR"}, id="currency"),
        pytest.param({"brand": '"TrailCo"'}, {"brand": "TrailCo"}, id="brand-quotes"),
        pytest.param({"brand": '""'}, {}, id="brand-empty-after-quotes"),
        pytest.param({"productSku": "P-1"}, {"product_sku": "P-1"}, id="product-sku"),
        pytest.param({"availability": '"preorder"'}, {"availability": "preorder"}, id="avail"),
        pytest.param({"availability": "InStock"}, {}, id="avail-unknown-dropped"),
        pytest.param({"price": ""}, {}, id="price-empty-unset"),
        pytest.param({"price": " \t"}, {}, id="price-whitespace-is-empty"),
        pytest.param({"price": "-5"}, {"price": None}, id="price-negative-null"),
        pytest.param({"ratingValue": "0"}, {}, id="rating-zero"),
        pytest.param({"ratingValue": "abc"}, {}, id="rating-nan"),
        pytest.param({"ratingValue": "4.5/5"}, {"rating_value": 4.5}, id="rating-prefix"),
        pytest.param({"weight": "0", "weightUnit": "g"}, {}, id="weight-zero"),
        pytest.param(
            {"weight": "12", "weightUnit": "oz"}, {"weight": 340.0, "weight_unit": "oz"}, id="oz"
        ),
        pytest.param({"images": "[bad"}, {}, id="images-json-error-unset"),
        pytest.param({"categories": "[bad"}, {"categories": ["[bad"]}, id="categories-whole"),
        pytest.param({"variants": "nope"}, {"variants": []}, id="variants-fallback"),
        pytest.param({"links": "{'title': 'x'}"}, {"links": []}, id="links-not-a-list"),
        pytest.param({"reviews": "[]"}, {"reviews": []}, id="reviews"),
        pytest.param({"qas": "None"}, {"qas": []}, id="qas-none"),
        pytest.param({"faqs": "x"}, {"faqs": []}, id="faqs-fallback"),
        pytest.param({"techs": "[1]"}, {"techs": {}}, id="techs-array"),
        pytest.param(
            {"techs": "{'weight': '3 pounds'}"},
            {"techs": {"weight": "3 pounds"}, "weight": 1361.0, "weight_unit": "lb"},
            id="techs-weight-fallback",
        ),
        pytest.param(
            {"techs": '{"Claimed Weight": 250}'},
            {"techs": {"Claimed Weight": 250}, "weight": 250.0, "weight_unit": "g"},
            id="techs-numeric-weight",
        ),
        pytest.param(
            {"weight": "1", "weightUnit": "kg", "techs": '{"weight": "5 lb"}'},
            {"weight": 1000.0, "weight_unit": "kg", "techs": {"weight": "5 lb"}},
            id="weight-column-wins-over-techs",
        ),
        pytest.param({"unknownColumn": "x"}, {}, id="unknown-ignored"),
    ],
)
def test_map_row_fields(row: dict[str, Any], expected: dict[str, Any]) -> None:
    item = map_row(row)
    assert item == expected


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        pytest.param(None, 0, id="missing"),
        pytest.param("", 0, id="empty"),
        pytest.param("37", 37, id="plain"),
        pytest.param(" 12 reviews", 12, id="prefix"),
        pytest.param("1,234", 1234, id="thousands"),
        pytest.param("abc", 0, id="nan"),
        pytest.param("-3", -3, id="negative-kept"),
        pytest.param("99999999999", 0, id="outside-int4"),
    ],
)
def test_parse_review_count(cell: str | None, expected: int) -> None:
    assert parse_review_count(cell) == expected


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        pytest.param("4.6", 4.6, id="plain"),
        pytest.param("4,6", 4.6, id="decimal-comma"),
        pytest.param(".5", 0.5, id="leading-dot"),
        pytest.param("1e999", None, id="overflow"),
        pytest.param("-1", -1.0, id="negative-kept"),
    ],
)
def test_parse_rating(cell: str, expected: float | None) -> None:
    assert parse_rating(cell) == expected


def test_review_count_left_out_when_the_cell_is_empty() -> None:
    assert map_row({}) == {}
    assert map_row({"reviewCount": "  "}) == {}
    assert map_row({"reviewCount": "0"}) == {"review_count": 0}


def _json_default(value: Any) -> str:
    assert isinstance(value, Decimal)
    return str(value)


_CELLS = st.one_of(st.none(), st.text(), st.sampled_from(["", "[", "{'a': True}", "1 lb 4 oz"]))


@given(st.fixed_dictionaries({COLUMN_BY_FIELD[f]: _CELLS for f in ITEM_FIELDS}))
def test_map_row_never_raises_and_output_is_json(row: dict[str, str | None]) -> None:
    row["weightUnit"] = row.get("weight")
    item = map_row(row)
    assert set(item) <= set(ITEM_FIELDS)
    assert isinstance(item.get("review_count", 0), int)
    assert item.get("price") is None or isinstance(item["price"], Decimal)
    json.dumps(item, default=_json_default, allow_nan=False)
    for error in validate_item(item):
        json.dumps(error.to_json(), allow_nan=False)

"""Map one raw scraper CSV row (camelCase column → cell) onto a ``catalog_items`` item."""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from typing import Any, Final

from catalog_lib.rules.parsing import (
    JS_WHITESPACE,
    parse_faqs,
    parse_json_list,
    parse_json_object,
    parse_list_cell,
    parse_price,
    parse_weight,
    strip_wrapping_quotes,
)

ITEM_FIELDS: Final[tuple[str, ...]] = (
    "name",
    "product_url",
    "sku",
    "weight",
    "weight_unit",
    "description",
    "categories",
    "images",
    "brand",
    "model",
    "rating_value",
    "color",
    "size",
    "price",
    "availability",
    "seller",
    "product_sku",
    "material",
    "currency",
    "condition",
    "review_count",
    "variants",
    "techs",
    "links",
    "reviews",
    "qas",
    "faqs",
)
# snake_case item field → upstream camelCase column / field name (the `field` of validation
# errors keeps upstream's names; mapped items, incl. invalid_item_logs.raw_data, are snake_case).
COLUMN_BY_FIELD: Final[dict[str, str]] = {
    field: re.sub(r"_([a-z])", lambda m: m.group(1).upper(), field) for field in ITEM_FIELDS
}
AVAILABILITY_VALUES: Final = frozenset({"in_stock", "out_of_stock", "preorder"})

_QUOTED_TEXT_FIELDS: Final = (
    ("brand", "brand"),
    ("model", "model"),
    ("color", "color"),
    ("size", "size"),
    ("productSku", "product_sku"),
    ("seller", "seller"),
    ("material", "material"),
    ("condition", "condition"),
)
_JSON_LIST_FIELDS: Final = (
    ("variants", "variants"),
    ("links", "links"),
    ("reviews", "reviews"),
    ("qas", "qas"),
)
_LINE_BREAKS_RE: Final = re.compile(r"[\r\n]+")
_JS_FLOAT_RE: Final = re.compile(r"[+-]?(?:\d+\.?\d*(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?)")
_DECIMAL_COMMA_RE: Final = re.compile(r"[+-]?\d+,\d+")
_JS_INT_RE: Final = re.compile(r"[+-]?(?:\d{1,3}(?:,\d{3})+(?!\d)|\d+)")
_FLOAT4_MAX: Final = 3.4e38
_INT4_MIN, _INT4_MAX = -(2**31), 2**31 - 1


def parse_rating(cell: str) -> float | None:
    """``parseFloat`` semantics (leading number, a lone decimal comma accepted); None for 0/NaN."""
    text = cell.lstrip(JS_WHITESPACE)
    if _DECIMAL_COMMA_RE.fullmatch(text.rstrip(JS_WHITESPACE)):
        text = text.replace(",", ".")
    match = _JS_FLOAT_RE.match(text)
    if match is None:
        return None
    value = float(match.group())
    # 0 means "no rating" upstream; float4 cannot hold larger magnitudes or non-finite values.
    if value == 0 or not math.isfinite(value) or abs(value) > _FLOAT4_MAX:
        return None
    return value


def parse_review_count(cell: str | None) -> int:
    """``parseInt`` semantics (`1,234` read as thousands); 0 when unreadable or outside int4."""
    if not cell:
        return 0
    match = _JS_INT_RE.match(cell.lstrip(JS_WHITESPACE))
    if match is None:
        return 0
    value = int(match.group().replace(",", ""))
    return value if _INT4_MIN <= value <= _INT4_MAX else 0


def _map_identity(row: Mapping[str, str | None], item: dict[str, Any]) -> None:
    """Name, product URL, SKU, description and currency (present-but-empty is meaningful)."""
    name = row.get("name")
    if name is not None:
        item["name"] = name.strip(JS_WHITESPACE)
    url = row.get("productUrl")
    if url is not None:
        item["product_url"] = url.strip(JS_WHITESPACE)
    sku = row.get("sku")
    if sku:
        item["sku"] = strip_wrapping_quotes(sku)
    if "description" in row:
        text = _LINE_BREAKS_RE.sub(" ", row["description"] or "")
        item["description"] = text.strip(JS_WHITESPACE)
    if "currency" in row:
        item["currency"] = (row["currency"] or "").strip(JS_WHITESPACE)


def _map_text(row: Mapping[str, str | None], item: dict[str, Any]) -> None:
    """Free-text attributes and the availability enum; empty values stay unset."""
    for column, field in _QUOTED_TEXT_FIELDS:
        cell = row.get(column)
        if cell:
            value = strip_wrapping_quotes(cell)
            if value:
                item[field] = value
    availability = row.get("availability")
    if availability:
        value = strip_wrapping_quotes(availability)
        if value in AVAILABILITY_VALUES:
            item["availability"] = value


def _map_numbers(row: Mapping[str, str | None], item: dict[str, Any]) -> None:
    """Price (Decimal, None when unreadable), weight in grams, rating and review count."""
    price = row.get("price")
    if price and price.strip(JS_WHITESPACE):  # a whitespace-only cell is an empty one
        item["price"] = parse_price(price)
    weight = row.get("weight")
    if weight:
        parsed = parse_weight(weight, row.get("weightUnit"))
        if parsed is not None:
            item["weight"], item["weight_unit"] = parsed
    rating = row.get("ratingValue")
    if rating:
        value = parse_rating(rating)
        if value is not None:
            item["rating_value"] = value
    # Upstream always wrote 0 for a missing count, and a later duplicate row then wiped a real
    # count during the merge; a missing count is left out (the upsert stores 0 if none is known).
    reviews = row.get("reviewCount")
    if reviews is not None and reviews.strip():
        item["review_count"] = parse_review_count(reviews)


def _map_structured(row: Mapping[str, str | None], item: dict[str, Any]) -> None:
    """List and JSON-ish columns, then the techs weight fallback."""
    categories = row.get("categories")
    if categories:
        item["categories"] = parse_list_cell(categories, keep_whole_on_error=True)
    images = row.get("images")
    if images:
        parsed_images = parse_list_cell(images, keep_whole_on_error=False)
        if parsed_images is not None:
            item["images"] = parsed_images
    for column, field in _JSON_LIST_FIELDS:
        cell = row.get(column)
        if cell:
            item[field] = parse_json_list(cell)
    faqs = row.get("faqs")
    if faqs:
        item["faqs"] = parse_faqs(faqs)
    techs = row.get("techs")
    if techs:
        item["techs"] = parse_json_object(techs)
        if "weight" not in item:
            _apply_techs_weight(item["techs"], item)


def _apply_techs_weight(techs: dict[str, Any], item: dict[str, Any]) -> None:
    """Fill weight from ``techs['Claimed Weight']`` or else ``techs.weight`` (JS ``||``)."""
    claimed = techs.get("Claimed Weight") or techs.get("weight")
    if isinstance(claimed, bool) or not isinstance(claimed, str | int | float) or not claimed:
        return
    parsed = parse_weight(str(claimed))
    if parsed is not None:
        item["weight"], item["weight_unit"] = parsed


_STEPS: Final[tuple[Callable[[Mapping[str, str | None], dict[str, Any]], None], ...]] = (
    _map_identity,
    _map_text,
    _map_numbers,
    _map_structured,
)


def map_row(row: Mapping[str, str | None]) -> dict[str, Any]:
    """Map one CSV row to a catalog item keyed by snake_case column; unset fields are absent.

    ``None`` cells (short rows from ``csv.DictReader``) count as missing. Never raises on cell
    content and never logs it.
    """
    item: dict[str, Any] = {}
    for step in _STEPS:
        step(row, item)
    return item

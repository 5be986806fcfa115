"""A chunk's string columns mapped to catalog items, with the rows the validator must still see.

`map_columns` is `mapping.map_row` over whole columns: every field comes from a column rule of
`columnar_cells` (vectorised where provably identical, the row-wise cell function otherwise),
and the items are assembled with the same keys in the same order as `map_row`. Validation is
vectorised the other way round: a row is *cleared* only when every checked field is provably
fine (a plain SKU, a plain public http(s) URL, lengths far from the limits, a readable price);
every other row is marked and goes through the exact `validate_item` (and `scrub`), so reasons
and values are upstream's.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping
from itertools import repeat
from typing import Any, Final

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from catalog_lib.rules.columnar_cells import (
    MISSING,
    Field,
    Mask,
    exact_field,
    fits,
    js_trim,
    nonempty,
    per_distinct,
    price_field,
    quoted_text_field,
    string_list_field,
    to_mask,
)
from catalog_lib.rules.jsonish import parse_faqs, parse_json_list, parse_json_object
from catalog_lib.rules.mapping import (
    _JSON_LIST_FIELDS,
    _QUOTED_TEXT_FIELDS,
    AVAILABILITY_VALUES,
    _apply_techs_weight,
    parse_rating,
    parse_review_count,
)
from catalog_lib.rules.parsing import parse_list_cell
from catalog_lib.rules.prices import parse_price
from catalog_lib.rules.text import JS_WHITESPACE, strip_wrapping_quotes
from catalog_lib.rules.url_addresses import is_internal_name
from catalog_lib.rules.validation import (
    MAX_BRAND,
    MAX_CATEGORY,
    MAX_DESCRIPTION,
    MAX_NAME,
    MAX_URL,
    utf16_len,
)
from catalog_lib.rules.weights import _GRAMS_PER_UNIT, _unit_from_hint, parse_weight

# Every column `map_row` reads.
COLUMNS: Final = (
    "name",
    "productUrl",
    "sku",
    "description",
    "currency",
    *(column for column, _ in _QUOTED_TEXT_FIELDS),
    "availability",
    "price",
    "weight",
    "weightUnit",
    "ratingValue",
    "reviewCount",
    "categories",
    "images",
    *(column for column, _ in _JSON_LIST_FIELDS),
    "faqs",
    "techs",
)
# `urls._PLAIN_URL_RE` with its case-insensitive ASCII classes spelled out, so RE2 cannot fold
# a non-ASCII letter (the Kelvin sign) into them: a match here is a match there, with the same
# host (it ends at the first `/`, `?` or `#`).
_PLAIN_URL: Final = (
    r"^[Hh][Tt][Tt][Pp][Ss]?://(?:[A-Za-z0-9-]+\.)+[A-Za-z][A-Za-z0-9-]*"
    r"(?:[/?#][^\\\t\n\r]*)?$"
)
_PLAIN_SKU: Final = r"^[A-Za-z0-9_./-]{1,200}$"
_WHOLE_GRAMS: Final = r"^[0-9]{1,12}$"  # exact as a float, also times 1000
_ROUNDED_UNITS: Final = frozenset({"oz", "lb"})
_FLOAT4_MAX: Final = 3.4e38

Fields = list[tuple[str, Field]]


def _always(n: int, value: bool) -> Mask:
    return np.full(n, value, dtype=np.bool_)


def _text(cells: pa.StringArray) -> Field:
    """A present-if-the-column-exists field: the JS-trimmed cell."""
    n = len(cells)
    return Field(js_trim(cells).to_pylist(), _always(n, True), _always(n, False))


def _public_plain_url(trimmed: pa.StringArray) -> Mask:
    """Rows whose URL takes `check_url_host`'s plain shortcut and passes it (no reason)."""
    matched = to_mask(pc.match_substring_regex(trimmed, pattern=_PLAIN_URL))
    public = np.zeros(len(trimmed), dtype=np.bool_)
    rows = np.flatnonzero(matched)
    if len(rows):
        # In the plain shape the host is what follows `://`, up to the first `/`, `?` or `#`.
        urls = trimmed.take(pa.array(rows))
        rest = pc.list_element(pc.split_pattern(urls, pattern="://", max_splits=1), 1)
        host = pc.list_element(pc.split_pattern_regex(rest, pattern="[/?#]", max_splits=1), 0)
        host_ok, _ = per_distinct(
            pc.utf8_lower(host), lambda h: "xn--" not in h and not is_internal_name(h)
        )
        public[rows] = host_ok
    # UTF-8 bytes bound UTF-16 units from above.
    short = pc.binary_length(trimmed).to_numpy(zero_copy_only=False) <= MAX_URL
    return np.asarray(public & short, dtype=np.bool_)


def _identity(cells: Mapping[str, pa.StringArray], n: int, check: Mask) -> Fields:
    """Name, product URL, SKU, description and currency (`mapping._map_identity`)."""
    fields: Fields = []
    name, url, sku = cells.get("name"), cells.get("productUrl"), cells.get("sku")
    if name is None or url is None or sku is None:
        check[:] = True  # a required field is missing: the validator reports it
    if name is not None:
        fields.append(("name", _text(name)))
        trimmed = js_trim(name)
        check |= ~(nonempty(trimmed) & fits(trimmed, MAX_NAME))
    if url is not None:
        fields.append(("product_url", _text(url)))
        check |= ~_public_plain_url(js_trim(url))
    if sku is not None:
        plain = to_mask(pc.match_substring_regex(sku, pattern=_PLAIN_SKU))
        values: list[Any] = sku.to_pylist()
        for index in np.flatnonzero(~plain).tolist():
            values[index] = strip_wrapping_quotes(values[index]) if values[index] else MISSING
        present = plain | nonempty(sku)
        fields.append(("sku", Field(values, present, ~plain)))
    description = cells.get("description")
    if description is not None:
        one_line = pc.replace_substring_regex(description, pattern="[\r\n]+", replacement=" ")
        trimmed = js_trim(one_line)
        fields.append(
            (
                "description",
                Field(trimmed.to_pylist(), _always(n, True), ~fits(trimmed, MAX_DESCRIPTION)),
            )
        )
    if "currency" in cells:
        fields.append(("currency", _text(cells["currency"])))
    return fields


def _quoted_text(cell: str) -> Any:
    value = strip_wrapping_quotes(cell)
    return value if value else MISSING


def _availability(cell: str) -> Any:
    value = strip_wrapping_quotes(cell) if cell else ""
    return value if value in AVAILABILITY_VALUES else MISSING


def _text_fields(cells: Mapping[str, pa.StringArray]) -> Fields:
    """Free-text attributes and availability (`mapping._map_text`)."""
    fields: Fields = []
    for column, key in _QUOTED_TEXT_FIELDS:
        if column in cells:
            field, trimmed = quoted_text_field(cells[column], _quoted_text)
            if key == "brand":
                field.check = ~fits(trimmed, MAX_BRAND)
            fields.append((key, field))
    if "availability" in cells:
        fields.append(
            ("availability", exact_field(cells["availability"], _availability, copy=False))
        )
    return fields


def _price(cell: str) -> Any:
    return parse_price(cell) if cell and cell.strip(JS_WHITESPACE) else MISSING


def _rating(cell: str) -> Any:
    value = parse_rating(cell) if cell else None
    return MISSING if value is None else value


def _review_count(cell: str) -> Any:
    return parse_review_count(cell) if cell.strip() else MISSING


def _weights(weight: pa.StringArray, unit: pa.StringArray | None) -> Fields:
    """Weight in grams and its unit (`parse_weight`): whole numbers vectorised, others row-wise.

    For a whole number of at most 12 digits, ``float(cell) * factor`` is the same IEEE product
    in numpy, oz/lb round by ``floor(x + 0.5)`` and g/kg values are already whole.
    """
    n = len(weight)
    units: list[str]
    if unit is None:
        units = ["g"] * n
    else:
        units, _ = per_distinct(unit, lambda u: _unit_from_hint(u) if u else "g")
    whole = to_mask(pc.match_substring_regex(js_trim(weight), pattern=_WHOLE_GRAMS))
    number = pc.cast(pc.if_else(pa.array(whole), js_trim(weight), "0"), pa.float64())
    factor = np.fromiter((_GRAMS_PER_UNIT[u] for u in units), dtype=np.float64, count=n)
    rounded = np.fromiter((u in _ROUNDED_UNITS for u in units), dtype=np.bool_, count=n)
    grams = number.to_numpy(zero_copy_only=False) * factor
    grams = np.where(rounded, np.floor(grams + 0.5), grams)
    present = whole & (grams > 0) & (grams < _FLOAT4_MAX)
    values: list[Any] = grams.tolist()
    unit_values: list[Any] = list(units)
    hard = np.flatnonzero(~whole & nonempty(weight)).tolist()
    if hard:
        raw = weight.take(pa.array(hard)).to_pylist()
        hints = [None] * len(hard) if unit is None else unit.take(pa.array(hard)).to_pylist()
        for index, cell, hint in zip(hard, raw, hints, strict=True):
            parsed = parse_weight(cell, hint)
            if parsed is not None:
                values[index], unit_values[index] = parsed
                present[index] = True
    return [
        ("weight", Field(values, present, _always(n, False))),
        ("weight_unit", Field(unit_values, present.copy(), _always(n, False))),
    ]


def _number_fields(cells: Mapping[str, pa.StringArray]) -> Fields:
    """Price, weight, rating and review count (`mapping._map_numbers`)."""
    fields: Fields = []
    if "price" in cells:
        fields.append(("price", price_field(cells["price"], _price)))
    if "weight" in cells:
        fields += _weights(cells["weight"], cells.get("weightUnit"))
    if "ratingValue" in cells:
        fields.append(("rating_value", exact_field(cells["ratingValue"], _rating, copy=False)))
    if "reviewCount" in cells:
        fields.append(
            ("review_count", exact_field(cells["reviewCount"], _review_count, copy=False))
        )
    return fields


def _nonempty_reader(read: Callable[[str], Any]) -> Callable[[str], Any]:
    """``read`` for a non-empty cell, MISSING for an empty one (``if cell:``)."""
    return lambda cell: read(cell) if cell else MISSING


def _categories(cell: str) -> Any:
    return parse_list_cell(cell, keep_whole_on_error=True) if cell else MISSING


def _images(cell: str) -> Any:
    value = parse_list_cell(cell, keep_whole_on_error=False) if cell else None
    return MISSING if value is None else value


def _long_category(value: Any) -> bool:
    return isinstance(value, list) and any(
        isinstance(c, str) and utf16_len(c) > MAX_CATEGORY for c in value
    )


def _structured(cells: Mapping[str, pa.StringArray]) -> Fields:
    """List and JSON-ish columns (`mapping._map_structured`; techs weight in `map_columns`)."""
    fields: Fields = []
    if "categories" in cells:
        field = string_list_field(
            cells["categories"], _categories, max_item=MAX_CATEGORY, flag=_long_category
        )
        fields.append(("categories", field))
    if "images" in cells:
        fields.append(("images", string_list_field(cells["images"], _images, max_item=None)))
    readers: list[tuple[str, str, Callable[[str], Any]]] = [
        (column, key, parse_json_list) for column, key in _JSON_LIST_FIELDS
    ]
    readers += [("faqs", "faqs", parse_faqs), ("techs", "techs", parse_json_object)]
    for column, key, read in readers:
        if column in cells:
            fields.append((key, exact_field(cells[column], _nonempty_reader(read), copy=True)))
    return fields


def _pick(values: list[Any], rows: list[int]) -> list[Any] | tuple[Any, ...]:
    if len(rows) == 1:
        return [values[rows[0]]]
    return operator.itemgetter(*rows)(values)  # type: ignore[no-any-return]


def _assemble(fields: Fields, n: int) -> list[dict[str, Any]]:
    """One dict per row with the present keys in field order, built per presence pattern."""
    bits = np.zeros(n, dtype=np.uint64)
    for position, (_, field) in enumerate(fields):
        bits |= field.present.astype(np.uint64) << np.uint64(position)
    patterns, inverse = np.unique(bits, return_inverse=True)
    items: list[dict[str, Any]] = [{}] * n
    for number, pattern in enumerate(patterns.tolist()):
        chosen = [(key, f.values) for bit, (key, f) in enumerate(fields) if pattern >> bit & 1]
        keys = [key for key, _ in chosen]
        rows = np.flatnonzero(inverse.reshape(-1) == number).tolist()
        if not keys:
            built: list[dict[str, Any]] = [{} for _ in rows]
        else:
            columns: list[list[Any] | tuple[Any, ...]]
            if len(rows) == n:
                columns = [values for _, values in chosen]
            else:
                columns = [_pick(values, rows) for _, values in chosen]
            built = list(map(dict, map(zip, repeat(keys), zip(*columns, strict=True))))
        if len(rows) == n:
            return built
        for row, item in zip(rows, built, strict=True):
            items[row] = item
    return items


def map_columns(cells: Mapping[str, pa.StringArray], n: int) -> tuple[list[dict[str, Any]], Mask]:
    """Map ``n`` rows' columns (by header name) to items; True marks rows to validate exactly."""
    check = _always(n, False)
    fields = _identity(cells, n, check)
    fields += _text_fields(cells)
    fields += _number_fields(cells)
    fields += _structured(cells)
    for _, field in fields:
        check |= field.check
    items = _assemble(fields, n)
    if "techs" in cells:
        for item in items:
            if "techs" in item and "weight" not in item:
                _apply_techs_weight(item["techs"], item)
    return items, check

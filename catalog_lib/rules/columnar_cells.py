r"""Column rules: one string column in, the mapped values of one item field out, row-wise exact.

Each rule returns a `Field`: a value per row, whether the item has the key, and which rows the
vectorised validator cannot clear (`check`, run through the exact `validate_item`). A cell
takes the vectorised rule only in a shape where it provably gives what the row-wise parser
gives (e.g. a price `$1,299.00` or `1.299,00 €`, a JSON array of plain strings); any other cell
is read by the row-wise function itself, once per distinct value (`per_distinct`), so results
never differ. pyarrow's regexes (RE2) are only used on shapes where RE2 and Python's `re`
agree: ASCII character classes, anchored, one possible parse.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Final

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from catalog_lib.rules.text import JS_WHITESPACE, scrub

Mask = npt.NDArray[np.bool_]

# Price shapes of `prices.parse_price` whose value is `digits.fraction` (see `price_field`).
_US_PRICE: Final = r"^\$?(?P<int>[0-9]{1,3}(?:,[0-9]{3})+|[0-9]+)\.(?P<frac>[0-9]+)$"
_EU_PRICE: Final = r"^(?P<int>[0-9]{1,3}(?:\.[0-9]{3})+|[0-9]+),(?P<frac>[0-9]{1,2}) ?€?$"
# A JSON array of strings without escapes or control characters, nothing around it.
_JSON_STRING: Final = r'"[^"\\\x00-\x1f]*"'
_JSON_WS: Final = "[ \t\n\r]*"
_PLAIN_STRING_ARRAY: Final = (
    rf"^\[{_JSON_WS}{_JSON_STRING}(?:{_JSON_WS},{_JSON_WS}{_JSON_STRING})*{_JSON_WS}\]$"
)


@dataclass
class Field:
    """One item field for every row of a chunk."""

    values: list[Any]
    present: Mask
    check: Mask


def to_mask(array: pa.Array | pa.ChunkedArray) -> Mask:
    """A boolean pyarrow array as a numpy mask (null counts as False)."""
    return np.asarray(pc.fill_null(array, False).to_numpy(zero_copy_only=False), dtype=np.bool_)


def js_trim(cells: pa.StringArray) -> pa.StringArray:
    """``str.strip(JS_WHITESPACE)`` of every cell."""
    return pc.utf8_trim(cells, characters=JS_WHITESPACE)


def fits(cells: pa.StringArray, limit: int) -> Mask:
    """Rows whose text is provably at most ``limit`` UTF-16 code units (else: check exactly)."""
    points = pc.utf8_length(cells).to_numpy(zero_copy_only=False)
    ascii_ = to_mask(pc.string_is_ascii(cells))
    return np.asarray((points * 2 <= limit) | (ascii_ & (points <= limit)), dtype=np.bool_)


def nonempty(cells: pa.StringArray) -> Mask:
    """Rows whose cell is not the empty string."""
    return np.asarray(pc.binary_length(cells).to_numpy(zero_copy_only=False) > 0, dtype=np.bool_)


def expand(results: list[Any], indices: npt.NDArray[np.int64]) -> list[Any]:
    """``[results[i] for i in indices]`` at C speed (objects kept as they are)."""
    table = np.empty(len(results), dtype=object)
    for index, value in enumerate(results):
        table[index] = value
    return list(table[indices])


def distinct(
    cells: pa.StringArray, read: Callable[[str], Any]
) -> tuple[list[Any], npt.NDArray[np.int64]]:
    """``read`` once per distinct cell: the distinct results and each row's index into them."""
    encoded = pc.dictionary_encode(cells)
    results = [read(cell) for cell in encoded.dictionary.to_pylist()]
    return results, encoded.indices.to_numpy(zero_copy_only=False).astype(np.int64)


def per_distinct(cells: pa.StringArray, read: Callable[[str], Any]) -> tuple[list[Any], list[Any]]:
    """``read`` once per distinct cell: (the result for every row, the distinct results)."""
    results, indices = distinct(cells, read)
    return expand(results, indices), results


class _Missing:
    """The value of a row whose item lacks the key (its `present` bit is False)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "MISSING"


MISSING: Final = _Missing()


def exact_field(
    cells: pa.StringArray,
    read: Callable[[str], Any],
    *,
    copy: bool,
    flag: Callable[[Any], bool] | None = None,
) -> Field:
    """A field read by the row-wise cell function per distinct cell; MISSING marks absence.

    Rows whose value `scrub` would change, or that ``flag`` marks, are checked (the exact path
    validates both forms, so the value stays unscrubbed here); with ``copy``, every row gets
    its own copy of a list or dict value.
    """
    results, indices = distinct(cells, read)
    values = expand(results, indices)
    present = np.array([r is not MISSING for r in results], dtype=np.bool_)[indices]
    dirty = [
        r is not MISSING and (scrub(r) != r or (flag is not None and flag(r))) for r in results
    ]
    check = np.array(dirty, dtype=np.bool_)[indices]
    if copy:
        values = [copy_json(v) if isinstance(v, list | dict) else v for v in values]
    return Field(values, present, check)


def copy_json(value: Any) -> Any:
    """A deep copy of a JSON-like value (lists and dicts new, everything else shared)."""
    if isinstance(value, list):
        return [copy_json(v) for v in value]
    if isinstance(value, dict):
        return {k: copy_json(v) for k, v in value.items()}
    return value


def quoted_text_field(
    cells: pa.StringArray, read: Callable[[str], Any]
) -> tuple[Field, pa.StringArray]:
    """A ``strip_wrapping_quotes`` field: JS-trimmed text unless a quote ends it, then ``read``.

    Returns the field and the trimmed cells (their lengths bound the values' for `fits`).
    """
    trimmed = js_trim(cells)
    quoted = to_mask(
        pc.or_(pc.starts_with(trimmed, pattern='"'), pc.ends_with(trimmed, pattern='"'))
    )
    values: list[Any] = trimmed.to_pylist()
    present = nonempty(trimmed)
    for index in np.flatnonzero(quoted).tolist():
        values[index] = read(values[index]) if values[index] else MISSING
        present[index] = values[index] is not MISSING
    return Field(values, present, np.zeros(len(values), dtype=np.bool_)), trimmed


def price_field(cells: pa.StringArray, read: Callable[[str], Any]) -> Field:
    """Prices: `$1,299.00` / `1299.00` (US) and `1.299,00 €` / `189,5` (EU) vectorised.

    In these shapes `parse_price` finds exactly one amount with no sign and `parse_number`
    returns ``Decimal(f"{digits}.{fraction}")`` (grouping separators dropped); an EU amount
    keeps 1-2 decimals so `189,500` (US grouping by the rule) is never taken. Other cells are
    read row-wise and their rows checked.
    """
    us = pc.extract_regex(cells, pattern=_US_PRICE)
    eu = pc.extract_regex(cells, pattern=_EU_PRICE)
    us_ok, eu_ok = to_mask(us.is_valid()), to_mask(eu.is_valid())
    us_text = pc.binary_join_element_wise(
        pc.replace_substring(us.field("int"), pattern=",", replacement=""), us.field("frac"), "."
    )
    eu_text = pc.binary_join_element_wise(
        pc.replace_substring(eu.field("int"), pattern=".", replacement=""), eu.field("frac"), "."
    )
    normal = pc.if_else(pa.array(us_ok), us_text, pc.if_else(pa.array(eu_ok), eu_text, ""))
    values, _ = per_distinct(normal, lambda text: Decimal(text) if text else MISSING)
    easy = us_ok | eu_ok
    hard = np.flatnonzero(~easy)
    if len(hard):
        rest, _ = per_distinct(cells.take(pa.array(hard)), read)
        for index, value in zip(hard.tolist(), rest, strict=True):
            values[index] = value
    present = np.fromiter((v is not MISSING for v in values), dtype=np.bool_, count=len(values))
    return Field(values, present, ~easy & present)


def string_list_field(
    cells: pa.StringArray,
    read: Callable[[str], Any],
    *,
    max_item: int | None,
    flag: Callable[[Any], bool] | None = None,
) -> Field:
    """List cells: plain JSON string arrays split vectorised, others read row-wise per value.

    A plain array (`_PLAIN_STRING_ARRAY`: no escapes, no control characters) is exactly what
    `json` decodes; its items are JS-trimmed and empty ones dropped, like `_list_items`. With
    ``max_item``, rows holding an item that may exceed it (UTF-16 units) are checked; other
    cells' rows are checked when ``flag`` marks their value.
    """
    n = len(cells)
    plain = to_mask(pc.match_substring_regex(cells, pattern=_PLAIN_STRING_ARRAY))
    values: list[Any] = [MISSING] * n
    check = np.zeros(n, dtype=np.bool_)
    rows = np.flatnonzero(plain)
    if len(rows):
        inner = pc.replace_substring_regex(
            cells.take(pa.array(rows)), pattern=rf'^\[{_JSON_WS}"|"{_JSON_WS}\]$', replacement=""
        )
        split = pc.split_pattern_regex(inner, pattern=rf'"{_JSON_WS},{_JSON_WS}"')
        items = js_trim(pc.list_flatten(split))
        owner = pc.list_parent_indices(split).to_numpy(zero_copy_only=False)
        empty = ~nonempty(items)
        trimmed = pa.ListArray.from_arrays(split.offsets, items).to_pylist()
        for index in np.unique(owner[empty]).tolist():
            trimmed[index] = [item for item in trimmed[index] if item]
        if max_item is not None:
            long_rows = np.unique(owner[~fits(items, max_item)])
            check[rows[long_rows]] = True
        for index, value in zip(rows.tolist(), trimmed, strict=True):
            values[index] = value
    hard = np.flatnonzero(~plain & nonempty(cells))
    if len(hard):
        rest = exact_field(cells.take(pa.array(hard)), read, copy=True, flag=flag)
        for position, index in enumerate(hard.tolist()):
            values[index] = rest.values[position]
        check[hard] = rest.check
    present = np.fromiter((v is not MISSING for v in values), dtype=np.bool_, count=n)
    return Field(values, present, check)

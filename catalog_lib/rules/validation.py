"""The catalog-item validator, reporting upstream's exact reason strings in upstream order."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Final

from catalog_lib.rules.parsing import JS_WHITESPACE
from catalog_lib.rules.urls import check_url_host

NAME_REQUIRED: Final = "Name is required and must be a non-empty string"
NAME_TOO_LONG: Final = "Name exceeds maximum length (500 chars)"
SKU_REQUIRED: Final = "SKU is required and must be a non-empty string"
SKU_TOO_LONG: Final = "SKU exceeds maximum length (200 chars)"
SKU_CHARSET: Final = "SKU contains invalid characters (allowed: A-Z a-z 0-9 _ . / -)"
URL_REQUIRED: Final = "Product URL is required and must be a non-empty string"
URL_TOO_LONG: Final = "Product URL exceeds maximum length (2048 chars)"
DESCRIPTION_TOO_LONG: Final = "Description exceeds maximum length (50000 chars)"
BRAND_TOO_LONG: Final = "Brand exceeds maximum length (200 chars)"
CATEGORY_TOO_LONG: Final = "Category exceeds maximum length (200 chars)"
PRICE_INVALID: Final = "Price must be a non-negative number"

MAX_NAME: Final = 500
MAX_SKU: Final = 200
MAX_URL: Final = 2048
MAX_DESCRIPTION: Final = 50_000
MAX_BRAND: Final = 200
MAX_CATEGORY: Final = 200

_SKU_RE: Final = re.compile(r"[A-Za-z0-9_./-]+")
_MISSING: Final = object()

JsonScalar = str | int | float | bool | None


@dataclass(frozen=True, slots=True)
class FieldError:
    """One validation failure: camelCase field, exact upstream reason, offending value."""

    field: str
    reason: str
    value: JsonScalar = None
    has_value: bool = True  # False mirrors JS `undefined`: the key is left out of the JSON

    def to_json(self) -> dict[str, Any]:
        """Render as ``{"field", "reason"[, "value"]}`` for ``invalid_item_logs.errors``."""
        if not self.has_value:
            return {"field": self.field, "reason": self.reason}
        return {"field": self.field, "reason": self.reason, "value": self.value}


def utf16_len(text: str) -> int:
    """Length in UTF-16 code units, like JavaScript's ``String.length``."""
    if text.isascii():
        return len(text)
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def _exceeds(text: str, limit: int) -> bool:
    """True when ``text`` is longer than ``limit`` UTF-16 code units (cheap bounds first)."""
    if len(text) > limit:
        return True  # code units >= code points
    if 2 * len(text) <= limit:
        return False  # at most two code units per code point
    return utf16_len(text) > limit


def _scalar(value: Any) -> JsonScalar:
    """Make a value JSON-safe for the ``value`` slot (Decimal and other objects as text)."""
    if value is None or isinstance(value, str | bool | int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    return str(value)


def _error(field: str, reason: str, value: Any) -> FieldError:
    """Build an error whose value is absent when the item key was absent (JS undefined)."""
    if value is _MISSING:
        return FieldError(field, reason, None, has_value=False)
    return FieldError(field, reason, _scalar(value))


def _is_blank(value: Any) -> bool:
    """Missing, not a string, or only whitespace (JS trim semantics)."""
    return not isinstance(value, str) or not value.strip(JS_WHITESPACE)


def _check_name(value: Any) -> FieldError | None:
    if _is_blank(value):
        return _error("name", NAME_REQUIRED, value)
    if _exceeds(value, MAX_NAME):
        return _error("name", NAME_TOO_LONG, value)
    return None


def _check_sku(value: Any) -> FieldError | None:
    if _is_blank(value):
        return _error("sku", SKU_REQUIRED, value)
    if _exceeds(value, MAX_SKU):
        return _error("sku", SKU_TOO_LONG, value)
    if not _SKU_RE.fullmatch(value):
        return _error("sku", SKU_CHARSET, value)
    return None


def _check_url(value: Any) -> FieldError | None:
    if _is_blank(value):
        return _error("productUrl", URL_REQUIRED, value)
    if _exceeds(value, MAX_URL):
        return _error("productUrl", URL_TOO_LONG, value)
    reason = check_url_host(value)
    return None if reason is None else _error("productUrl", reason, value)


def _is_valid_price(value: Any) -> bool:
    """A finite, non-negative number (bool is not a number, as in JS)."""
    if isinstance(value, bool):
        return False
    if isinstance(value, Decimal):
        return value.is_finite() and value >= 0
    if isinstance(value, int | float):
        return math.isfinite(value) and value >= 0
    return False


def _first_long_category(value: Any) -> str | None:
    """The first string category longer than the limit, if any."""
    if not isinstance(value, list):
        return None
    for category in value:
        if isinstance(category, str) and _exceeds(category, MAX_CATEGORY):
            return category
    return None


def validate_item(item: Mapping[str, Any]) -> list[FieldError]:
    """Validate a mapped item (snake_case keys); all errors in upstream order, [] when valid."""
    errors = [
        check(item.get(key, _MISSING))
        for key, check in (("name", _check_name), ("sku", _check_sku), ("product_url", _check_url))
    ]
    found = [e for e in errors if e is not None]
    description = item.get("description")
    if isinstance(description, str) and _exceeds(description, MAX_DESCRIPTION):
        found.append(FieldError("description", DESCRIPTION_TOO_LONG, None, has_value=False))
    brand = item.get("brand")
    if isinstance(brand, str) and _exceeds(brand, MAX_BRAND):
        found.append(FieldError("brand", BRAND_TOO_LONG, brand))
    category = _first_long_category(item.get("categories"))
    if category is not None:
        found.append(FieldError("categories", CATEGORY_TOO_LONG, category))
    if "price" in item and not _is_valid_price(item["price"]):
        found.append(_error("price", PRICE_INVALID, item["price"]))
    return found

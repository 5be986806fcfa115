"""Cell parsers for scraper CSV values, one module per concept, re-exported here.

Every parser takes one cell string and returns a value or ``None``; none of them raises on bad
input and none of them logs cell content (rows may hold personal data). Prices live in
``prices``, weights in ``weights``, JSON-ish cells, FAQs and lists in ``jsonish``, trimming and
the unstorable-character rule in ``text``.
"""

from __future__ import annotations

from catalog_lib.rules.jsonish import (
    normalize_jsonish,
    parse_faqs,
    parse_json_list,
    parse_json_object,
    parse_jsonish,
    parse_list_cell,
)
from catalog_lib.rules.prices import parse_number, parse_price
from catalog_lib.rules.text import JS_WHITESPACE, js_trim, scrub, scrub_text, strip_wrapping_quotes
from catalog_lib.rules.weights import GRAMS_PER_KG, GRAMS_PER_LB, GRAMS_PER_OZ, parse_weight

__all__ = [
    "GRAMS_PER_KG",
    "GRAMS_PER_LB",
    "GRAMS_PER_OZ",
    "JS_WHITESPACE",
    "js_trim",
    "normalize_jsonish",
    "parse_faqs",
    "parse_json_list",
    "parse_json_object",
    "parse_jsonish",
    "parse_list_cell",
    "parse_number",
    "parse_price",
    "parse_weight",
    "scrub",
    "scrub_text",
    "strip_wrapping_quotes",
]

"""Bound what a rejected row keeps in `invalid_item_logs`: long values become size + prefix.

A hostile or broken file must not bloat the database through its rejected rows (a 50 MB cell
used to be stored in full). Every string, list and object inside a rejected row's mapped item
and its error values is bounded; what is cut is replaced by a marker object that keeps the
original size and a prefix, so forensics still see what the value looked like::

    {"truncated": true, "length": 52428800, "prefix": "<first 1,024 characters>"}

`length` counts characters for a string and entries for a list or object (whose `prefix` is
then the first entries, each bounded the same way). If the bounded document is still larger
than `MAX_DOCUMENT_CHARS` as JSON, the whole document becomes one marker whose `prefix` is the
start of its JSON text.
"""

from __future__ import annotations

import json
from typing import Any, Final

MAX_STRING_CHARS: Final = 2048
STRING_PREFIX_CHARS: Final = 1024
MAX_ENTRIES: Final = 100
MAX_DOCUMENT_CHARS: Final = 64 * 1024
DOCUMENT_PREFIX_CHARS: Final = 4096


def truncation_marker(length: int, prefix: Any) -> dict[str, Any]:
    """The object that stands in for a value that was cut: its size and its first part."""
    return {"truncated": True, "length": length, "prefix": prefix}


def is_truncation_marker(value: Any) -> bool:
    """True for a marker written by `bound_value` / `bound_document`."""
    return isinstance(value, dict) and value.keys() == {"truncated", "length", "prefix"}


def bound_value(value: Any) -> Any:
    """The value with every long string, list and object inside it replaced by a marker."""
    if isinstance(value, str):
        if len(value) > MAX_STRING_CHARS:
            return truncation_marker(len(value), value[:STRING_PREFIX_CHARS])
        return value
    if isinstance(value, list | tuple):
        bounded = [bound_value(v) for v in value[:MAX_ENTRIES]]
        return truncation_marker(len(value), bounded) if len(value) > MAX_ENTRIES else bounded
    if isinstance(value, dict):
        items = list(value.items())
        bounded_map = {str(k)[:STRING_PREFIX_CHARS]: bound_value(v) for k, v in items[:MAX_ENTRIES]}
        if len(items) > MAX_ENTRIES:
            return truncation_marker(len(items), bounded_map)
        return bounded_map
    return value


def bound_document(value: Any, *, default: Any = None) -> Any:
    """`bound_value`, then one marker for the whole document if its JSON is still too large.

    Args:
        value: a JSON-able document (a mapped item, an error list).
        default: `json.dumps` fallback for values JSON cannot encode (e.g. ``Decimal``).
    """
    bounded = bound_value(value)
    text = json.dumps(bounded, ensure_ascii=False, default=default, separators=(",", ":"))
    if len(text) > MAX_DOCUMENT_CHARS:
        return truncation_marker(len(text), text[:DOCUMENT_PREFIX_CHARS])
    return bounded

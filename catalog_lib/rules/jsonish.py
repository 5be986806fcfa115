"""JSON-ish cells (JSON, Python repr, sloppy quotes), FAQ pairs and list cells; never raise."""

from __future__ import annotations

import ast
import contextlib
import json
import math
import re
from typing import Any, Final

from catalog_lib.rules.text import JS_WHITESPACE, js_trim

_FAQ_PAIR_RE: Final = re.compile(
    r"""\{[^{}]*?["']question["']\s*:\s*(["'])(.*?)(?<!\\)\1\s*,\s*"""
    r"""["']answer["']\s*:\s*(["'])(.*?)(?<!\\)\3[^{}]*?\}""",
    re.DOTALL,
)
_URL_LIST_SPLIT_RE: Final = re.compile(r",\s*(?=(?:https?:)?//)", re.IGNORECASE)
_QUOTE_MAP: Final = str.maketrans(
    {"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"', "\u00ab": '"', "\u00bb": '"'}
)
_BARE_WORDS: Final = {
    "None": "null",
    "null": "null",
    "True": "true",
    "true": "true",
    "False": "false",
    "false": "false",
}
_JSON_ESCAPES: Final = frozenset('"\\/bfnrtu')
_EMPTY_JSONISH: Final = frozenset({"", "undefined", "null"})
# Escapes Python does not know (backslash + q) make literal_eval emit a Deprecation/Syntax
# warning; such cells go straight to the normaliser instead of touching global warning filters.
# Pairs are scanned left to right so an escaped backslash followed by `8` is not misread.
_ESCAPE_RE: Final = re.compile(r"\\(.)", re.DOTALL)
_PY_ESCAPES: Final = frozenset("\\'\"abfnrtvx01234567NuU\n\r")
_LITERAL_EVAL_ERRORS: Final = (ValueError, TypeError, SyntaxError, MemoryError, RecursionError)


def _finite_float(text: str) -> float:
    """json.loads float hook: reject values that overflow to infinity (jsonb cannot hold them).

    This module's ValueErrors are the json module's own failure signal; `parse` catches them.
    """
    number = float(text)
    if not math.isfinite(number):
        raise ValueError("non-finite number")
    return number


def _reject_constant(name: str) -> Any:
    """json.loads hook: reject NaN / Infinity, which JSON and jsonb do not allow."""
    raise ValueError(f"non-standard JSON constant {name}")


# Built once: json.loads(..., parse_float=...) would construct a new decoder on every call.
_DECODER: Final = json.JSONDecoder(parse_float=_finite_float, parse_constant=_reject_constant)


def _loads(text: str) -> Any:
    """Strict JSON parse (of JS-trimmed text) that keeps every number finite."""
    value, end = _DECODER.raw_decode(text)
    if end != len(text):
        raise ValueError("extra data after JSON value")
    return value


class _NotJsonError(ValueError):
    """A literal_eval result that has no faithful JSON form (sets, bytes, complex, inf)."""


def _to_json_value(value: Any) -> Any:
    """Convert a Python literal (from literal_eval) into plain JSON-serialisable values."""
    if value is None or isinstance(value, str | bool | int):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise _NotJsonError("non-finite float")
        return value
    if isinstance(value, list | tuple):
        return [_to_json_value(v) for v in value]
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, item in value.items():
            if not isinstance(key, str | int | float | bool) and key is not None:
                raise _NotJsonError("unsupported key")
            out[key if isinstance(key, str) else json.dumps(key)] = _to_json_value(item)
        return out
    raise _NotJsonError(type(value).__name__)


def _read_quoted(text: str, start: int, out: list[str]) -> int:
    """Copy the string literal starting at ``start`` as a JSON string; return the index after it."""
    quote = text[start]
    out.append('"')
    i, n = start + 1, len(text)
    while i < n:
        ch = text[i]
        if ch == "\\" and i + 1 < n:
            nxt = text[i + 1]
            if nxt == "x" and re.fullmatch(r"[0-9A-Fa-f]{2}", text[i + 2 : i + 4]):
                out.append("\\u00" + text[i + 2 : i + 4])
                i += 4
                continue
            # \' is not a JSON escape; other unknown escapes keep their backslash literally.
            out.append(
                "'" if nxt == "'" else ("\\" + nxt if nxt in _JSON_ESCAPES else "\\\\" + nxt)
            )
            i += 2
            continue
        if ch == quote:
            out.append('"')
            return i + 1
        if ch == '"':
            out.append('\\"')
        elif ch < " " or ch in "\u2028\u2029":
            out.append(" ")
        else:
            out.append(ch)
        i += 1
    raise ValueError("unterminated string")


def normalize_jsonish(text: str) -> str:
    """Rewrite Python-repr-ish / sloppy JSON text into strict JSON text (may still be invalid)."""
    text = text.replace("`", "")
    out: list[str] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch in "'\"":
            i = _read_quoted(text, i, out)
        elif ch.isalpha() or ch == "_":
            j = i
            while j < n and (text[j].isalnum() or text[j] == "_"):
                j += 1
            word = text[i:j]
            out.append(_BARE_WORDS.get(word, word))
            i = j
        elif ch in "}]":
            while out and out[-1].isspace():
                out.pop()
            if out and out[-1] == ",":  # trailing comma
                out.pop()
            out.append(ch)
            i += 1
        else:
            out.append(ch)
            i += 1
    return "".join(out)


def _loads_simple_repr(text: str) -> Any:
    """Decode a Python repr that has no `"` and no backslash by swapping quotes (cheap path).

    Without escapes or double quotes every `'` is a string delimiter, so the even pieces of a
    split on `'` are exactly the code outside strings, where None/True/False are rewritten.
    """
    pieces = text.split("'")
    for index in range(0, len(pieces), 2):
        piece = pieces[index]
        if "e" in piece or "N" in piece:
            pieces[index] = (
                piece.replace("None", "null").replace("True", "true").replace("False", "false")
            )
    return _loads('"'.join(pieces))


def parse_jsonish(cell: str) -> Any | None:
    """Parse a JSON-ish cell (JSON, Python repr, sloppy quotes); None when it cannot be read.

    Order: strict JSON (the common, cheap path), a quote swap for escape-free Python reprs, then
    ``ast.literal_eval`` (safe: literals only) for other Python ``repr`` output, then a
    normalising rewrite followed by strict JSON.
    """
    text = cell.strip(JS_WHITESPACE)
    if text in _EMPTY_JSONISH:
        return None
    # Each step that cannot read the cell falls through to the next, more lenient one.
    if text[1:2] != "'" or text[0] not in "[{":  # `{'`/`['` is never JSON: skip to repr paths
        with contextlib.suppress(ValueError, RecursionError):
            return _loads(text)
    if "'" in text and '"' not in text and "\\" not in text:
        with contextlib.suppress(ValueError, RecursionError):
            return _loads_simple_repr(text)
    if "\\" not in text or all(c in _PY_ESCAPES for c in _ESCAPE_RE.findall(text)):
        with contextlib.suppress(*_LITERAL_EVAL_ERRORS):
            return _to_json_value(ast.literal_eval(text))
    # Curly quotes are usually apostrophes inside text, so they are only straightened last.
    for candidate in (text, text.translate(_QUOTE_MAP)):
        try:
            return _loads(normalize_jsonish(candidate))
        except (ValueError, RecursionError):
            continue
    return None


def parse_json_list(cell: str) -> list[Any]:
    """Parse a JSON-ish cell that should hold an array; [] when unreadable or not an array."""
    value = parse_jsonish(cell)
    return value if isinstance(value, list) else []


def parse_json_object(cell: str) -> dict[str, Any]:
    """Parse a JSON-ish cell that should hold an object; {} when unreadable or not an object."""
    value = parse_jsonish(cell)
    return value if isinstance(value, dict) else {}


def _faq_pairs(value: Any) -> list[dict[str, str]]:
    """Collect non-empty {question, answer} string pairs from a parsed FAQ value."""
    items = value if isinstance(value, list) else [value]
    pairs: list[dict[str, str]] = []
    for item in items:
        if not isinstance(item, dict):
            continue
        question, answer = item.get("question"), item.get("answer")
        if isinstance(question, str) and isinstance(answer, str):
            question, answer = js_trim(question), js_trim(answer)
            if question and answer:
                pairs.append({"question": question, "answer": answer})
    return pairs


def parse_faqs(cell: str) -> list[dict[str, str]]:
    """Extract FAQ pairs from a JSON or Python-like cell; [] when none are found."""
    text = cell.strip(JS_WHITESPACE)
    if len(text) >= 2 and text[0] == '"' and text[-1] == '"':
        text = text[1:-1].replace('\\"', '"')
    pairs = _faq_pairs(parse_jsonish(text))
    if pairs:
        return pairs
    # Regex fallback for fragments no parser accepts (e.g. truncated lists).
    for match in _FAQ_PAIR_RE.finditer(text.translate(_QUOTE_MAP)):
        question, answer = js_trim(match.group(2)), js_trim(match.group(4))
        if question and answer:
            pairs.append({"question": question, "answer": answer})
    return pairs


def _list_items(values: list[Any]) -> list[str]:
    """Keep string (and number) elements of a parsed list as trimmed, non-empty strings."""
    if all(type(value) is str for value in values):  # the common case, without per-item checks
        return [text for text in (value.strip(JS_WHITESPACE) for value in values) if text]
    items: list[str] = []
    for value in values:
        if isinstance(value, bool) or value is None:
            continue
        if isinstance(value, int | float):
            value = str(value)
        if isinstance(value, str):
            value = js_trim(value)
            if value:
                items.append(value)
    return items


def parse_list_cell(cell: str, *, keep_whole_on_error: bool) -> list[str] | None:
    """Parse a categories/images cell: a JSON-ish array, else a comma-separated list.

    Args:
        cell: The raw cell.
        keep_whole_on_error: When an array-looking cell cannot be parsed, return ``[cell]``
            (categories, as upstream) instead of None (images, as upstream).
    """
    text = cell.strip(JS_WHITESPACE)
    if text.startswith("["):
        parsed = parse_jsonish(text)
        if isinstance(parsed, list):
            return _list_items(parsed)
        return [text] if keep_whole_on_error else None
    # URLs may contain commas: when the cell is a URL list, split only before the next URL.
    pieces = (
        _URL_LIST_SPLIT_RE.split(text)
        if text[:5].lower() in ("http:", "https") or text.startswith("//")
        else text.split(",")
    )
    return [p for p in (js_trim(piece) for piece in pieces) if p]

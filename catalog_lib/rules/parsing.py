"""Cell parsers for scraper CSV values: prices, weights, lenient JSON-ish cells, FAQs, lists.

Every parser takes one cell string and returns a value or ``None``; none of them raises on bad
input and none of them logs cell content (rows may hold personal data).
"""

from __future__ import annotations

import ast
import contextlib
import json
import math
import re
from decimal import Decimal
from typing import Any, Final

# ECMAScript String.prototype.trim() whitespace (WhiteSpace + LineTerminator), so trimming
# matches upstream exactly (Python's str.strip() also strips \x1c-\x1f but not U+FEFF).
JS_WHITESPACE: Final = (
    "\t\n\v\f\r \u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008"
    "\u2009\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"
)

# A number token: digits with `.`/`,` separators, plus apostrophe / no-break / thin spaces used
# as thousands separators (only when exactly three digits follow, so `19.99 29.99` stays two
# tokens because a plain space is never a separator).
_NUMBER_RE: Final = re.compile(r"\.?\d(?:[\d.,]|['\u2019\u00a0\u202f\u2009](?=\d{3}(?!\d)))*")
_GROUP_ONLY_SEPARATORS: Final = str.maketrans("", "", "'\u2019\u00a0\u202f\u2009")
# `1 299,00 €`: a plain space groups thousands only inside a number with a decimal part and
# not after another number's decimals, so `19.99 29.99` still reads as two prices.
_SPACE_GROUPED_RE: Final = re.compile(r"(?<![\d.,])(\d{1,3}(?: \d{3})+)(?=[.,]\d)")
_MINUS_SIGNS: Final = ("-", "\u2212")
_DIGITS_RE: Final = re.compile(r"[0-9]+")
_SEPARATOR_RE: Final = re.compile(r"[.,]")
_PLAIN_NUMBER_RE: Final = re.compile(r"[0-9]*\.?[0-9]+")

# Upstream conversion factors (csv-utils parseWeight): 28.35 g/oz and 453.592 g/lb, so that
# single-unit results (`12 oz` → 340 g) stay identical to the system being replaced.
GRAMS_PER_OZ: Final = 28.35
GRAMS_PER_LB: Final = 453.592
GRAMS_PER_KG: Final = 1000.0
_UNIT_WORDS: Final = (
    r"(?P<unit>kilograms?|kilogrammes?|kilos?|kgs?|pounds?|lbs?|ounces?|oz"
    r"|grams?|grammes?|gr|gms?|g)"
)
_MEASURE_RE: Final = re.compile(
    r"(?P<num>\.?\d[\d.,]*\d|\.?\d)\s*-?\s*(?:" + _UNIT_WORDS + r"(?![a-z]))?", re.IGNORECASE
)
_UNIT_RE: Final = re.compile(r"(?<![a-z])" + _UNIT_WORDS + r"(?![a-z])", re.IGNORECASE)
_UNIT_BY_PREFIX: Final = (("k", "kg"), ("p", "lb"), ("l", "lb"), ("o", "oz"), ("g", "g"))
_GRAMS_PER_UNIT: Final = {"kg": GRAMS_PER_KG, "lb": GRAMS_PER_LB, "oz": GRAMS_PER_OZ, "g": 1.0}
# `1 lb 4 oz` and `1 kg 200 g` are one measurement; `12 oz (340 g)` is the same one twice.
_COMPOUND_PAIRS: Final = {("lb", "oz"), ("kg", "g")}

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


def js_trim(value: str) -> str:
    """Trim like JavaScript's ``String.prototype.trim``."""
    return value.strip(JS_WHITESPACE)


def strip_wrapping_quotes(value: str) -> str:
    """Trim, drop one leading and one trailing double quote, and trim again."""
    value = value.strip(JS_WHITESPACE)
    if value.startswith('"'):
        value = value[1:]
    if value.endswith('"'):
        value = value[:-1]
    return value.strip(JS_WHITESPACE)


def parse_number(token: str) -> Decimal | None:
    """Read one number token in US (`1,299.00`) or EU (`1.299,00`) notation, or None if ambiguous.

    Rules: with both `.` and `,` the last one is the decimal mark; a lone `,` followed by exactly
    three digits (after a 1-3 digit, non-zero leading group) is a US thousands separator, else
    a decimal comma; a lone `.` is always a decimal point (`1.299` stays 1.299); repeated `.` or
    `,` are thousands separators and every group after the first must then have three digits.
    """
    if _PLAIN_NUMBER_RE.fullmatch(token):
        return Decimal(token)  # the common case: no grouping, at most one decimal point
    token = token.translate(_GROUP_ONLY_SEPARATORS)
    dots, commas = token.count("."), token.count(",")
    if dots and commas:
        decimal_mark = "." if token.rfind(".") > token.rfind(",") else ","
    elif commas == 1:
        head, _, tail = token.partition(",")
        is_grouping = len(tail) == 3 and 1 <= len(head) <= 3 and head != "0"
        decimal_mark = "" if is_grouping else ","
    elif dots == 1:
        decimal_mark = "."
    else:
        decimal_mark = ""
    if decimal_mark:
        integer, _, fraction = token.rpartition(decimal_mark)
    else:
        integer, fraction = token, ""
    groups = _SEPARATOR_RE.split(integer) if integer else ["0"]
    if not all(_DIGITS_RE.fullmatch(g) for g in groups[1:] + ([fraction] if fraction else [])):
        return None
    if len(groups) > 1 and (not 1 <= len(groups[0]) <= 3 or any(len(g) != 3 for g in groups[1:])):
        return None
    if decimal_mark and not fraction:
        return None
    digits = "".join(groups) or "0"
    if not _DIGITS_RE.fullmatch(digits):
        return None
    return Decimal(f"{digits}.{fraction}" if fraction else digits)


def parse_price(cell: str) -> Decimal | None:
    """Parse a price cell into a non-negative Decimal; None when there is no usable price.

    Currency symbols and codes are ignored, a range or list of prices gives the lowest one, and a
    leading minus sign (a negative price) gives None so the validator rejects the row.
    """
    if " " in cell:
        cell = _SPACE_GROUPED_RE.sub(lambda m: m.group(1).replace(" ", ""), cell)
    tokens = _NUMBER_RE.findall(cell)
    if not tokens:
        return None
    if "-" in cell or "\u2212" in cell:
        first = _NUMBER_RE.search(cell)
        if first and any(sign in cell[: first.start()] for sign in _MINUS_SIGNS):
            return None
    if len(tokens) == 1:
        return parse_number(tokens[0].rstrip(".,"))
    values = [parse_number(token.rstrip(".,")) for token in tokens]
    if any(v is None for v in values):
        return None
    return min(v for v in values if v is not None)


def _unit_from_word(word: str) -> str:
    """Map a unit word (`lbs`, `Kilograms`, `oz`) onto one of g, oz, kg, lb."""
    lowered = word.lower()
    for prefix, unit in _UNIT_BY_PREFIX:
        if lowered.startswith(prefix):
            return unit
    return "g"


_COMMON_UNITS: Final = {
    "g": "g",
    "gram": "g",
    "grams": "g",
    "kg": "kg",
    "oz": "oz",
    "lb": "lb",
    "lbs": "lb",
    "pounds": "lb",
    "ounces": "oz",
}


def _unit_from_hint(hint: str) -> str:
    """Pick the unit named in a free-text unit cell; upstream substring checks as the fallback."""
    common = _COMMON_UNITS.get(hint.strip(JS_WHITESPACE).lower())
    if common is not None:
        return common
    found = _UNIT_RE.search(hint)
    if found:
        return _unit_from_word(found.group("unit"))
    lowered = hint.lower()
    for needle in ("oz", "lb", "kg"):
        if needle in lowered:
            return needle
    return "g"


def _round_grams(grams: float, unit: str) -> float:
    """Round like upstream: oz/lb half-up to whole grams; g/kg keep (float-noise-free) decimals."""
    if unit in ("oz", "lb"):
        return float(math.floor(grams + 0.5))
    return round(grams, 3)


def parse_weight(value: str, unit: str | None = None) -> tuple[float, str] | None:
    """Parse a weight cell (+ optional unit cell) into (grams, source unit), or None.

    The first number followed by a unit word wins (else the first number, in the unit cell's
    unit, else grams); a unit written in the value beats the unit cell. `1 lb 4 oz` sums both
    parts and reports the larger unit. Negative, zero or unparseable weights give None.
    """
    plain = value.strip(JS_WHITESPACE)
    if _PLAIN_NUMBER_RE.fullmatch(plain):  # common case: a bare number plus a unit column
        source_unit = _unit_from_hint(unit) if unit else "g"
        grams = _round_grams(float(plain) * _GRAMS_PER_UNIT[source_unit], source_unit)
        return (grams, source_unit) if 0 < grams < 3.4e38 else None
    matches = list(_MEASURE_RE.finditer(value))
    if not matches or any(sign in value[: matches[0].start()] for sign in _MINUS_SIGNS):
        return None
    index = next((i for i, m in enumerate(matches) if m.group("unit")), 0)
    number = parse_number(matches[index].group("num"))
    if number is None:
        return None
    word = matches[index].group("unit")
    if word:
        source_unit = _unit_from_word(word)
    else:
        source_unit = _unit_from_hint(unit) if unit and js_trim(unit) else "g"
    grams = float(number) * _GRAMS_PER_UNIT[source_unit]
    if word and index + 1 < len(matches):
        nxt = matches[index + 1]
        nxt_unit = _unit_from_word(nxt.group("unit")) if nxt.group("unit") else None
        nxt_number = parse_number(nxt.group("num"))
        if (source_unit, nxt_unit) in _COMPOUND_PAIRS and nxt_number is not None and nxt_unit:
            grams += float(nxt_number) * _GRAMS_PER_UNIT[nxt_unit]
    grams = _round_grams(grams, source_unit)
    if not 0 < grams < 3.4e38:  # float4 column: larger values overflow on insert
        return None
    return grams, source_unit


def _finite_float(text: str) -> float:
    """json.loads float hook: reject values that overflow to infinity (jsonb cannot hold them)."""
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

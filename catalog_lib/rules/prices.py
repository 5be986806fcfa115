"""Price cells: exact decimals in US and EU notation, read by one documented rule."""

from __future__ import annotations

import re
import unicodedata
from decimal import Decimal
from typing import Final

from catalog_lib.rules.text import JS_WHITESPACE

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
_PERCENT_SIGNS: Final = ("%", "\uff05", "\u2030")
_RANGE_SEPARATORS: Final = frozenset({"-", "\u2013", "\u2014", "\u2212", "~", "to"})
# ISO 4217 codes scrapers write next to amounts; symbols are recognised by Unicode category.
_CURRENCY_CODES: Final = frozenset(
    {
        "USD", "EUR", "GBP", "CHF", "CAD", "AUD", "NZD", "JPY", "CNY", "SEK", "NOK", "DKK",
        "PLN", "CZK", "HUF", "MXN", "BRL", "INR", "ZAR", "HKD", "SGD", "KRW", "TRY", "ILS",
        "KR",
    }
)  # fmt: skip
# The word or symbol run directly before / after an amount (spaces allowed in between).
_MARKER_BEFORE_RE: Final = re.compile(r"(?P<m>(?<![A-Za-z])[A-Za-z]{2,3}|[^\w\s]+)\s*\Z")
_MARKER_AFTER_RE: Final = re.compile(r"\s*(?P<m>[A-Za-z]{2,3}(?![A-Za-z])|[^\w\s]+)")
_CURRENCY_SYMBOLS: Final = "".join(
    chr(c) for c in range(0x10000) if unicodedata.category(chr(c)) == "Sc"
)
_CODES_ALTERNATION: Final = "|".join(sorted(_CURRENCY_CODES))
_MARKERS_RE: Final = re.compile(
    "[" + re.escape(_CURRENCY_SYMBOLS) + "]|(?i:\\b(?:" + _CODES_ALTERNATION + ")\\b)"
)


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


def _is_currency_marker(text: str) -> bool:
    """A currency symbol (Unicode category Sc, e.g. `$`, `€`, `US$`) or a currency code."""
    if not text:
        return False
    if unicodedata.category(text[-1]) == "Sc" or unicodedata.category(text[0]) == "Sc":
        return True
    return text.upper() in _CURRENCY_CODES


def _marked(cell: str, start: int, end: int) -> bool:
    """True when a currency marker sits directly before or after ``cell[start:end]``."""
    before = _MARKER_BEFORE_RE.search(cell, 0, start)
    after = _MARKER_AFTER_RE.match(cell, end)
    return bool(
        (before and _is_currency_marker(before.group("m")))
        or (after and _is_currency_marker(after.group("m")))
    )


def _is_negative(cell: str, start: int) -> bool:
    """A minus sign directly before the amount (currency markers and spaces may intervene)."""
    prefix = _MARKERS_RE.sub("", cell[:start]).rstrip(JS_WHITESPACE)
    return prefix.endswith(_MINUS_SIGNS)


def _without_parentheses(cell: str) -> str:
    """Blank out every (…) group, nested or left unclosed: notes, never prices."""
    out: list[str] = []
    depth = 0
    for ch in cell:
        if ch == "(":
            depth += 1
        elif ch == ")" and depth:
            depth -= 1
            ch = " "
        out.append(ch if depth == 0 else " ")
    return "".join(out)


def _amounts(cell: str) -> list[tuple[int, int, str]]:
    """(start, end, token) of each number outside parentheses and not followed by `%`."""
    found: list[tuple[int, int, str]] = []
    for match in _NUMBER_RE.finditer(cell):
        token = match.group().rstrip(".,")
        end = match.start() + len(token)
        if cell[match.end() :].lstrip(JS_WHITESPACE).startswith(_PERCENT_SIGNS):
            continue
        found.append((match.start(), end, token))
    return found


def _is_range(cell: str, first: tuple[int, int, str], second: tuple[int, int, str]) -> bool:
    """Two amounts joined only by a range separator (`-`, `–`, `to`), spaces and markers."""
    between = _MARKERS_RE.sub("", cell[first[1] : second[0]]).strip(JS_WHITESPACE)
    return between.lower() in _RANGE_SEPARATORS


def parse_price(cell: str) -> Decimal | None:
    """Read a price cell by the documented rule; None when it holds no unambiguous price.

    1. Text in parentheses and numbers followed by `%` are notes, never prices.
    2. Two amounts joined by a range separator (`$20 - $40`, `20–40`, `20 to 40`) give the
       range's lower bound.
    3. Otherwise, if amounts have a currency marker (a currency symbol or code directly before
       or after), exactly one of them must have one and it is the price (`2 for $10` → 10).
    4. Otherwise there must be exactly one amount.
    Anything else (a list, `1e3`, `Was $50 Now $40`) is ambiguous and gives None, as does a
    minus sign directly before the amount (a negative price), so the validator rejects the row.
    """
    if " " in cell:
        cell = _SPACE_GROUPED_RE.sub(lambda m: m.group(1).replace(" ", ""), cell)
    if "(" in cell:
        cell = _without_parentheses(cell)
    amounts = _amounts(cell)
    if len(amounts) == 2 and _is_range(cell, amounts[0], amounts[1]):
        values = [parse_number(token) for _, _, token in amounts]
        if _is_negative(cell, amounts[0][0]) or values[0] is None or values[1] is None:
            return None
        return min(values[0], values[1])
    if len(amounts) > 1:
        amounts = [a for a in amounts if _marked(cell, a[0], a[1])]
    if len(amounts) != 1 or _is_negative(cell, amounts[0][0]):
        return None
    return parse_number(amounts[0][2])

"""Weight cells: grams plus the source unit, with compound units and upstream factors."""

from __future__ import annotations

import math
import re
from typing import Final

from catalog_lib.rules.prices import _MINUS_SIGNS, _PLAIN_NUMBER_RE, parse_number
from catalog_lib.rules.text import JS_WHITESPACE, js_trim

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

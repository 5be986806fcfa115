r"""Cell text basics shared by every cell parser: JavaScript trimming, wrapping quotes, scrubbing.

Two characters can never be stored: PostgreSQL ``text`` and ``jsonb`` refuse U+0000, and a lone
UTF-16 surrogate (U+D800..U+DFFF, e.g. from a ``\ud83d`` JSON escape) has no UTF-8 form. The
rule (``scrub``): every U+0000 is dropped and every lone surrogate becomes U+FFFD (a valid
high+low pair becomes its character), in every string of a mapped item, dict keys included,
after validation has seen the raw values.
"""

from __future__ import annotations

import re
from typing import Any, Final

# ECMAScript String.prototype.trim() whitespace (WhiteSpace + LineTerminator), so trimming
# matches upstream exactly (Python's str.strip() also strips \x1c-\x1f but not U+FEFF).
JS_WHITESPACE: Final = (
    "\t\n\v\f\r \u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008"
    "\u2009\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"
)


_SURROGATE_RE: Final = re.compile("[\ud800-\udfff]")


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


def scrub_text(value: str) -> str:
    """Drop U+0000 and replace lone surrogates with U+FFFD (neither can be stored)."""
    if value.isascii():
        return value.replace("\x00", "") if "\x00" in value else value
    value = value.replace("\x00", "")
    if _SURROGATE_RE.search(value):
        # A high+low pair (as Python literals spell astral characters) becomes its character;
        # the UTF-16 round trip replaces only the unpaired ones.
        value = value.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
    return value


def scrub(value: Any) -> Any:
    """``scrub_text`` applied to every string of a JSON-like value, dict keys included."""
    if isinstance(value, str):
        return scrub_text(value)
    if isinstance(value, list):
        return [scrub(v) for v in value]
    if isinstance(value, dict):
        return {scrub_text(k) if isinstance(k, str) else k: scrub(v) for k, v in value.items()}
    return value

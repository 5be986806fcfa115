"""International hostnames: conversion to ASCII (UTS #46) and the homograph checks."""

from __future__ import annotations

import unicodedata
from typing import Final

import idna

from catalog_lib.rules.url_messages import INVALID_FORMAT, NON_ASCII_HOST

# Scripts that UTS #39 "highly restrictive" lets share a label with Latin (Japanese, Chinese and
# Korean names routinely mix them); Unicode character names are an approximation of the Script
# property that needs no extra dependency.
_CJK_WORDS: Final = frozenset({"CJK", "HIRAGANA", "KATAKANA", "HANGUL", "BOPOMOFO", "IDEOGRAPHIC"})
_WIDTH_WORDS: Final = frozenset({"FULLWIDTH", "HALFWIDTH"})
# Lowercase Cyrillic / Greek letters that render like Latin ones (Chromium's IDN spoof-checker
# list for Cyrillic, plus the Greek equivalents): a label made only of these under a non-IDN
# TLD is a whole-script homograph such as `аррӏе.com` (xn--80ak6aa92e.com).
_LATIN_LOOKALIKES: Final = frozenset("аысԁеԍһіюјӏорԛѕԝхуъьҽпгѵѡ" + "αικνορτυχϲ")


def _label_scripts(label: str) -> set[str]:
    """Approximate the set of scripts of the letters in a decoded label."""
    scripts: set[str] = set()
    for char in label:
        if char.isascii():
            if char.isalpha():
                scripts.add("LATIN")
            continue
        if not unicodedata.category(char).startswith("L"):
            continue  # marks, digits and punctuation are script-neutral (Common/Inherited)
        words = unicodedata.name(char, "").split()
        if words and words[0] in _WIDTH_WORDS:
            words = words[1:]
        if words and words[0] != "MODIFIER":
            scripts.add("CJK" if words[0] in _CJK_WORDS else words[0])
    return scripts


def decode_alabel(label: str) -> str:
    """The Unicode form of a punycode (``xn--``) label.

    Raises:
        ValueError: not valid punycode, not a valid IDNA 2008 label, or a fake A-label that
            decodes to plain ASCII (e.g. ``xn--`` alone).
    """
    try:
        decoded = idna.decode(label)
    except (idna.IDNAError, UnicodeError) as exc:
        # ValueError is this module's internal "not a valid label" signal; its callers catch it.
        raise ValueError("invalid punycode label") from exc
    if decoded.isascii():
        raise ValueError("an xn-- label must encode non-ASCII characters")
    return decoded


def _is_whole_script_lookalike(decoded: str) -> bool:
    """True when every letter of the label is a Cyrillic/Greek look-alike of a Latin letter."""
    letters = [c for c in decoded if unicodedata.category(c).startswith("L")]
    return bool(letters) and all(c in _LATIN_LOOKALIKES for c in letters)


def is_homograph_label(label: str, *, tld_is_latin: bool = True) -> bool:
    """True when a punycode label is a homograph of a Latin name.

    Two rules (UTS #39 and Chromium's IDN display policy): the decoded label mixes scripts
    (Latin with Cyrillic, …; CJK scripts may mix with Latin), or — under a TLD written in Latin
    letters — every letter is a Cyrillic or Greek look-alike of a Latin letter (`аррӏе`).

    Raises:
        ValueError: the label is not valid punycode (see `decode_alabel`).
    """
    decoded = decode_alabel(label)
    scripts = _label_scripts(decoded)
    if "CJK" in scripts:
        scripts.discard("LATIN")
    if len(scripts) > 1:
        return True
    return tld_is_latin and _is_whole_script_lookalike(decoded)


def _is_latin_tld(labels: list[str]) -> bool:
    """True unless the last label is an IDN TLD written in a non-Latin script (`.рф`)."""
    tld = labels[-1]
    if not tld.startswith("xn--"):
        return True
    try:
        scripts = _label_scripts(decode_alabel(tld))
    except ValueError:
        return True
    return scripts <= {"LATIN"}


def _has_invalid_alabel(host: str) -> bool:
    """True when any ``xn--`` label of the host is not valid punycode (see `decode_alabel`)."""
    for label in host.split("."):
        if label[:4] == "xn--":
            try:
                decode_alabel(label)
            except ValueError:
                return True
    return False


def _homograph_reason(host: str) -> str | None:
    """INVALID_FORMAT for a bad punycode label, NON_ASCII_HOST for a homograph, else None."""
    labels = [label for label in host.rstrip(".").split(".") if label]
    if not any(label.startswith("xn--") for label in labels):
        return None
    latin_tld = _is_latin_tld(labels)
    try:
        if any(is_homograph_label(x, tld_is_latin=latin_tld) for x in labels if x[:4] == "xn--"):
            return NON_ASCII_HOST
    except ValueError:
        return INVALID_FORMAT
    return None


def to_ascii_host(host: str) -> str:
    """Map a Unicode host to ASCII as a browser does (UTS #46, IDNA 2008): `münchen.de`.

    Full-width letters and digits and ideographic full stops are mapped too, so `１２７。０。０。１`
    becomes `127.0.0.1` before the address checks.

    Raises:
        ValueError: the host has code points IDNA 2008 forbids (e.g. emoji) or a bad label.
    """
    try:
        return idna.encode(host, uts46=True).decode("ascii").lower()
    except (idna.IDNAError, UnicodeError) as exc:
        raise ValueError("host cannot be converted to ASCII") from exc

"""Product-URL safety checks: URL shape, scheme, internal hosts and IDN homographs.

The checks parse the host (no DNS lookup) instead of upstream's string-prefix match, so every
IPv4 spelling a WHATWG URL parser accepts is decoded before the address ranges are tested, and
look-alike hostnames such as ``10.example.com`` are not false positives. Names are judged as
well: names that only resolve inside a network (single labels, reserved private suffixes),
wildcard-DNS services that map a name to any IP, and names embedding a blocked IPv4 address.
Unicode hosts are converted to ASCII (UTS #46 / IDNA 2008) like a browser does; punycode labels
must be valid and are rejected when they mix scripts or are written entirely in look-alikes of
Latin letters. The rules are documented in docs/ingest.md (Validation).

This module parses the URL and decides; the rules live in `url_addresses` (blocked addresses
and names), `url_homographs` (IDNA and look-alikes) and `url_messages` (the reasons).
"""

from __future__ import annotations

import ipaddress
import re
from typing import Final
from urllib.parse import unquote, urlsplit

from catalog_lib.rules.url_addresses import (
    _InvalidHostError,
    _is_blocked,
    is_blocked_host,
    is_internal_name,
    parse_ipv4_host,
)
from catalog_lib.rules.url_homographs import (
    _has_invalid_alabel,
    _homograph_reason,
    is_homograph_label,
    to_ascii_host,
)
from catalog_lib.rules.url_messages import (
    INVALID_FORMAT,
    NON_ASCII_HOST,
    PRIVATE_HOST,
    SCHEME_TEMPLATE,
)

# The checks callers and tests name through this module.
__all__ = [
    "INVALID_FORMAT",
    "NON_ASCII_HOST",
    "PRIVATE_HOST",
    "SCHEME_TEMPLATE",
    "check_url_host",
    "is_blocked_host",
    "is_homograph_label",
    "is_internal_name",
    "parse_ipv4_host",
    "to_ascii_host",
]

_SCHEME_RE: Final = re.compile(r"([A-Za-z][A-Za-z0-9+.\-]*):")
_TAB_NEWLINE: Final = str.maketrans("", "", "\t\n\r")
# WHATWG "forbidden domain code points" that can survive urlsplit (ASCII only; non-ASCII hosts
# are rejected by the homograph guard anyway).
_FORBIDDEN_HOST_RE: Final = re.compile(r"[\x00-\x20%#/:<>?@\[\\\]^|\x7f]")


# The overwhelmingly common shape: http(s)://name.tld/..., ASCII letters/digits/hyphens only, no
# userinfo, port, escapes or backslashes, and a last label that starts with a letter (so it can
# be neither an IPv4 spelling nor "ends in a number"). Everything else takes the full parse.
_PLAIN_URL_RE: Final = re.compile(
    r"https?://((?:[a-z0-9-]+\.)+[a-z][a-z0-9-]*)(?:[/?#][^\\\t\n\r]*)?", re.IGNORECASE
)


def _split_host(url: str) -> tuple[str, str] | None:
    """Return (scheme, host) for an http(s) URL; (scheme, "") for other schemes; None if bad."""
    match = _SCHEME_RE.match(url)
    if match is None:
        return None
    scheme = match.group(1).lower()
    if scheme not in ("http", "https"):
        urlsplit(url)  # raises ValueError on malformed brackets, like WHATWG would fail
        return scheme, ""
    # WHATWG treats `\` as `/` and ignores any number of slashes after a special scheme, so
    # `http://127.0.0.1\@evil.com/` targets 127.0.0.1: normalise before urlsplit.
    rest = url[match.end() :].replace("\\", "/").lstrip("/")
    parts = urlsplit(f"{scheme}://{rest}")
    _ = parts.port  # raises ValueError for a non-numeric or out-of-range port
    host = parts.hostname or ""
    if "[" in parts.netloc:
        # WHATWG accepts only a plain IPv6 literal in brackets: no zone id, no IPvFuture.
        if "%" in host:
            return None
        ipaddress.IPv6Address(host)
        return scheme, f"[{host}]"
    host = unquote(host, errors="strict").lower()
    if not host or _FORBIDDEN_HOST_RE.search(host):
        return None
    if not host.isascii():
        host = to_ascii_host(host)
        if not host or _FORBIDDEN_HOST_RE.search(host):
            return None
    return scheme, host


def check_url_host(url: str) -> str | None:
    """Run the product-URL checks (3c) and return the exact upstream reason, or None if fine."""
    plain = _PLAIN_URL_RE.fullmatch(url)
    if plain is not None:
        host = plain.group(1).lower()
        if "xn--" not in host:
            return PRIVATE_HOST if is_internal_name(host) else None
    return _check_url_fully(url)


def _check_url_fully(url: str) -> str | None:
    """The complete 3c checks, without the plain-URL shortcut."""
    try:
        split = _split_host(url.translate(_TAB_NEWLINE))
    except ValueError:
        return INVALID_FORMAT
    if split is None:
        return INVALID_FORMAT
    scheme, host = split
    if scheme not in ("http", "https"):
        return SCHEME_TEMPLATE.format(scheme=f"{scheme}:")
    bare = host[1:-1] if host.startswith("[") else host
    if _has_invalid_alabel(bare):
        return INVALID_FORMAT  # as a browser: bad punycode fails the URL before anything else
    try:
        if _is_blocked(bare):
            return PRIVATE_HOST
    except _InvalidHostError:
        return INVALID_FORMAT
    return _homograph_reason(bare)

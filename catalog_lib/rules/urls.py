"""Product-URL safety checks: URL shape, scheme, private/loopback hosts and IDN homographs.

The checks parse the host (no DNS lookup) instead of upstream's string-prefix match, so every
IPv4 spelling a WHATWG URL parser accepts is decoded before the address ranges are tested, and
look-alike hostnames such as ``10.example.com`` are not false positives.
"""

from __future__ import annotations

import ipaddress
import re
import unicodedata
from typing import Final
from urllib.parse import unquote, urlsplit

INVALID_FORMAT: Final = "Product URL must be a valid URL format"
SCHEME_TEMPLATE: Final = "Product URL scheme must be http: or https: (got {scheme})"
PRIVATE_HOST: Final = "Product URL hostname must not be a private/loopback/link-local address"
NON_ASCII_HOST: Final = "Product URL hostname contains non-ASCII characters (IDN homograph guard)"

_SCHEME_RE: Final = re.compile(r"([A-Za-z][A-Za-z0-9+.\-]*):")
_TAB_NEWLINE: Final = str.maketrans("", "", "\t\n\r")
# WHATWG "forbidden domain code points" that can survive urlsplit (ASCII only; non-ASCII hosts
# are rejected by the homograph guard anyway).
_FORBIDDEN_HOST_RE: Final = re.compile(r"[\x00-\x20%#/:<>?@\[\\\]^|\x7f]")
_DECIMAL_RE: Final = re.compile(r"[0-9]+")
_HEX_RE: Final = re.compile(r"0[xX][0-9A-Fa-f]*")
_OCTAL_RE: Final = re.compile(r"0[0-7]+")
_CGNAT: Final = ipaddress.IPv4Network("100.64.0.0/10")
_NAT64: Final = ipaddress.IPv6Network("64:ff9b::/96")
_IPV4_COMPAT: Final = ipaddress.IPv6Network("::/96")
# Scripts that UTS #39 "highly restrictive" lets share a label with Latin (Japanese, Chinese and
# Korean names routinely mix them); Unicode character names are an approximation of the Script
# property that needs no extra dependency.
_CJK_WORDS: Final = frozenset({"CJK", "HIRAGANA", "KATAKANA", "HANGUL", "BOPOMOFO", "IDEOGRAPHIC"})
_WIDTH_WORDS: Final = frozenset({"FULLWIDTH", "HALFWIDTH"})


# The overwhelmingly common shape: http(s)://name.tld/..., ASCII letters/digits/hyphens only, no
# userinfo, port, escapes or backslashes, and a last label that starts with a letter (so it can
# be neither an IPv4 spelling nor "ends in a number"). Everything else takes the full parse.
_PLAIN_URL_RE: Final = re.compile(
    r"https?://((?:[a-z0-9-]+\.)+[a-z][a-z0-9-]*)(?:[/?#][^\\\t\n\r]*)?", re.IGNORECASE
)


class _InvalidHostError(ValueError):
    """The host cannot be parsed the way a WHATWG URL parser would accept it."""


def _parse_ipv4_part(part: str) -> int:
    """Parse one dotted part in decimal, octal (leading 0) or hex (0x) like WHATWG."""
    if _HEX_RE.fullmatch(part):
        return int(part[2:] or "0", 16)
    if _OCTAL_RE.fullmatch(part):
        return int(part, 8)
    if _DECIMAL_RE.fullmatch(part):
        return int(part)
    raise _InvalidHostError("bad IPv4 part")


def _ends_in_number(labels: list[str]) -> bool:
    """WHATWG 'ends in a number': the last label is decimal digits or a 0x hex number."""
    last = labels[-1]
    return bool(_DECIMAL_RE.fullmatch(last) or _HEX_RE.fullmatch(last))


def parse_ipv4_host(host: str) -> ipaddress.IPv4Address | None:
    """Decode every WHATWG IPv4 spelling (`2130706433`, `0x7f.1`, `0177.0.0.1`, `127.1`).

    Returns None for a host that is not numeric; raises ``_InvalidHostError`` for a numeric-looking
    host that no URL parser would accept (e.g. ``1.2.3.4.5`` or ``256.1.1.1``).
    """
    labels = host.split(".")
    if len(labels) > 1 and labels[-1] == "":
        labels.pop()
    if not _ends_in_number(labels):
        return None
    if len(labels) > 4:
        raise _InvalidHostError("too many IPv4 parts")
    numbers = [_parse_ipv4_part(label) for label in labels]
    if any(n > 255 for n in numbers[:-1]) or numbers[-1] >= 256 ** (5 - len(numbers)):
        raise _InvalidHostError("IPv4 part out of range")
    value = numbers[-1]
    for index, number in enumerate(numbers[:-1]):
        value += number << (8 * (3 - index))
    return ipaddress.IPv4Address(value)


def _is_blocked_ipv4(ip: ipaddress.IPv4Address) -> bool:
    """True for loopback, private, link-local, CGNAT, unspecified, multicast, reserved addresses."""
    return (
        ip.is_loopback
        or ip.is_private
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
        or ip in _CGNAT
        or not ip.is_global
    )


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address carried by a mapped, compatible, 6to4 or NAT64 IPv6 address."""
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip in _NAT64 or ip in _IPV4_COMPAT:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def _is_blocked_ipv6(ip: ipaddress.IPv6Address) -> bool:
    """True for ::1, ::, ULA, link/site-local, multicast, or an embedded blocked IPv4."""
    if ip.is_loopback or ip.is_unspecified:
        return True
    embedded = _embedded_ipv4(ip)
    if embedded is not None:
        return _is_blocked_ipv4(embedded)
    return (
        ip.is_private
        or ip.is_link_local
        or ip.is_site_local
        or ip.is_multicast
        or ip.is_reserved
        or not ip.is_global
    )


def _is_blocked(host: str) -> bool:
    """Blocked-host test for a lowercased, bracket-free host; raises ``_InvalidHostError``."""
    # Trailing dots are resolver no-ops (`localhost.`, `127.0.0.1..`), so ignore them all.
    name = host.rstrip(".")
    if name == "localhost" or name.endswith(".localhost"):
        return True
    if ":" in name:
        try:
            return _is_blocked_ipv6(ipaddress.IPv6Address(name))
        except ValueError as exc:
            raise _InvalidHostError("bad IPv6 address") from exc
    ipv4 = parse_ipv4_host(name)
    return ipv4 is not None and _is_blocked_ipv4(ipv4)


def is_blocked_host(host: str) -> bool:
    """True when a URL host names a private, loopback, link-local or otherwise internal address.

    Accepts the host with or without IPv6 brackets, in any case. A numeric-looking host that is
    not a valid address fails closed (True).
    """
    host = host.strip().lower()
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    try:
        return _is_blocked(host)
    except _InvalidHostError:
        return True


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


def is_homograph_label(label: str) -> bool:
    """True when a punycode (``xn--``) label decodes to letters from mixed scripts.

    Raises:
        ValueError: the label is not valid punycode.
    """
    decoded = label[4:].encode("ascii").decode("punycode")
    scripts = _label_scripts(decoded)
    if "CJK" in scripts:
        scripts.discard("LATIN")
    return len(scripts) > 1


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
    return scheme, host


def check_url_host(url: str) -> str | None:
    """Run the product-URL checks (3c) and return the exact upstream reason, or None if fine."""
    plain = _PLAIN_URL_RE.fullmatch(url)
    if plain is not None:
        host = plain.group(1).lower()
        if not host.endswith(".localhost") and "xn--" not in host:
            return None
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
    try:
        if _is_blocked(bare):
            return PRIVATE_HOST
    except _InvalidHostError:
        return INVALID_FORMAT
    if not bare.isascii():
        return NON_ASCII_HOST
    try:
        if any(is_homograph_label(label) for label in bare.split(".") if label[:4] == "xn--"):
            return NON_ASCII_HOST
    except UnicodeError:
        return INVALID_FORMAT
    return None

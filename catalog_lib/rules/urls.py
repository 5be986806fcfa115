"""Product-URL safety checks: URL shape, scheme, internal hosts and IDN homographs.

The checks parse the host (no DNS lookup) instead of upstream's string-prefix match, so every
IPv4 spelling a WHATWG URL parser accepts is decoded before the address ranges are tested, and
look-alike hostnames such as ``10.example.com`` are not false positives. Names are judged as
well: names that only resolve inside a network (single labels, reserved private suffixes),
wildcard-DNS services that map a name to any IP, and names embedding a blocked IPv4 address.
Unicode hosts are converted to ASCII (UTS #46 / IDNA 2008) like a browser does; punycode labels
must be valid and are rejected when they mix scripts or are written entirely in look-alikes of
Latin letters. The rules are documented in docs/ingest.md (Validation).
"""

from __future__ import annotations

import ipaddress
import re
import unicodedata
from typing import Final
from urllib.parse import unquote, urlsplit

import idna

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
# Suffixes that never name a public host: RFC 6761 `localhost`, mDNS `local`, ICANN's private-use
# `internal` (cloud metadata such as `metadata.google.internal`), RFC 8375 `home.arpa`, the
# `arpa` infrastructure zone, and the de-facto private `localdomain` / `lan` / `intranet`.
_INTERNAL_SUFFIXES: Final = frozenset(
    {"localhost", "local", "internal", "localdomain", "lan", "intranet", "home.arpa", "arpa"}
)
# Wildcard-DNS services: any name under them resolves to an address chosen by the name itself
# (`127.0.0.1.nip.io`, `10-0-0-1.sslip.io`) or always to loopback (`localtest.me`, `lvh.me`).
# A product page never lives there, so the whole zone is refused.
WILDCARD_DNS_ZONES: Final = frozenset(
    {
        "nip.io",
        "sslip.io",
        "xip.io",
        "nip.direct",
        "traefik.me",
        "localtest.me",
        "lvh.me",
        "vcap.me",
        "fuf.me",
        "lacolhost.com",
        "localhost.direct",
    }
)
_HAS_DIGIT_RE: Final = re.compile(r"[0-9]")
_DECIMAL_LABEL_RE: Final = re.compile(r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])")
# Lowercase Cyrillic / Greek letters that render like Latin ones (Chromium's IDN spoof-checker
# list for Cyrillic, plus the Greek equivalents): a label made only of these under a non-IDN
# TLD is a whole-script homograph such as `аррӏе.com` (xn--80ak6aa92e.com).
_LATIN_LOOKALIKES: Final = frozenset("аысԁеԍһіюјӏорԛѕԝхуъьҽпгѵѡ" + "αικνορτυχϲ")


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
    if _DECIMAL_RE.fullmatch(part) and (part == "0" or not part.startswith("0")):
        return int(part)
    raise _InvalidHostError("bad IPv4 part")  # incl. `08`: a leading 0 means octal


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


def _is_under(labels: list[str], zones: frozenset[str]) -> bool:
    """True when the name is one of ``zones`` or under one (every zone has at most 2 labels)."""
    return labels[-1] in zones or ".".join(labels[-2:]) in zones


def _embeds_blocked_ipv4(labels: list[str]) -> bool:
    """True when 4 decimal labels in a row, or 4 dash-separated numbers, spell a blocked IPv4."""
    quads = [labels[i : i + 4] for i in range(len(labels) - 3)]
    for label in labels:
        if label.count("-") >= 3:
            parts = label.split("-")
            quads += [parts[i : i + 4] for i in range(len(parts) - 3)]
    return any(
        all(_DECIMAL_LABEL_RE.fullmatch(part) for part in quad)
        and _is_blocked_ipv4(ipaddress.IPv4Address(".".join(quad)))
        for quad in quads
    )


def is_internal_name(name: str) -> bool:
    """True for a lowercased ASCII host name that cannot be a public web host.

    A single label (`metadata`, `instance-data`, `ip6-localhost`: resolved through local search
    domains or /etc/hosts), a reserved private suffix (`*.internal`, `*.local`,
    `localhost.localdomain`, …), a wildcard-DNS zone (`*.nip.io`, `*.sslip.io`,
    `localtest.me`, …), or a name that embeds a blocked IPv4 address (`127.0.0.1.example.com`,
    `10-0-0-1.example.net`).
    """
    labels = name.rstrip(".").split(".")
    if len(labels) < 2:
        return True
    if _is_under(labels, _INTERNAL_SUFFIXES) or _is_under(labels, WILDCARD_DNS_ZONES):
        return True
    return _HAS_DIGIT_RE.search(name) is not None and _embeds_blocked_ipv4(labels)


def _is_blocked(host: str) -> bool:
    """Blocked-host test for a lowercased, bracket-free host; raises ``_InvalidHostError``."""
    # Trailing dots are resolver no-ops (`localhost.`, `127.0.0.1..`), so ignore them all.
    name = host.rstrip(".")
    if ":" in name:
        try:
            return _is_blocked_ipv6(ipaddress.IPv6Address(name))
        except ValueError as exc:
            raise _InvalidHostError("bad IPv6 address") from exc
    ipv4 = parse_ipv4_host(name)
    if ipv4 is not None:
        return _is_blocked_ipv4(ipv4)
    return is_internal_name(name)


def is_blocked_host(host: str) -> bool:
    """True when a URL host names a private, loopback, link-local or otherwise internal address.

    Accepts an ASCII host with or without IPv6 brackets, in any case; names are judged by
    `is_internal_name`. A numeric-looking host that is not a valid address fails closed (True).
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


def decode_alabel(label: str) -> str:
    """The Unicode form of a punycode (``xn--``) label.

    Raises:
        ValueError: not valid punycode, not a valid IDNA 2008 label, or a fake A-label that
            decodes to plain ASCII (e.g. ``xn--`` alone).
    """
    try:
        decoded = idna.decode(label)
    except (idna.IDNAError, UnicodeError) as exc:
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

"""Which URL hosts are refused: private IPs in any spelling, internal and wildcard-DNS names."""

from __future__ import annotations

import ipaddress
import re
from typing import Final

_DECIMAL_RE: Final = re.compile(r"[0-9]+")
_HEX_RE: Final = re.compile(r"0[xX][0-9A-Fa-f]*")
_OCTAL_RE: Final = re.compile(r"0[0-7]+")
_CGNAT: Final = ipaddress.IPv4Network("100.64.0.0/10")
_NAT64: Final = ipaddress.IPv6Network("64:ff9b::/96")
_IPV4_COMPAT: Final = ipaddress.IPv6Network("::/96")
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

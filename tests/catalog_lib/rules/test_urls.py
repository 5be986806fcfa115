"""Tests for URL checks: URL shape, scheme, private hosts in every spelling, homographs."""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import given
from hypothesis import strategies as st

from catalog_lib.rules.urls import (
    INVALID_FORMAT,
    NON_ASCII_HOST,
    PRIVATE_HOST,
    _check_url_fully,
    check_url_host,
    is_blocked_host,
    is_homograph_label,
    parse_ipv4_host,
)

BLOCKED_URLS = [
    "http://127.0.0.1/",
    "http://2130706433/",
    "http://0x7f000001/",
    "http://0177.0.0.1/",
    "http://127.1/",
    "http://0x7f.1/",
    "http://10.1/",
    "http://192.168.1.1/",
    "http://172.16.0.1/",
    "http://172.31.255.255/",
    "http://[::1]/",
    "http://[::ffff:127.0.0.1]/",
    "http://[::ffff:7f00:1]/",
    "http://[::ffff:10.0.0.1]/",
    "http://[::]/",
    "http://0.0.0.0/",
    "http://0/",
    "http://100.64.0.1/",
    "http://[fd12::1]/",
    "http://[fc00::1]/",
    "http://[fe80::1]/",
    "http://169.254.169.254/",
    "http://localhost:8080/",
    "http://LOCALHOST/",
    "http://localhost./",
    "http://a.localhost/",
    "http://224.0.0.1/",
    "http://255.255.255.255/",
    "http://[ff02::1]/",
    "http://[64:ff9b::a00:1]/",
    "http://[2002:c0a8:101::]/",
    "http://%31%32%37.0.0.1/",
    "http://127.0.0.1\\@evil.example/",
    "http:///127.0.0.1/",
    "http://user:pw@127.0.0.1:80/x",
]
ACCEPTED_URLS = [
    "https://10.example.com/",
    "https://localhost.example.com/",
    "https://127.example.org/",
    "http://172.15.0.1/",
    "http://172.32.0.1/",
    "https://[2001:4860:4860::8888]/",
    "https://[::ffff:8.8.8.8]/",
    "https://8.8.8.8/",
    "https://xn--bcher-kva.example/",
    "http://xn--d1acufc.xn--p1ai/",
    "https://m\u00fcnchen.de/",
    "https://b\u00fccher.example/",
    "https://xn--wgv71a119e.jp/",
    "https://shop.example.com/p/alpine-down-jacket?variant=blk-m",
    "HTTPS://Shop.Example.COM:443/x#frag",
]


@pytest.mark.parametrize("url", BLOCKED_URLS, ids=BLOCKED_URLS)
def test_private_hosts_rejected_in_every_spelling(url: str) -> None:
    assert check_url_host(url) == PRIVATE_HOST


@pytest.mark.parametrize("url", ACCEPTED_URLS, ids=ACCEPTED_URLS)
def test_public_hosts_accepted(url: str) -> None:
    assert check_url_host(url) is None


@pytest.mark.parametrize(
    ("url", "scheme"),
    [
        pytest.param("javascript:alert(1)", "javascript:", id="javascript"),
        pytest.param("JavaScript:alert(1)", "javascript:", id="scheme-lowercased"),
        pytest.param("mailto:someone@example.com", "mailto:", id="mailto"),
        pytest.param("data:text/html,hi", "data:", id="data"),
        pytest.param("file:///etc/passwd", "file:", id="file"),
        pytest.param("ftp://example.com/x", "ftp:", id="ftp"),
    ],
)
def test_scheme_reason_names_the_scheme(url: str, scheme: str) -> None:
    assert check_url_host(url) == f"Product URL scheme must be http: or https: (got {scheme})"


@pytest.mark.parametrize(
    "url",
    [
        "not a url",
        "www.example.com/x",
        "//example.com/x",
        "http://",
        "http://1.2.3.4.5/",
        "http://256.1.1.1/",
        "http://example.123/",
        "http://[v1.x]/",
        "http://[fe80::1%25eth0]/",
        "http://a b.com/",
        "http://x:99999/",
        "http://x:ab/",
        "http://[::1",
    ],
)
def test_invalid_format(url: str) -> None:
    assert check_url_host(url) == INVALID_FORMAT


@pytest.mark.parametrize(
    "url",
    [
        pytest.param("https://xn--pypal-4ve.com/", id="latin-cyrillic-punycode"),
        pytest.param("https://p\u0430ypal.com/", id="raw-cyrillic-a"),
        pytest.param("http://xn--80ak6aa92e.com/", id="all-cyrillic-lookalike"),
    ],
)
def test_homograph_guard(url: str) -> None:
    assert check_url_host(url) == NON_ASCII_HOST


@pytest.mark.parametrize(
    ("label", "expected"),
    [
        pytest.param("xn--pypal-4ve", True, id="latin+cyrillic"),
        pytest.param("xn--bcher-kva", False, id="latin-only"),
        pytest.param("xn--80ak6aa92e", True, id="cyrillic-only-lookalikes"),
        pytest.param("xn--d1acufc", False, id="cyrillic-with-non-lookalikes"),
        pytest.param("xn--wgv71a119e", False, id="japanese-kanji"),
        pytest.param("xn--mnchen-3ya", False, id="latin-with-umlaut"),
        pytest.param("xn--ppleabc-1fg", True, id="cyrillic-a+latin"),
    ],
)
def test_is_homograph_label(label: str, expected: bool) -> None:
    assert is_homograph_label(label) is expected


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        pytest.param("2130706433", "127.0.0.1", id="decimal"),
        pytest.param("0x7f000001", "127.0.0.1", id="hex"),
        pytest.param("0177.0.0.1", "127.0.0.1", id="octal"),
        pytest.param("127.1", "127.0.0.1", id="short-a.d"),
        pytest.param("10.1.1", "10.1.0.1", id="short-a.b.d"),
        pytest.param("0x7f.0.0.01", "127.0.0.1", id="mixed"),
        pytest.param("1.2.3.4.", "1.2.3.4", id="trailing-dot"),
        pytest.param("example.com", None, id="name"),
        pytest.param("127.example.org", None, id="numeric-first-label"),
    ],
)
def test_parse_ipv4_host(host: str, expected: str | None) -> None:
    result = parse_ipv4_host(host)
    assert (str(result) if result else None) == expected


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        pytest.param("[::1]", True, id="bracketed"),
        pytest.param("LocalHost", True, id="case"),
        pytest.param("1.2.3.4.5", True, id="invalid-numeric-fails-closed"),
        pytest.param("example.com", False, id="public-name"),
        pytest.param("10.example.com", False, id="prefix-lookalike"),
        pytest.param("8.8.8.8", False, id="public-ip"),
    ],
)
def test_is_blocked_host(host: str, expected: bool) -> None:
    assert is_blocked_host(host) is expected


@given(st.integers(min_value=0, max_value=2**32 - 1))
def test_every_ipv4_spelling_agrees_with_dotted(value: int) -> None:
    dotted = ipaddress.IPv4Address(value)
    expected = is_blocked_host(str(dotted))
    for spelling in (str(value), hex(value), f"0{value:o}"):
        assert parse_ipv4_host(spelling) == dotted
        assert is_blocked_host(spelling) is expected


@given(st.text())
def test_check_url_host_never_raises(text: str) -> None:
    for url in (text, f"http://{text}/", f"https://[{text}]/"):
        reason = check_url_host(url)
        assert reason is None or isinstance(reason, str)


_LABEL = st.from_regex(r"[a-zA-Z0-9-]{1,8}", fullmatch=True)
_TLD = st.from_regex(r"[a-zA-Z][a-zA-Z0-9-]{0,5}", fullmatch=True)
_TAIL = st.sampled_from(["", "/", "/p/x?a=1,2#f", "?q", "#x", "/a b", "/%41"])


@given(
    st.sampled_from(["http", "https", "HTTP"]),
    st.lists(_LABEL, min_size=1, max_size=4),
    _TLD,
    _TAIL,
)
def test_plain_url_shortcut_agrees_with_full_check(
    scheme: str, labels: list[str], tld: str, tail: str
) -> None:
    url = f"{scheme}://{'.'.join([*labels, tld])}{tail}"
    assert check_url_host(url) == _check_url_fully(url)

"""HMAC signing of webhook bodies: round trips, tampering, replay window, rotation."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from catalog_lib.core.errors import InvalidArgumentError, SignatureError
from catalog_lib.core.settings import parse_secrets
from catalog_lib.rules.signing import (
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    compute_signature,
    sign,
    verify,
)

NOW = 1_800_000_000
SECRET = "s3cret-for-the-tests-0123456789"

secrets_st = st.text(min_size=1, max_size=64)
bodies_st = st.binary(max_size=2048)
timestamps_st = st.integers(min_value=0, max_value=10**11)


def _reason(body: bytes, headers: dict[str, str], secrets: list[str], now: int = NOW) -> str:
    with pytest.raises(SignatureError) as info:
        verify(body, headers, secrets, now)
    assert info.value.kind == "invalid_signature"
    return info.value.reason


@given(body=bodies_st, secret=secrets_st, timestamp=timestamps_st)
def test_any_body_and_secret_round_trip(body: bytes, secret: str, timestamp: int) -> None:
    verify(body, sign(body, secret, timestamp), [secret], now=timestamp)


@given(body=bodies_st.filter(bool), secret=secrets_st, data=st.data())
def test_any_single_byte_change_fails(body: bytes, secret: str, data: st.DataObject) -> None:
    headers = sign(body, secret, NOW)
    index = data.draw(st.integers(min_value=0, max_value=len(body) - 1))
    flip = data.draw(st.integers(min_value=1, max_value=255))
    tampered = bytearray(body)
    tampered[index] ^= flip
    assert _reason(bytes(tampered), headers, [secret]) == "signature_mismatch"


@given(body=bodies_st, secret=secrets_st, other=secrets_st)
def test_another_secret_fails(body: bytes, secret: str, other: str) -> None:
    if other == secret:
        return
    assert _reason(body, sign(body, secret, NOW), [other]) == "signature_mismatch"


def test_the_timestamp_is_signed_too() -> None:
    headers = sign(b"{}", SECRET, NOW)
    headers[TIMESTAMP_HEADER] = str(NOW + 1)
    assert _reason(b"{}", headers, [SECRET]) == "signature_mismatch"


def test_signature_is_hmac_sha256_of_timestamp_dot_body() -> None:
    import hashlib
    import hmac

    expected = hmac.new(SECRET.encode(), b"%d.{}" % NOW, hashlib.sha256).hexdigest()
    assert sign(b"{}", SECRET, NOW)[SIGNATURE_HEADER] == "sha256=" + expected
    assert compute_signature(b"{}", SECRET, NOW) == expected


@pytest.mark.parametrize(
    ("offset", "reason"),
    [(-301, "timestamp_stale"), (301, "timestamp_in_future")],
    ids=["stale", "future"],
)
def test_timestamps_outside_the_window_fail(offset: int, reason: str) -> None:
    headers = sign(b"{}", SECRET, NOW + offset)
    assert _reason(b"{}", headers, [SECRET]) == reason


@pytest.mark.parametrize("offset", [-300, 0, 300], ids=["oldest", "now", "newest"])
def test_timestamps_inside_the_window_pass(offset: int) -> None:
    verify(b"{}", sign(b"{}", SECRET, NOW + offset), [SECRET], NOW)


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        ({}, "signature_missing"),
        ({TIMESTAMP_HEADER: str(NOW)}, "signature_missing"),
        ({SIGNATURE_HEADER: "sha256=" + "0" * 64}, "signature_missing"),
        ({TIMESTAMP_HEADER: "soon", SIGNATURE_HEADER: "sha256=" + "0" * 64}, "signature_malformed"),
        ({TIMESTAMP_HEADER: "-5", SIGNATURE_HEADER: "sha256=" + "0" * 64}, "signature_malformed"),
        ({TIMESTAMP_HEADER: str(NOW), SIGNATURE_HEADER: "0" * 64}, "signature_malformed"),
        ({TIMESTAMP_HEADER: str(NOW), SIGNATURE_HEADER: "sha256=abc"}, "signature_malformed"),
        ({TIMESTAMP_HEADER: str(NOW), SIGNATURE_HEADER: "sha1=" + "0" * 40}, "signature_malformed"),
        (
            {TIMESTAMP_HEADER: str(NOW), SIGNATURE_HEADER: "sha256=" + "0" * 64},
            "signature_mismatch",
        ),
    ],
    ids=[
        "none",
        "no-signature",
        "no-timestamp",
        "word-timestamp",
        "negative-timestamp",
        "no-prefix",
        "short-digest",
        "sha1",
        "wrong-digest",
    ],
)
def test_missing_and_malformed_headers(headers: dict[str, str], reason: str) -> None:
    assert _reason(b"{}", headers, [SECRET]) == reason


def test_header_names_are_case_insensitive() -> None:
    headers = {k.lower(): v for k, v in sign(b"{}", SECRET, NOW).items()}
    verify(b"{}", headers, [SECRET], NOW)


def test_any_active_secret_verifies_during_a_rotation() -> None:
    old, new = "old-secret-0123456789", "new-secret-0123456789"
    body = b'{"source": "trailco"}'
    verify(body, sign(body, old, NOW), [new, old], NOW)
    verify(body, sign(body, new, NOW), [new, old], NOW)
    assert _reason(body, sign(body, old, NOW), [new]) == "signature_mismatch"


def test_verify_needs_a_secret() -> None:
    with pytest.raises(InvalidArgumentError, match="at least one secret"):
        verify(b"{}", sign(b"{}", SECRET, NOW), [], NOW)


def test_parse_secrets_splits_on_commas() -> None:
    assert parse_secrets(" new-one , old-one,,") == ["new-one", "old-one"]
    assert parse_secrets("") == []

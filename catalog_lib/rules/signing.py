"""HMAC-SHA256 request signing of the scraper webhook: sign a body, verify its headers.

The signature covers `f"{timestamp}." + body` (the raw bytes, before any JSON parsing) with
a shared secret; the timestamp (Unix seconds) bounds replays to a window around the
receiver's clock. Several secrets may be active at once so a secret can be rotated without
downtime: a request signed with any of them verifies.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Mapping, Sequence

from catalog_lib.core.errors import InvalidArgumentError, SignatureError

TIMESTAMP_HEADER = "X-Catalog-Timestamp"
SIGNATURE_HEADER = "X-Catalog-Signature"
SIGNATURE_PREFIX = "sha256="
DEFAULT_WINDOW_S = 300
# Secrets shorter than this are refused by the receiver (not by `sign`, which tests fuzz).
MIN_SECRET_LENGTH = 16

_TIMESTAMP = re.compile(r"[0-9]{1,12}")
_HEX_DIGEST = re.compile(r"[0-9a-f]{64}")


def compute_signature(body: bytes, secret: str, timestamp: int) -> str:
    """The lower-case hex HMAC-SHA256 of `f"{timestamp}." + body` under `secret`."""
    message = f"{timestamp}.".encode("ascii") + body
    return hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()


def sign(body: bytes, secret: str, timestamp: int) -> dict[str, str]:
    """The two request headers that authenticate `body` at `timestamp` (Unix seconds)."""
    if timestamp < 0:
        raise InvalidArgumentError("timestamp must be non-negative Unix seconds")
    return {
        TIMESTAMP_HEADER: str(timestamp),
        SIGNATURE_HEADER: SIGNATURE_PREFIX + compute_signature(body, secret, timestamp),
    }


def verify(
    body: bytes,
    headers: Mapping[str, str],
    secrets: Sequence[str],
    now: int,
    window_s: int = DEFAULT_WINDOW_S,
) -> None:
    """Check that `headers` sign `body` with one of `secrets` within `window_s` of `now`.

    Header names are matched case-insensitively. The digest is compared in constant time
    against every secret (no early exit on the first match), so timing reveals neither the
    digest nor which secret matched.

    Raises:
        SignatureError: with `reason` `signature_missing`, `signature_malformed`,
            `timestamp_stale`, `timestamp_in_future` or `signature_mismatch`.
    """
    if not secrets:
        raise InvalidArgumentError("verify needs at least one secret")
    lowered = {k.lower(): v for k, v in headers.items()}
    raw_ts = lowered.get(TIMESTAMP_HEADER.lower())
    raw_sig = lowered.get(SIGNATURE_HEADER.lower())
    if raw_ts is None or raw_sig is None:
        missing = TIMESTAMP_HEADER if raw_ts is None else SIGNATURE_HEADER
        raise SignatureError(f"the {missing} header is missing", reason="signature_missing")
    raw_ts, raw_sig = raw_ts.strip(), raw_sig.strip()
    if not _TIMESTAMP.fullmatch(raw_ts):
        raise SignatureError(
            f"{TIMESTAMP_HEADER} must be Unix seconds (digits only)", reason="signature_malformed"
        )
    digest = raw_sig.removeprefix(SIGNATURE_PREFIX)
    if not raw_sig.startswith(SIGNATURE_PREFIX) or not _HEX_DIGEST.fullmatch(digest):
        raise SignatureError(
            f"{SIGNATURE_HEADER} must be 'sha256=' and 64 lower-case hex digits",
            reason="signature_malformed",
        )
    timestamp = int(raw_ts)
    if now - timestamp > window_s:
        raise SignatureError(
            "the request timestamp is too old", reason="timestamp_stale", window_s=window_s
        )
    if timestamp - now > window_s:
        raise SignatureError(
            "the request timestamp is in the future",
            reason="timestamp_in_future",
            window_s=window_s,
        )
    matched = False
    for secret in secrets:
        expected = compute_signature(body, secret, timestamp)
        matched |= hmac.compare_digest(expected.encode("ascii"), digest.encode("ascii"))
    if not matched:
        raise SignatureError("the signature does not match", reason="signature_mismatch")

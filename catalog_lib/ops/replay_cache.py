"""Webhook replay cache: a signed request is acted on once; a replay gets the first receipt.

A signature is valid for a window around its timestamp (default 5 minutes each way), so a
captured request could be sent again inside it. `deliver_once` keys each accepted delivery
by a hash of its signature headers in `webhook_deliveries`, answers a replay with the
stored receipt without calling the handler, and prunes rows older than twice the window
(a signature that old fails verification before it gets here).

Only accepted deliveries are stored: a request that failed (422, 503, ...) may be sent
again and is handled again, which is what a sender retrying after an outage needs.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from psycopg.types.json import Jsonb

from catalog_lib.adapters.postgres import connect, load_query

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Delivery:
    """The answer to one signed request: its receipt and whether it was a replay."""

    receipt: dict[str, Any]
    replayed: bool
    first_received_at: datetime


def signature_hash(timestamp: str, signature: str) -> str:
    """The cache key of a delivery: SHA-256 of its timestamp and signature headers.

    The signature covers the timestamp and the body, so equal keys mean the same request.
    """
    material = f"{timestamp.strip()}.{signature.strip().lower()}".encode()
    return hashlib.sha256(material).hexdigest()


def deliver_once(
    database_url: str,
    key: str,
    handle: Callable[[], dict[str, Any]],
    *,
    window_s: int,
    now: datetime | None = None,
) -> Delivery:
    """Run `handle` for a new delivery and store its receipt; replay the receipt otherwise.

    Concurrent deliveries of the same signature are serialised by a transaction-scoped
    advisory lock, so a burst of replays still runs `handle` once. If `handle` raises,
    nothing is stored and the error propagates.
    """
    received_at = now or datetime.now(UTC)
    not_before = received_at - timedelta(seconds=2 * window_s)
    with connect(database_url) as conn, conn.transaction():
        conn.execute(load_query("webhook_delivery_lock"), {"signature_hash": key})
        row = conn.execute(
            load_query("webhook_delivery_get"),
            {"signature_hash": key, "not_before": not_before},
        ).fetchone()
        if row is not None:
            log.warning(
                "webhook signature replayed; answering with the first receipt",
                extra={"event": "webhook.replayed", "signature_hash": key[:16]},
            )
            return Delivery(
                receipt=row["receipt"], replayed=True, first_received_at=row["received_at"]
            )
        receipt = handle()
        conn.execute(load_query("webhook_delivery_prune"), {"not_before": not_before})
        conn.execute(
            load_query("webhook_delivery_insert"),
            {"signature_hash": key, "received_at": received_at, "receipt": Jsonb(receipt)},
        )
    return Delivery(receipt=receipt, replayed=False, first_received_at=received_at)


def prune_deliveries(database_url: str, *, window_s: int, now: datetime | None = None) -> int:
    """Delete deliveries older than twice the window; returns how many were deleted."""
    not_before = (now or datetime.now(UTC)) - timedelta(seconds=2 * window_s)
    with connect(database_url) as conn, conn.transaction():
        cursor = conn.execute(load_query("webhook_delivery_prune"), {"not_before": not_before})
        return cursor.rowcount

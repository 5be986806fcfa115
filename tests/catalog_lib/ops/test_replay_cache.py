"""The webhook replay cache: one handling per signature, the first receipt for replays."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest

from catalog_lib.core.errors import StorageError
from catalog_lib.ops.replay_cache import deliver_once, prune_deliveries, signature_hash

pytestmark = pytest.mark.postgres

WINDOW_S = 300
T0 = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)


class Handler:
    """Counts its calls and answers a receipt naming the call."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self) -> dict[str, Any]:
        self.calls += 1
        return {"job_id": f"job-{self.calls}", "status": "pending", "duplicate_of": None}


def _rows(db_url: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(db_url) as conn:
        return conn.execute(
            "SELECT signature_hash, received_at FROM webhook_deliveries ORDER BY received_at"
        ).fetchall()


def test_signature_hash_is_stable_and_distinguishes_deliveries() -> None:
    key = signature_hash("1700000000", "sha256=" + "a" * 64)

    assert len(key) == 64
    assert key == signature_hash(" 1700000000", "SHA256=" + "A" * 64)
    assert key != signature_hash("1700000001", "sha256=" + "a" * 64)
    assert key != signature_hash("1700000000", "sha256=" + "b" * 64)


def test_a_replay_gets_the_first_receipt_without_handling(db_url: str) -> None:
    handler = Handler()
    key = signature_hash("1", "sha256=" + "1" * 64)

    first = deliver_once(db_url, key, handler, window_s=WINDOW_S, now=T0)
    replay = deliver_once(db_url, key, handler, window_s=WINDOW_S, now=T0 + timedelta(seconds=90))

    assert handler.calls == 1
    assert (first.replayed, replay.replayed) == (False, True)
    assert (
        replay.receipt
        == first.receipt
        == {
            "job_id": "job-1",
            "status": "pending",
            "duplicate_of": None,
        }
    )
    assert replay.first_received_at == T0


def test_another_signature_is_a_new_delivery(db_url: str) -> None:
    handler = Handler()

    one = deliver_once(db_url, signature_hash("1", "sha256=a"), handler, window_s=WINDOW_S, now=T0)
    two = deliver_once(db_url, signature_hash("2", "sha256=a"), handler, window_s=WINDOW_S, now=T0)

    assert handler.calls == 2
    assert (one.receipt["job_id"], two.receipt["job_id"]) == ("job-1", "job-2")
    assert not two.replayed


def test_a_failed_handling_is_not_remembered(db_url: str) -> None:
    key = signature_hash("1", "sha256=a")

    def failing() -> dict[str, Any]:
        raise StorageError("storage is down")

    with pytest.raises(StorageError):
        deliver_once(db_url, key, failing, window_s=WINDOW_S, now=T0)
    assert _rows(db_url) == []
    handler = Handler()
    assert deliver_once(db_url, key, handler, window_s=WINDOW_S, now=T0).replayed is False
    assert handler.calls == 1


def test_rows_older_than_twice_the_window_are_pruned(db_url: str) -> None:
    handler = Handler()
    old, recent = signature_hash("1", "sha256=a"), signature_hash("2", "sha256=a")
    deliver_once(db_url, old, handler, window_s=WINDOW_S, now=T0)
    deliver_once(db_url, recent, handler, window_s=WINDOW_S, now=T0 + timedelta(seconds=400))

    deleted = prune_deliveries(db_url, window_s=WINDOW_S, now=T0 + timedelta(seconds=601))

    assert deleted == 1
    assert [row[0] for row in _rows(db_url)] == [recent]
    assert prune_deliveries(db_url, window_s=WINDOW_S, now=T0 + timedelta(seconds=601)) == 0


def test_a_new_delivery_prunes_expired_rows_and_an_expired_key_is_handled_again(
    db_url: str,
) -> None:
    handler = Handler()
    key = signature_hash("1", "sha256=a")
    deliver_once(db_url, key, handler, window_s=WINDOW_S, now=T0)
    later = T0 + timedelta(seconds=2 * WINDOW_S + 1)

    again = deliver_once(db_url, key, handler, window_s=WINDOW_S, now=later)

    assert (again.replayed, handler.calls) == (False, 2)
    assert [row[1] for row in _rows(db_url)] == [later]


def test_concurrent_replays_handle_once(db_url: str) -> None:
    handler = Handler()
    key = signature_hash("1", "sha256=a")

    def deliver(_: int) -> dict[str, Any]:
        return deliver_once(db_url, key, handler, window_s=WINDOW_S, now=T0).receipt

    with ThreadPoolExecutor(max_workers=8) as pool:
        receipts = list(pool.map(deliver, range(16)))

    assert handler.calls == 1
    assert all(r == receipts[0] for r in receipts)

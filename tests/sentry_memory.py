"""An in-memory Sentry transport: events are collected instead of sent (offline tests)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sentry_sdk.envelope import Envelope
from sentry_sdk.transport import Transport

from catalog_lib.adapters.sentry import init_sentry, shutdown_sentry

FAKE_DSN = "https://0123456789abcdef0123456789abcdef@o1.ingest.example.invalid/42"


class MemoryTransport(Transport):
    """Keeps every envelope the SDK would send."""

    def __init__(self, options: dict[str, Any] | None = None) -> None:
        super().__init__(options)
        self.envelopes: list[Envelope] = []

    def capture_envelope(self, envelope: Envelope) -> None:
        self.envelopes.append(envelope)

    @property
    def events(self) -> list[dict[str, Any]]:
        """The error/message events sent so far (payloads as sent)."""
        found = []
        for envelope in self.envelopes:
            for item in envelope.items:
                if item.type == "event":
                    found.append(json.loads(item.get_bytes()))
        return found

    def serialized(self) -> str:
        """Every byte of every envelope, for "does X appear anywhere" checks."""
        return "\n".join(
            item.get_bytes().decode("utf-8", "replace")
            for envelope in self.envelopes
            for item in envelope.items
        )


@contextmanager
def memory_sentry(dsn: str = FAKE_DSN) -> Iterator[MemoryTransport]:
    """Initialise Sentry with the product's scrubbers and an in-memory transport."""
    transport = MemoryTransport()
    assert init_sentry(dsn, environment="test", transport=transport)
    try:
        yield transport
    finally:
        shutdown_sentry()

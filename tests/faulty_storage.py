"""A fault-injecting object store: seeded errors and slow reads on about 10 % of range reads.

`FaultyStore` wraps any `ObjectStore` and implements the same protocol. Each byte range gets
its fate from a seeded hash of (seed, range), so the faults do not depend on the order
concurrent tasks read in, nor on where the file lives: about `error_rate` of the ranges raise
`StorageError` (the transient error the real stores raise for throttling and lost
connections) on their first reads, `max_failures_per_range` at most, and about `slow_rate` of
the reads sleep first. A range never fails more often than that, so bounded retries always
get through.
"""

from __future__ import annotations

import builtins
import hashlib
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field

import fsspec

from catalog_lib.adapters.storage import ObjectStore, ObjectVersion
from catalog_lib.core.errors import StorageError


@dataclass
class FaultyStore:
    """An `ObjectStore` whose range reads fail or stall, seeded and per range."""

    inner: ObjectStore
    seed: int = 12
    error_rate: float = 0.10
    slow_rate: float = 0.10
    slow_s: float = 0.15
    max_failures_per_range: int = 2
    spare_header: bool = False
    reads: Counter[tuple[int, int]] = field(default_factory=Counter)
    failures: Counter[tuple[int, int]] = field(default_factory=Counter)
    slowed: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def _draw(self, start: int, end: int, what: str) -> float:
        digest = hashlib.sha256(f"{self.seed}|{start}|{end}|{what}".encode()).digest()
        return int.from_bytes(digest[:8], "big") / 2**64

    def failures_planned(self, start: int, end: int) -> int:
        """How many times the read of this range fails before it succeeds (0: never)."""
        if self.spare_header and start == 0:
            return 0
        if self._draw(start, end, "error") >= self.error_rate:
            return 0
        return 1 + int(self._draw(start, end, "count") * self.max_failures_per_range)

    def slow_planned(self, start: int, end: int, attempt: int) -> bool:
        """Whether the `attempt`-th read of this range stalls first."""
        return self._draw(start, end, f"slow{attempt}") < self.slow_rate

    @property
    def root_uri(self) -> str:
        """The wrapped store's landing root."""
        return self.inner.root_uri

    def resolve(self, uri_or_key: str) -> str:
        """As the wrapped store."""
        return self.inner.resolve(uri_or_key)

    def head(self, uri: str) -> ObjectVersion:
        """As the wrapped store."""
        return self.inner.head(uri)

    def read_range(
        self,
        uri: str,
        start: int,
        end_inclusive: int,
        *,
        expected: ObjectVersion | None = None,
    ) -> bytes:
        """The wrapped read, after a seeded stall or failure for this range."""
        key = (start, end_inclusive)
        with self._lock:
            self.reads[key] += 1
            attempt = self.reads[key]
            fail = attempt <= self.failures_planned(start, end_inclusive)
            if fail:
                self.failures[key] += 1
            slow = self.slow_planned(start, end_inclusive, attempt)
            if slow:
                self.slowed += 1
        if slow:
            time.sleep(self.slow_s)
        if fail:
            raise StorageError("injected: storage throttled the range read", attempt=attempt)
        return self.inner.read_range(uri, start, end_inclusive, expected=expected)

    def iter_bytes(
        self,
        uri: str,
        *,
        block_size: int = 8 * 1024 * 1024,
        expected: ObjectVersion | None = None,
    ) -> Iterator[bytes]:
        """As the wrapped store (faults are injected into range reads only)."""
        return self.inner.iter_bytes(uri, block_size=block_size, expected=expected)

    def list(self, prefix: str = "") -> builtins.list[ObjectVersion]:
        """As the wrapped store."""
        return self.inner.list(prefix)

    def write(self, key: str, data: bytes) -> ObjectVersion:
        """As the wrapped store."""
        return self.inner.write(key, data)

    def filesystem(self, uri: str) -> tuple[fsspec.AbstractFileSystem, str]:
        """As the wrapped store."""
        return self.inner.filesystem(uri)

"""What every benchmark piece shares: sizes, a scratch folder, one embedded PostgreSQL, timers."""

from __future__ import annotations

import os
import statistics
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

MIB = 1024 * 1024


@dataclass(frozen=True)
class Profile:
    """Sizes of one benchmark run."""

    rows: int
    planner_mb: int
    rss_small_mb: int
    rss_large_mb: int
    runs: int
    chunk_mib: int = 16


FULL = Profile(rows=200_000, planner_mb=1000, rss_small_mb=100, rss_large_mb=1000, runs=3)
QUICK = Profile(rows=20_000, planner_mb=50, rss_small_mb=5, rss_large_mb=50, runs=3)


@dataclass
class Context:
    """What the pieces share: sizes, a scratch folder, one lazily started PostgreSQL."""

    profile: Profile
    root: Path
    stack: ExitStack
    _server: Any = None
    _databases: int = 0
    _files: dict[str, tuple[Path, dict[str, int]]] = field(default_factory=dict)

    def server_url(self, database: str = "postgres") -> str:
        """URL of the benchmark's own embedded PostgreSQL (started on first use)."""
        if self._server is None:
            from catalog_lib.adapters.embedded_postgres import EmbeddedPostgres

            server = EmbeddedPostgres(self.root / "pg")
            server.start()
            self.stack.callback(server.stop)
            self._server = server
        return str(self._server.url(database))

    def fresh_database(self, *, migrated: bool) -> str:
        """A new database on the server; migrated to the product's schema when asked."""
        import psycopg
        from psycopg import sql

        from catalog_lib.adapters.postgres import upgrade_schema

        self._databases += 1
        name = f"bench_{self._databases}"
        with psycopg.connect(self.server_url(), autocommit=True) as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        url = self.server_url(name)
        if migrated:
            upgrade_schema(url, embedding_dimensions=8)
        return url

    def catalog_file(self, rows: int) -> tuple[Path, dict[str, int]]:
        """The project generator's catalog CSV of ``rows`` rows, and what it planted."""
        key = f"catalog-{rows}"
        if key not in self._files:
            from bench.catalog_csv import write_rows

            path = self.root / f"catalog-{rows}.csv"
            self._files[key] = (path, write_rows(path, rows, seed=20261130))
        return self._files[key]


def median(values: list[float]) -> float:
    """Median of the runs' values."""
    return statistics.median(values)


def load() -> list[float]:
    """The 1-, 5- and 15-minute load averages (noise indicator on shared machines)."""
    return [round(x, 2) for x in os.getloadavg()]


def wc_lines(path: Path) -> int:
    """Physical lines by ``wc -l``."""
    out = subprocess.run(["wc", "-l", str(path)], check=True, capture_output=True, text=True)
    return int(out.stdout.split()[0])


def iter_blocks(path: Path, block: int = 8 * MIB) -> Iterator[bytes]:
    """The file in blocks, as object storage streams it."""
    with path.open("rb") as fh:
        while data := fh.read(block):
            yield data


def timed(run: Callable[[], Any]) -> tuple[float, Any]:
    """Wall seconds of one call and its result."""
    start = time.perf_counter()
    result = run()
    return time.perf_counter() - start, result

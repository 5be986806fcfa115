r"""Independent counts of the logical CSV records of one object version (DuckDB, grammar).

The record grammar is the one `docs/ingest.md` ("The CSV grammar") states and the chunk planner
and parser implement. Two counters verify a job:

* **grammar** — one streaming pass over the raw bytes by that grammar, written independently
  of the planner (``catalog_lib/rules/grammar_scan.py``). It always runs: besides its count it
  measures what DuckDB needs to know (widest row, longest record, line endings, encoding,
  literal quotes).
* **duckdb** — DuckDB's CSV reader with an explicit dialect, used when the file stays inside
  what DuckDB reads the same way: valid UTF-8, one line-ending style (all LF or all CRLF), no
  literal ``"`` inside an unquoted field, nothing between a closing quote and the next
  delimiter, no blank line before the header, at most ``DUCKDB_MAX_COLUMNS`` cells per row.
  ``max_line_size`` is set from the longest record, and the declared width is the widest row
  (DuckDB pads shorter rows with NULL, hence ``null_padding=true, parallel=false``).

Both passes run at the same time for a local object: DuckDB starts as soon as the grammar scan
has read the header, declaring the header's width and the default line limit. When the finished
scan shows that the file needs other settings (a row wider than the header, a record longer
than the limit), that speculative count is dropped and DuckDB runs again with the settings the
scan measured, so the count is always the one DuckDB gives with those settings. An S3 object is
first copied to a local file by the scan (one read, pinned to the ETag), then counted.

Where DuckDB cannot read a file faithfully, or fails, the grammar count is the verified one
and ``RecordCount.note`` says why; ``RecordCount.method`` names the counter. Measured DuckDB
semantics (2.0, this dialect): blank lines (``\n`` or ``\r\n`` alone) are skipped when more than
one column is declared (we declare at least two); a BOM is stripped; quoted newlines stay in
their record; a header-only file counts 0.
"""

from __future__ import annotations

import logging
import os
import re
import tempfile
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import BinaryIO

import duckdb

from catalog_lib.adapters.queries import load_query
from catalog_lib.adapters.storage import ObjectStore, ObjectVersion
from catalog_lib.core.errors import EmptyObjectError, HeaderTooLargeError, SourceChangedError
from catalog_lib.rules.csv_header import DEFAULT_MAX_HEADER_COLUMNS
from catalog_lib.rules.grammar_scan import GrammarScan, GrammarStream

logger = logging.getLogger(__name__)

DUCKDB_MAX_COLUMNS = 16_384
_DEFAULT_MAX_LINE = 2 * 1024 * 1024
_LINE_RE = re.compile(r"CSV Error on Line: (\d+)")


@dataclass(frozen=True)
class RecordCount:
    """Number of logical data records (header excluded), the counter, and why that one."""

    records: int
    method: str
    note: str | None = None


@dataclass(frozen=True)
class _Settings:
    """What DuckDB is told about the file: declared width and line limit."""

    width: int
    max_line: int


def count_records(store: ObjectStore, version: ObjectVersion) -> RecordCount:
    """Count the logical CSV data records of one object version (DuckDB, else the grammar).

    Raises:
        SourceChangedError: the object's ETag or size differ from ``version``.
        EmptyObjectError: the object has zero bytes.
        MalformedCsvError: the bytes end inside a quoted field or hold no header record.
    """
    _check_version(store, version)
    if version.size == 0:
        raise EmptyObjectError("object is empty", object_key=version.uri)
    blocks = store.iter_bytes(version.uri, expected=version)
    if version.uri.startswith("file://"):
        _fs, path = store.filesystem(version.uri)
        result = _count_local(path, blocks, version.uri)
    else:
        # One S3 read, pinned to the ETag by If-Match, feeds both the byte scan and DuckDB's
        # local copy; DuckDB then never reads through the network without a version check.
        with tempfile.TemporaryDirectory(prefix="catalog-etl-reconcile-") as tmp:
            local_path = os.path.join(tmp, "object.csv")
            with open(local_path, "wb") as sink:
                scan = _scan(_copied(blocks, sink), None)
            result = _verified_count(local_path, scan, version.uri, None)
    _check_version(store, version)
    logger.info(
        "reconcile.counted",
        extra={"object_key": version.uri, "records": result.records, "method": result.method},
    )
    return result


def _copied(blocks: Iterator[bytes], sink: BinaryIO) -> Iterator[bytes]:
    """The blocks, each written to ``sink`` before it is scanned."""
    for block in blocks:
        sink.write(block)
        yield block


def _count_local(path: str, blocks: Iterator[bytes], uri: str) -> RecordCount:
    """Scan a local file and count it with DuckDB at the same time (see the module doc)."""
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="reconcile-duckdb") as pool:
        speculative: list[_DuckCount] = []

        def on_header(cells: int) -> None:
            if cells <= DEFAULT_MAX_HEADER_COLUMNS:
                run = _DuckCount(path, _Settings(max(cells, 2), _DEFAULT_MAX_LINE))
                run.future = pool.submit(run.count)
                speculative.append(run)

        try:
            scan = _scan(blocks, on_header)
            return _verified_count(path, scan, uri, speculative[0] if speculative else None)
        finally:
            for run in speculative:
                run.interrupt()  # a no-op once its count is done


class _DuckCount:
    """One DuckDB count of a local file with given settings, interruptible from another thread."""

    def __init__(self, path: str, settings: _Settings) -> None:
        self.path = path
        self.settings = settings
        self.future: Future[int] | None = None
        self._lock = threading.Lock()
        self._con: duckdb.DuckDBPyConnection | None = None
        self._done = False
        self._cancelled = False

    def count(self) -> int:
        """Run the count (raises duckdb.Error as DuckDB does)."""
        columns = "{" + ", ".join(f"'c{i}': 'VARCHAR'" for i in range(self.settings.width)) + "}"
        max_line = self.settings.max_line
        buffer = int(max(max_line * 2, 1 << 24))
        # One thread: a read race was measured with more; counting is I/O bound anyway.
        # A memory limit of a few read buffers: without one DuckDB keeps the file's buffers
        # cached up to 80 % of the machine's RAM, so the count's peak RSS grew with the file
        # (1.3 GB for a 1 GB file); with it the peak is flat and the count no slower.
        con = duckdb.connect(
            ":memory:", config={"threads": 1, "memory_limit": f"{_memory_limit_mib(buffer)}MiB"}
        )
        with self._lock:
            self._con = con
            if self._cancelled:
                self._done = True
                self._con = None
                con.close()
                raise duckdb.InterruptException("the count was no longer needed")
        try:
            row = con.execute(
                load_query("count_csv_records").format(
                    columns=columns, max_line=int(max_line), buffer=buffer
                ),
                [self.path],
            ).fetchone()
        finally:
            with self._lock:
                self._done = True
                self._con = None
            con.close()
        return int(row[0]) if row else 0

    def result(self) -> int:
        """The count of the run started in the background (raises what it raised)."""
        if self.future is None:
            return self.count()
        return self.future.result()

    def interrupt(self) -> None:
        """Stop a count still running; its result is then never used."""
        with self._lock:
            self._cancelled = True
            if self._con is not None and not self._done:
                self._con.interrupt()


def _memory_limit_mib(buffer: int) -> int:
    """DuckDB's memory limit for one count: four read buffers and room for the rest (MiB)."""
    return (4 * buffer) // (1 << 20) + 32


def _scan(blocks: Iterator[bytes], on_header: Callable[[int], None] | None) -> GrammarScan:
    """Scan every block; call ``on_header(cells)`` once, as soon as the header is scanned."""
    stream = GrammarStream()
    for block in blocks:
        stream.feed(block)
        if on_header is not None:
            cells = stream.header_cells()
            if cells is not None:
                on_header(cells)
                on_header = None
    return stream.finish()


def _duckdb_refusal(scan: GrammarScan) -> str | None:
    """Why DuckDB would not read this file the grammar's way, or None."""
    reasons = (
        (scan.invalid_utf8, "invalid UTF-8"),
        (scan.has_nul, "NUL bytes"),
        (scan.literal_quotes, "a literal quote inside an unquoted field"),
        (scan.leading_blank, "a blank line before the header"),
        (scan.odd_endings, "CR bytes that are not part of a CRLF"),
        (scan.lf_endings and scan.crlf_endings, "mixed LF and CRLF line endings"),
        (scan.max_cells > DUCKDB_MAX_COLUMNS, f"rows wider than {DUCKDB_MAX_COLUMNS} cells"),
    )
    return next((why for flagged, why in reasons if flagged), None)


def _verified_count(
    path: str, scan: GrammarScan, uri: str, speculative: _DuckCount | None
) -> RecordCount:
    """DuckDB's count when it can read the file the grammar's way, else the grammar's."""
    if scan.header_cells > DEFAULT_MAX_HEADER_COLUMNS:
        # The same limit the planner enforces: an absurd header is refused, never counted.
        raise HeaderTooLargeError(
            "the CSV header has more columns than the limit",
            object_key=uri,
            columns=scan.header_cells,
            limit_columns=DEFAULT_MAX_HEADER_COLUMNS,
        )
    grammar = scan.data_records()
    refusal = _duckdb_refusal(scan)
    if refusal is not None:
        return RecordCount(grammar, "grammar", f"DuckDB not used: {refusal}")
    settings = _Settings(max(scan.max_cells, 2), max(_DEFAULT_MAX_LINE, scan.max_record + 1024))
    run = speculative
    if run is None or run.settings != settings:
        if run is not None:
            run.interrupt()
        run = _DuckCount(path, settings)
    try:
        counted = run.result()
    except duckdb.Error as exc:
        # DuckDB's own message quotes the offending row; only its line number leaves here.
        line = _error_line(exc)
        logger.warning(
            "reconcile.duckdb_failed",
            extra={"object_key": uri, "error_line": line, "method": "grammar"},
        )
        return RecordCount(grammar, "grammar", f"DuckDB failed (line {line})")
    if counted != grammar:
        return RecordCount(counted, "duckdb", f"the grammar counter counted {grammar}")
    return RecordCount(counted, "duckdb")


def _error_line(exc: BaseException) -> int | None:
    match = _LINE_RE.search(str(exc))
    return int(match.group(1)) if match else None


def _check_version(store: ObjectStore, version: ObjectVersion) -> None:
    current = store.head(version.uri)
    if (current.etag, current.size) != (version.etag, version.size):
        raise SourceChangedError(
            "object changed since the version to reconcile",
            object_key=version.uri,
            expected_etag=version.etag,
        )

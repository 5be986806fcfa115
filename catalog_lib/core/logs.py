"""JSON log lines `{level, event, ts, logger, …ids}` and the entry points' logging set-up.

`catalog_lib` only calls `logging.getLogger(__name__)` with an `extra={"event": …, ids…}`;
handlers and formats are chosen by entry points through `configure_logging`.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, TextIO
from uuid import UUID

from catalog_lib.core.errors import CatalogError

# Loggers whose level `configure_logging` sets: the product's own code.
PRODUCT_LOGGERS = ("catalog_lib", "flows")

BASE_KEYS = ("level", "event", "ts", "logger")
# Names an `extra` field can never overwrite: the base keys, and what the standard library
# itself refuses in `extra` (LogRecord attributes, `message`, `asctime`). A colliding extra is
# emitted as `extra_<name>`.
_RECORD_ATTRIBUTES = frozenset(vars(logging.makeLogRecord({})).keys()) | {"message", "asctime"}
RESERVED_KEYS = frozenset(BASE_KEYS) | _RECORD_ATTRIBUTES
COLLISION_PREFIX = "extra_"
LEVEL_NAMES = {"WARNING": "WARN"}
_MAX_ERROR_MESSAGE = 500


def describe_error(error: BaseException) -> dict[str, str]:
    """`error_name` and `error_message` of an exception, safe to log.

    A `CatalogError` builds its message from structured fields (never row data), so it is
    kept. Any other exception's text may quote row values (a database's "Failing row
    contains …", a parser echoing its input), so only its class name is given.
    """
    name = type(error).__name__
    if isinstance(error, CatalogError):
        return {"error_name": name, "error_message": str(error)[:_MAX_ERROR_MESSAGE]}
    return {"error_name": name, "error_message": f"{name} (message withheld)"}


def _jsonable(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, UUID | Decimal | Path):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_jsonable(v) for v in value]
    return f"<{type(value).__name__}>"


def record_fields(record: logging.LogRecord) -> dict[str, Any]:
    """The caller's `extra` fields of a record, with reserved names moved aside."""
    fields: dict[str, Any] = {}
    for key, value in vars(record).items():
        if key in _RECORD_ATTRIBUTES or key.startswith("_") or key == "event":
            continue
        fields[f"{COLLISION_PREFIX}{key}" if key in RESERVED_KEYS else key] = value
    return fields


def event_name(record: logging.LogRecord) -> str:
    """The record's dotted event name: `extra["event"]`, else its message."""
    event = getattr(record, "event", None)
    if isinstance(event, str) and event:
        return event
    return record.getMessage()


class JsonFormatter(logging.Formatter):
    """One JSON object per record: `{level, event, ts, logger, …extra fields}`.

    The base keys cannot be overwritten by extras (a colliding extra is emitted as
    `extra_<key>`); an exception is reduced to `error_name`/`error_message` — never a
    traceback, whose text and locals could carry row data.
    """

    def format(self, record: logging.LogRecord) -> str:
        """Render the record as one JSON line."""
        line: dict[str, Any] = {
            "level": LEVEL_NAMES.get(record.levelname, record.levelname),
            "event": event_name(record),
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "logger": record.name,
        }
        if record.exc_info and record.exc_info[1] is not None:
            line.update(describe_error(record.exc_info[1]))
        for key, value in record_fields(record).items():
            # error_name/error_message from the exception win over extras of the same name.
            line[f"{COLLISION_PREFIX}{key}" if key in line else key] = _jsonable(value)
        try:
            return json.dumps(line, ensure_ascii=False, default=str)
        except (TypeError, ValueError):
            return json.dumps({k: line[k] for k in BASE_KEYS} | {"serialization_error": True})


class TextFormatter(logging.Formatter):
    """A readable line for terminals: `ts LEVEL event key=value …` (same safety rules)."""

    def format(self, record: logging.LogRecord) -> str:
        """Render the record as one text line."""
        ts = datetime.fromtimestamp(record.created, UTC).strftime("%H:%M:%S")
        parts = [ts, f"{record.levelname:<7}", event_name(record)]
        if record.exc_info and record.exc_info[1] is not None:
            parts.extend(f"{k}={v}" for k, v in describe_error(record.exc_info[1]).items())
        parts.extend(f"{k}={_jsonable(v)}" for k, v in record_fields(record).items())
        return " ".join(parts)


class StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """A stream handler writing to whatever `sys.stderr` is at emit time.

    Progress bars and test capture replace `sys.stderr`; a handler bound to the original
    stream would write around them.
    """

    catalog_etl = True

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property  # type: ignore[override,unused-ignore]
    def stream(self) -> TextIO:
        """Always the current `sys.stderr` (pytest and terminals swap it at run time)."""
        return sys.stderr

    @stream.setter
    def stream(self, value: TextIO) -> None:
        """Ignored: the handler always writes to whatever `sys.stderr` is at the time."""


_replaced: list[logging.Handler] = []


def configure_logging(
    *, json: bool = True, level: str | int = "INFO", console_level: str | int | None = None
) -> logging.Handler:
    """Send every log record to stderr as one JSON (or text) line; for entry points only.

    Idempotent: a handler installed earlier by this function is replaced. Other console
    handlers on the root logger (e.g. Prefect's) are removed so each event is written once;
    handlers writing elsewhere (files, test capture, Prefect's API) stay.

    Args:
        json: one JSON object per line (else plain text).
        level: the level of the product's loggers (what reaches Sentry and Prefect run logs).
        console_level: the stderr handler's level; defaults to `level`.

    Returns:
        The installed handler.
    """
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "catalog_etl", False):
            root.removeHandler(handler)
        elif _is_console(handler):
            root.removeHandler(handler)
            _replaced.append(handler)
    handler = StderrHandler()
    handler.setFormatter(JsonFormatter() if json else TextFormatter())
    handler.setLevel(level if console_level is None else console_level)
    handler.addFilter(_product_or_warning)
    root.addHandler(handler)
    for name in PRODUCT_LOGGERS:
        logging.getLogger(name).setLevel(level)
    return handler


def reset_logging() -> None:
    """Undo `configure_logging` (tests): remove its handler, restore removed handlers."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "catalog_etl", False):
            root.removeHandler(handler)
    while _replaced:
        root.addHandler(_replaced.pop())
    for name in PRODUCT_LOGGERS:
        logging.getLogger(name).setLevel(logging.NOTSET)


def _product_or_warning(record: logging.LogRecord) -> bool:
    # Other libraries' INFO chatter (Prefect's task-run lines, HTTP clients) stays out of the
    # product's event stream; their warnings and errors still show.
    return record.levelno >= logging.WARNING or record.name.split(".", 1)[0] in PRODUCT_LOGGERS


def _is_console(handler: logging.Handler) -> bool:
    if type(handler) is not logging.StreamHandler and not type(handler).__name__.endswith(
        "ConsoleHandler"
    ):
        return False
    stream = getattr(handler, "stream", None)
    return stream in (sys.stderr, sys.stdout, sys.__stderr__, sys.__stdout__)

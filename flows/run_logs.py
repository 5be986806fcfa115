"""Route `catalog_lib` log records into the Prefect run logs of the flow or task running.

A product log record is written to the run logs as a readable line — its message, then its
event name and structured fields as `key=value` context (`job ended · etl.job.failed ·
job_id=… error_kind=…`) — not as the JSON line the services write to stderr. The same safety
rules apply: an exception is reduced to `error_name`/`error_message`, never a traceback.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from prefect.logging.handlers import APILogHandler

from catalog_lib.core.logs import describe_error, record_fields
from catalog_lib.core.settings import get_settings
from flows.runtime import configure_observability

LIBRARY_LOGGER = "catalog_lib"
_MAX_VALUE = 300


def _value(value: Any) -> str:
    if isinstance(value, str):
        text = value if value and " " not in value and "=" not in value else json.dumps(value)
    else:
        text = json.dumps(value, default=str, ensure_ascii=False)
    return text if len(text) <= _MAX_VALUE else text[: _MAX_VALUE - 1] + "…"


class RunLogFormatter(logging.Formatter):
    """`message · event · key=value …`: a product record as one readable run-log line."""

    def format(self, record: logging.LogRecord) -> str:
        """Render the record's message, its event name and its structured fields."""
        parts = [record.getMessage()]
        event = getattr(record, "event", None)
        if isinstance(event, str) and event and event != parts[0]:
            parts.append(event)
        fields: dict[str, Any] = {}
        if record.exc_info and record.exc_info[1] is not None:
            fields.update(describe_error(record.exc_info[1]))
        for key, value in record_fields(record).items():
            fields.setdefault(key, value)
        if fields:
            parts.append(" ".join(f"{k}={_value(v)}" for k, v in fields.items()))
        return " · ".join(parts)


class LibraryRunLogHandler(APILogHandler):
    """Prefect's API log handler, silent for records emitted outside a flow or task run."""

    def emit(self, record: logging.LogRecord) -> None:
        """Send the record to the run's logs when a run context exists."""
        from prefect.context import FlowRunContext, TaskRunContext

        if FlowRunContext.get() is None and TaskRunContext.get() is None:
            return
        super().emit(record)


def route_library_logs() -> None:
    """Attach the run-log handler (readable lines) to the `catalog_lib` logger, once."""
    logger = logging.getLogger(LIBRARY_LOGGER)
    if any(isinstance(h, LibraryRunLogHandler) for h in logger.handlers):
        return
    handler = LibraryRunLogHandler()
    handler.setFormatter(RunLogFormatter())
    logger.addHandler(handler)


def configure_flow_observability() -> None:
    """What a flow calls first: log format, Sentry, and library logs in the run logs."""
    configure_observability(get_settings())
    route_library_logs()

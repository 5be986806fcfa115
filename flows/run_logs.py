"""Route `catalog_lib` log records into the Prefect run logs of the flow or task running."""

from __future__ import annotations

import logging

from prefect.logging.handlers import APILogHandler

from catalog_lib.core.logs import JsonFormatter
from catalog_lib.core.settings import get_settings
from flows.runtime import configure_observability

LIBRARY_LOGGER = "catalog_lib"


class LibraryRunLogHandler(APILogHandler):
    """Prefect's API log handler, silent for records emitted outside a flow or task run."""

    def emit(self, record: logging.LogRecord) -> None:
        """Send the record to the run's logs when a run context exists."""
        from prefect.context import FlowRunContext, TaskRunContext

        if FlowRunContext.get() is None and TaskRunContext.get() is None:
            return
        super().emit(record)


def route_library_logs() -> None:
    """Attach the run-log handler (JSON lines) to the `catalog_lib` logger, once."""
    logger = logging.getLogger(LIBRARY_LOGGER)
    if any(isinstance(h, LibraryRunLogHandler) for h in logger.handlers):
        return
    handler = LibraryRunLogHandler()
    handler.setFormatter(JsonFormatter())
    logger.addHandler(handler)


def configure_flow_observability() -> None:
    """What a flow calls first: log format, Sentry, and library logs in the run logs."""
    configure_observability(get_settings())
    route_library_logs()

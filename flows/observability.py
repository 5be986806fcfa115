"""Logging and Sentry set-up for the entry points (CLI, flows); never imports prefect."""

from __future__ import annotations

from catalog_lib.logs import configure_logging
from catalog_lib.settings import Settings
from catalog_lib.telemetry import init_sentry


def configure_observability(settings: Settings, *, interactive: bool = False) -> bool:
    """JSON (or text) log lines on stderr, and Sentry when `CATALOG_SENTRY_DSN` is set.

    `interactive` (a person at a terminal): unless CATALOG_LOG_LEVEL is set explicitly, only
    warnings and errors are written to stderr (the loggers, hence Sentry and Prefect run
    logs, keep CATALOG_LOG_LEVEL), so event lines do not drown the command's own output.
    Safe to call more than once per process. Returns whether Sentry is active.
    """
    quiet = interactive and "log_level" not in settings.model_fields_set
    configure_logging(
        json=settings.log_format == "json",
        level=settings.log_level,
        console_level="WARNING" if quiet else None,
    )
    dsn = settings.sentry_dsn.get_secret_value() if settings.sentry_dsn else None
    return init_sentry(dsn, environment=settings.sentry_environment)

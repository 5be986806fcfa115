"""Logging and Sentry set-up for the entry points (CLI, flows); never imports prefect."""

from __future__ import annotations

from catalog_lib.logs import configure_logging
from catalog_lib.settings import Settings
from catalog_lib.telemetry import init_sentry


def configure_observability(settings: Settings) -> bool:
    """JSON (or text) log lines on stderr, and Sentry when `CATALOG_SENTRY_DSN` is set.

    Safe to call more than once per process. Returns whether Sentry is active.
    """
    configure_logging(json=settings.log_format == "json", level=settings.log_level)
    dsn = settings.sentry_dsn.get_secret_value() if settings.sentry_dsn else None
    return init_sentry(dsn, environment=settings.sentry_environment)

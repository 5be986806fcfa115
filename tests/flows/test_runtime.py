"""Entry-point logging: quiet text on a terminal unless set explicitly, full JSON otherwise."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from catalog_lib.core.logs import JsonFormatter, TextFormatter, reset_logging
from catalog_lib.core.settings import Settings
from flows.runtime import configure_observability


@pytest.fixture
def clean_logging(catalog_env: object, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    from flows import runtime

    monkeypatch.setitem(runtime._session, "interactive", False)
    yield
    reset_logging()


def _console_and_product_levels() -> tuple[int, int]:
    handler = next(h for h in logging.getLogger().handlers if getattr(h, "catalog_etl", False))
    return handler.level, logging.getLogger("catalog_lib").level


def test_terminal_sessions_only_see_warnings_by_default(clean_logging: None) -> None:
    configure_observability(Settings(), interactive=True)
    assert _console_and_product_levels() == (logging.WARNING, logging.INFO)


def test_an_explicit_level_wins_on_a_terminal(
    clean_logging: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CATALOG_LOG_LEVEL", "DEBUG")
    configure_observability(Settings(), interactive=True)
    assert _console_and_product_levels() == (logging.DEBUG, logging.DEBUG)


def test_services_log_every_event(clean_logging: None) -> None:
    configure_observability(Settings(), interactive=False)
    assert _console_and_product_levels() == (logging.INFO, logging.INFO)


def _formatter() -> logging.Formatter | None:
    handler = next(h for h in logging.getLogger().handlers if getattr(h, "catalog_etl", False))
    return handler.formatter


def test_terminal_sessions_get_text_lines(clean_logging: None) -> None:
    configure_observability(Settings(), interactive=True)
    assert isinstance(_formatter(), TextFormatter)


def test_services_and_pipes_get_json_lines(clean_logging: None) -> None:
    configure_observability(Settings(), interactive=False)
    assert isinstance(_formatter(), JsonFormatter)


def test_an_explicit_format_wins_on_a_terminal(
    clean_logging: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CATALOG_LOG_FORMAT", "json")
    configure_observability(Settings(), interactive=True)
    assert isinstance(_formatter(), JsonFormatter)


def test_a_flow_inside_a_terminal_command_keeps_the_terminals_format(
    clean_logging: None,
) -> None:
    configure_observability(Settings(), interactive=True)  # the CLI's entry point
    configure_observability(Settings())  # what each flow run calls first
    assert isinstance(_formatter(), TextFormatter)
    assert _console_and_product_levels() == (logging.WARNING, logging.INFO)


def test_a_flow_in_a_service_logs_json(clean_logging: None) -> None:
    configure_observability(Settings())
    assert isinstance(_formatter(), JsonFormatter)
    assert _console_and_product_levels() == (logging.INFO, logging.INFO)

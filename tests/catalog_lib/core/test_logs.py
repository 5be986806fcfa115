"""JSON log lines: base keys, reserved names, error unpacking, the entry points' set-up."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

import pytest

from catalog_lib.core.errors import SourceChangedError
from catalog_lib.core.logs import JsonFormatter, TextFormatter, configure_logging, reset_logging


def _record(msg: str = "something happened", **extra: object) -> logging.LogRecord:
    logger = logging.getLogger("catalog_lib.test")
    return logger.makeRecord(logger.name, logging.WARNING, __file__, 1, msg, (), None, extra=extra)


def _line(record: logging.LogRecord) -> dict[str, object]:
    return json.loads(JsonFormatter().format(record))


def test_line_has_base_keys_then_ids() -> None:
    line = _line(_record(event="etl.chunk.completed", job_id="j-1", chunk_index=3))
    assert list(line)[:4] == ["level", "event", "ts", "logger"]
    assert line["level"] == "WARN"
    assert line["event"] == "etl.chunk.completed"
    assert line["logger"] == "catalog_lib.test"
    assert str(line["ts"]).endswith("+00:00")
    assert (line["job_id"], line["chunk_index"]) == ("j-1", 3)
    assert "msg" not in line
    assert "message" not in line


def test_event_defaults_to_the_message() -> None:
    assert _line(_record("retention.tick"))["event"] == "retention.tick"


@pytest.mark.parametrize("key", ["level", "ts", "logger"])
def test_reserved_keys_cannot_be_overwritten(key: str) -> None:
    line = _line(_record(event="etl.x", **{key: "forged"}))
    assert line[key] != "forged"
    assert line[f"extra_{key}"] == "forged"


def test_error_is_unpacked_without_traceback() -> None:
    try:
        raise SourceChangedError("the source changed", object_key="a.csv")
    except SourceChangedError:
        record = logging.getLogger("catalog_lib.t").makeRecord(
            "catalog_lib.t", logging.ERROR, __file__, 1, "x", (), __import__("sys").exc_info()
        )
    line = _line(record)
    assert line["error_name"] == "SourceChangedError"
    assert line["error_message"] == "the source changed (object_key=a.csv)"
    assert "Traceback" not in json.dumps(line)


def test_foreign_exception_messages_are_withheld() -> None:
    try:
        raise ValueError('Failing row contains (SKU-1, "Secret Tent")')
    except ValueError:
        record = logging.getLogger("catalog_lib.t").makeRecord(
            "catalog_lib.t", logging.ERROR, __file__, 1, "x", (), __import__("sys").exc_info()
        )
    text = JsonFormatter().format(record)
    assert "Secret Tent" not in text
    assert json.loads(text)["error_name"] == "ValueError"


def test_unserialisable_values_are_named_not_dumped() -> None:
    line = _line(_record(event="etl.x", payload=object()))
    assert line["payload"] == "<object>"


def test_text_format_is_one_line() -> None:
    text = TextFormatter().format(_record(event="etl.x", job_id="j"))
    assert "etl.x" in text
    assert "job_id=j" in text
    assert "\n" not in text


@pytest.fixture
def configured() -> Iterator[None]:
    yield
    reset_logging()


def test_configure_logging_writes_one_json_line_per_record(
    configured: None, capsys: pytest.CaptureFixture[str]
) -> None:
    configure_logging(json=True, level="INFO")
    configure_logging(json=True, level="INFO")  # idempotent: still one handler
    logging.getLogger("catalog_lib.x").info("done", extra={"event": "etl.x.done", "count": 2})
    logging.getLogger("some.library").info("chatter")  # other libraries: warnings only
    logging.getLogger("some.library").warning("careful")
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
    assert [(line["event"], line.get("count")) for line in lines] == [
        ("etl.x.done", 2),
        ("careful", None),
    ]

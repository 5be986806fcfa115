"""Shared plumbing of the `catalog-etl` commands: output, exit codes, settings, errors."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, is_dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import IntEnum
from pathlib import Path
from typing import Any, NoReturn
from uuid import UUID

import typer
from pydantic import ValidationError
from rich.console import Console

from catalog_lib.core.errors import CatalogError, ConfigurationError, TerminalError
from catalog_lib.core.settings import Settings, get_settings

JSON_OPTION = typer.Option(False, "--json", help="Print one JSON document instead of text.")


class ExitCode(IntEnum):
    """The CLI contract: 0 success, 1 the job/action failed, 2 usage error or refused."""

    OK = 0
    FAILED = 1
    REFUSED = 2


def to_jsonable(value: Any) -> Any:
    """Convert dataclasses, UUIDs, datetimes, Decimals and paths into JSON values."""
    if is_dataclass(value) and not isinstance(value, type):
        return to_jsonable(asdict(value))
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [to_jsonable(v) for v in value]
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, UUID | Path):
        return str(value)
    if isinstance(value, Decimal):
        return str(value)
    return value


def make_console() -> Console:
    """A rich console; wide when piped so tables are not truncated to 80 columns."""
    return Console(soft_wrap=True, width=None if sys.stdout.isatty() else 160)


def plural(count: int, word: str, plural_form: str | None = None) -> str:
    """`1 chunk`, `2 chunks` (or the given plural form)."""
    return f"{count} {word if count == 1 else (plural_form or word + 's')}"


def shown(value: object) -> str:
    """A value for a text table or line: `-` for nothing, never `None`."""
    return "-" if value is None or value == "" else str(value)


def note(message: str) -> None:
    """A diagnostic line on stderr (never mixed into a command's result on stdout)."""
    typer.echo(message, err=True)


def emit(document: dict[str, Any], *, as_json: bool, text: Callable[[], None]) -> None:
    """Print `document` as JSON, or run the human-readable renderer."""
    if as_json:
        sys.stdout.write(json.dumps(to_jsonable(document), ensure_ascii=False) + "\n")
    else:
        text()


def fail(
    message: str,
    *,
    code: ExitCode,
    as_json: bool,
    kind: str = "error",
    extra: dict[str, Any] | None = None,
) -> NoReturn:
    """Report an error in the chosen format and exit with `code`."""
    if as_json:
        document = {"error": kind, "message": message, **(extra or {})}
        sys.stdout.write(json.dumps(to_jsonable(document), ensure_ascii=False) + "\n")
    else:
        typer.secho(f"error: {message}", err=True, fg=typer.colors.RED)
    raise typer.Exit(int(code))


def load_settings(as_json: bool) -> Settings:
    """Read settings, turning validation errors into a usage error (exit 2)."""
    try:
        return get_settings()
    except ValidationError as exc:
        problems = "; ".join(
            f"CATALOG_{'_'.join(str(p) for p in e['loc']).upper()}: {e['msg']}"
            for e in exc.errors()
        )
        fail(
            f"invalid configuration: {problems}",
            code=ExitCode.REFUSED,
            as_json=as_json,
            kind="configuration",
        )


@contextmanager
def handle_errors(as_json: bool) -> Iterator[None]:
    """The CLI boundary: known errors become messages and exit codes, never tracebacks.

    Database failures arrive already translated (`catalog_lib.adapters.postgres` raises only
    error-tree exceptions, with the error class and SQLSTATE but never the server's text).
    """
    try:
        yield
    except ConfigurationError as exc:
        fail(str(exc), code=ExitCode.REFUSED, as_json=as_json, kind=exc.kind)
    except TerminalError as exc:
        fail(str(exc), code=ExitCode.FAILED, as_json=as_json, kind=exc.kind)
    except CatalogError as exc:
        fail(str(exc), code=ExitCode.FAILED, as_json=as_json, kind=exc.kind)

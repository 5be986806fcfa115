"""Records which named queries (`sql/queries/*.sql`) the test session executes.

Loaded as a pytest plugin from `tests/conftest.py`. Every statement sent through psycopg
(`execute`, `executemany`, `copy`, including SQLAlchemy's migrations and statements composed
with `psycopg.sql`), DuckDB, and the statement the embedded server runs in single-user mode is
matched against the query files. When the whole suite ran and passed, a query file no test executed
fails the session: a query without a test, or one no code path uses any more.

Under pytest-xdist each worker records its own queries and hands them (and whether it
deselected anything) to the controller through `workeroutput`; the controller checks the union.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import duckdb
import psycopg
import psycopg.sql
import pytest

from catalog_lib.adapters.embedded_postgres import EmbeddedPostgres
from catalog_lib.adapters.queries import QUERIES_DIR

QUERIES: dict[str, str] = {p.stem: p.read_text(encoding="utf-8") for p in QUERIES_DIR.glob("*.sql")}
_PLACEHOLDER = re.compile(r"\\\{\w+\\\}")  # `{name}` after re.escape
_EXACT = {text: name for name, text in QUERIES.items()}
_TEMPLATES = [
    (re.compile(_PLACEHOLDER.sub(".*?", re.escape(text)), re.S), name)
    for name, text in QUERIES.items()
    if "{" in text
]
EXECUTED: set[str] = set()
_DESELECTED: list[Any] = []
# Controller side of an xdist run: what the finished workers reported.
_WORKERS_DESELECTED: list[int] = []
_WORKER_OUTPUT_KEY = "catalog_named_queries"


def query_name(statement: object) -> str | None:
    """The named query `statement` is, or None for any other statement."""
    if isinstance(statement, psycopg.sql.Composable):
        statement = statement.as_string(None)
    elif isinstance(statement, bytes):
        statement = statement.decode("utf-8", "replace")
    if not isinstance(statement, str):
        return None
    name = _EXACT.get(statement)
    if name is not None:
        return name
    return next((n for pattern, n in _TEMPLATES if pattern.fullmatch(statement)), None)


def _note(statement: object) -> None:
    name = query_name(statement)
    if name is not None:
        EXECUTED.add(name)


def _recording(method: Callable[..., Any]) -> Callable[..., Any]:
    def wrapper(self: Any, statement: Any, *args: Any, **kwargs: Any) -> Any:
        _note(statement)
        return method(self, statement, *args, **kwargs)

    return wrapper


class _DuckDBConnection:
    """A DuckDB connection that notes the statements it executes."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner

    def execute(self, statement: Any, *args: Any, **kwargs: Any) -> Any:
        _note(statement)
        return self._inner.execute(statement, *args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


@pytest.fixture(scope="session", autouse=True)
def record_named_queries() -> Iterator[set[str]]:
    """Patch the drivers for the session so every executed named query is recorded."""
    patch = pytest.MonkeyPatch()
    for method in ("execute", "executemany", "copy"):
        patch.setattr(psycopg.Cursor, method, _recording(getattr(psycopg.Cursor, method)))
    connect = duckdb.connect
    patch.setattr(duckdb, "connect", lambda *a, **k: _DuckDBConnection(connect(*a, **k)))
    # Single-user mode reads its statement from stdin (no connection exists to record it on).
    run = EmbeddedPostgres._run

    def run_noting_stdin(self: Any, args: Any, run_as: Any, *, stdin: Any = None) -> Any:
        if stdin is not None:
            _note(stdin)
        return run(self, args, run_as, stdin=stdin)

    patch.setattr(EmbeddedPostgres, "_run", run_noting_stdin)
    yield EXECUTED
    patch.undo()


def pytest_deselected(items: list[Any]) -> None:
    """Remember deselections: a partial run does not have to execute every query."""
    _DESELECTED.extend(items)


def _whole_suite(session: pytest.Session) -> bool:
    option = session.config.option
    if option.keyword or option.markexpr or _DESELECTED or any(_WORKERS_DESELECTED):
        return False
    tests_root = (Path(str(session.config.rootpath)) / "tests").resolve()
    args = [Path(a.split("::", 1)[0]).resolve() for a in session.config.args]
    return all(a == tests_root for a in args)


def _is_xdist_worker(config: pytest.Config) -> bool:
    return hasattr(config, "workeroutput")


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: object) -> None:
    """On the xdist controller: add a finished worker's executed queries to the session's set."""
    output = getattr(node, "workeroutput", {}).get(_WORKER_OUTPUT_KEY)
    if output is None:
        return
    EXECUTED.update(output["executed"])
    _WORKERS_DESELECTED.append(int(output["deselected"]))


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """After a complete, passing run: fail when a named query was never executed.

    An xdist worker only reports what it executed; the controller (or a run without xdist)
    decides.
    """
    config = session.config
    if _is_xdist_worker(config):
        config.workeroutput[_WORKER_OUTPUT_KEY] = {  # type: ignore[attr-defined]
            "executed": sorted(EXECUTED),
            "deselected": len(_DESELECTED),
        }
        return
    if exitstatus != 0 or not _whole_suite(session):
        return
    missing = sorted(set(QUERIES) - EXECUTED)
    if missing:
        reporter = config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            reporter.write_line("named queries no test executed: " + ", ".join(missing), red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED

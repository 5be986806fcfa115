"""Every statement is a named query in `sql/queries/`, used by code, and none is inline."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from catalog_lib.adapters.queries import QUERIES_DIR, load_query
from catalog_lib.core.errors import ConfigurationError
from tests.query_coverage import QUERIES, query_name

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("catalog_lib", "flows", "ops_console")

# SQL in a string literal: a statement's opening words (upper case, as the product writes SQL).
INLINE_SQL = re.compile(
    r"\b(SELECT\b.*\bFROM\b|SELECT\s+\w+\s*\(|INSERT\s+INTO|UPDATE\s+\w+\s+SET|DELETE\s+FROM"
    r"|COPY\s+\w+|CREATE\s+(TEMP|TEMPORARY|TABLE|UNIQUE|INDEX|DATABASE|EXTENSION|SCHEMA)"
    r"|DROP\s+(TABLE|INDEX|DATABASE)|ALTER\s+TABLE|SHOW\s+\w+|TRUNCATE\s+\w+|SET\s+\w+\s*=)",
    re.S,
)
# (module, first words of the literal): each exception says why it is not a named query.
ALLOWED_INLINE = {
    # Help text of `catalog-etl demo`: a psql command line shown to the user, never executed.
    ("flows/cli/demo.py", 'psql "$(uv run catalog-etl db url)"'),
}


def _modules() -> list[Path]:
    return sorted(p for package in PACKAGES for p in (ROOT / package).rglob("*.py"))


def _docstrings(tree: ast.AST) -> set[int]:
    ids: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                ids.add(id(body[0].value))
    return ids


def _string_literals(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skip = _docstrings(tree)
    texts = [
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in skip
    ]
    # f-strings: their constant parts joined, so `f"SELECT ... {x}"` is seen too.
    texts += [
        "".join(v.value for v in node.values if isinstance(v, ast.Constant))
        for node in ast.walk(tree)
        if isinstance(node, ast.JoinedStr)
    ]
    return texts


def _query_names_in_code() -> dict[str, list[str]]:
    """Every `load_query("name")` call in the packages: name → modules."""
    used: dict[str, list[str]] = {}
    for path in _modules():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call)
                and getattr(node.func, "id", getattr(node.func, "attr", None)) == "load_query"
                and node.args
                and isinstance(node.args[0], ast.Constant)
            ):
                used.setdefault(str(node.args[0].value), []).append(str(path.relative_to(ROOT)))
    return used


def test_no_module_contains_inline_sql() -> None:
    found = []
    for path in _modules():
        module = str(path.relative_to(ROOT))
        for text in _string_literals(path):
            if INLINE_SQL.search(text) and not any(
                module == allowed and text.lstrip().startswith(start)
                for allowed, start in ALLOWED_INLINE
            ):
                found.append(f"{module}: {text.strip()[:60]!r}")
    assert found == []


def test_the_inline_sql_scan_finds_statements() -> None:
    assert INLINE_SQL.search("SELECT * FROM etl_jobs WHERE id = %s")
    assert INLINE_SQL.search("COPY _vectors (sku) FROM STDIN")
    assert INLINE_SQL.search("CREATE TEMP TABLE _merged (sku text)")
    assert INLINE_SQL.search("DELETE FROM etl_staged_items")
    assert not INLINE_SQL.search("select the rows to delete from the ledger")
    assert not INLINE_SQL.search("PutObject")


def test_every_query_file_is_loaded_by_code() -> None:
    used = _query_names_in_code()
    assert sorted(set(QUERIES) - set(used)) == []


def test_every_loaded_query_exists() -> None:
    used = _query_names_in_code()
    assert sorted(set(used) - set(QUERIES)) == []
    for name in used:
        assert load_query(name) == QUERIES[name]


def test_an_unknown_query_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError):
        load_query("no_such_query")


def _normalised(text: str) -> str:
    lines = [line.split("--", 1)[0] for line in text.splitlines()]
    return " ".join(" ".join(lines).split()).lower()


def test_no_two_query_files_hold_the_same_statement() -> None:
    by_text: dict[str, list[str]] = {}
    for name, text in QUERIES.items():
        by_text.setdefault(_normalised(text), []).append(name)
    assert [names for names in by_text.values() if len(names) > 1] == []


def test_every_query_file_says_what_it_does() -> None:
    assert [n for n, t in QUERIES.items() if not t.lstrip().startswith("--")] == []
    assert QUERIES_DIR == ROOT / "sql" / "queries"


def test_the_session_recorder_knows_named_queries_and_templates() -> None:
    assert query_name(load_query("get_job")) == "get_job"
    template = load_query("count_csv_records")
    filled = template.format(columns="{'c0': 'VARCHAR'}", max_line=2097152, buffer=16777216)
    assert query_name(filled) == "count_csv_records"
    assert query_name("SELECT 1") is None


class _FinishedWorker:
    def __init__(self, executed: list[str], deselected: int) -> None:
        self.workeroutput = {
            "catalog_named_queries": {"executed": executed, "deselected": deselected}
        }


def test_the_xdist_controller_adds_up_what_every_worker_executed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from tests import query_coverage

    executed: set[str] = set()
    deselected: list[int] = []
    monkeypatch.setattr(query_coverage, "EXECUTED", executed)
    monkeypatch.setattr(query_coverage, "_WORKERS_DESELECTED", deselected)
    query_coverage.pytest_testnodedown(_FinishedWorker(["get_job"], 0), None)
    query_coverage.pytest_testnodedown(_FinishedWorker(["list_jobs", "get_job"], 2), None)
    # A worker that crashed before reporting adds nothing (and does not break the hook).
    query_coverage.pytest_testnodedown(object(), "worker crashed")
    assert executed == {"get_job", "list_jobs"}
    assert deselected == [0, 2]


def test_the_recorder_names_composed_and_piped_statements() -> None:
    from psycopg import sql

    create = sql.SQL(load_query("create_database")).format(name=sql.Identifier("catalog"))
    assert query_name(create) == "create_database"
    password = sql.SQL(load_query("set_superuser_password")).format(
        role=sql.Identifier("postgres"), password=sql.Literal("secret")
    )
    assert query_name(password.as_string(None).encode()) == "set_superuser_password"
    assert query_name(sql.SQL("CREATE DATABASE {}").format(sql.Identifier("x"))) is None


def test_an_xdist_worker_reports_its_queries_instead_of_judging(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from types import SimpleNamespace

    from tests import query_coverage

    monkeypatch.setattr(query_coverage, "EXECUTED", {"list_jobs", "get_job"})
    monkeypatch.setattr(query_coverage, "_DESELECTED", ["an item"])
    config = SimpleNamespace(workeroutput={})
    session = SimpleNamespace(config=config, exitstatus=0)
    query_coverage.pytest_sessionfinish(session, 0)  # type: ignore[arg-type]
    assert config.workeroutput["catalog_named_queries"] == {
        "executed": ["get_job", "list_jobs"],
        "deselected": 1,
    }
    assert session.exitstatus == 0  # a worker never fails the run for a missing query

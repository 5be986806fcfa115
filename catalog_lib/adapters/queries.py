"""Named SQL statements: every statement the product runs is a file in `sql/queries/`.

`load_query("name")` returns the text of `sql/queries/name.sql`. PostgreSQL statements bind
values as `%(name)s` parameters; the DuckDB statement (`count_csv_records`) binds `?`.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from catalog_lib.core.errors import ConfigurationError

SQL_DIR = Path(__file__).resolve().parents[2] / "sql"
QUERIES_DIR = SQL_DIR / "queries"


@cache
def load_query(name: str) -> str:
    """Return the text of `sql/queries/<name>.sql`."""
    path = QUERIES_DIR / f"{name}.sql"
    if not path.is_file():
        raise ConfigurationError(f"unknown named query {name!r}")
    return path.read_text(encoding="utf-8")

"""The models' metadata (Alembic's target) and how Alembic compares it with a live database.

Importing this module registers every table. The migration environment and the drift test
use the same comparison options, so `alembic revision --autogenerate` drafts exactly what the
drift test would report.
"""

from __future__ import annotations

from typing import Any, Final

import sqlalchemy as sa
from pgvector.sqlalchemy import Vector
from sqlalchemy.dialects import postgresql as pg
from sqlmodel import SQLModel

from catalog_lib.models import audit, catalog, jobs, operations

TABLE_MODULES: Final = (jobs, catalog, operations, audit)
metadata: Final = SQLModel.metadata

# Created by the migration only when pgvector is available and the dimension allows HNSW.
DEPLOYMENT_DEPENDENT_INDEXES: Final = frozenset({"catalog_items_embedding_idx"})
EMBEDDING_COLUMN: Final = ("catalog_items", "embedding")


def include_object(
    _obj: Any, name: str | None, type_: str, _reflected: bool, _compare_to: Any
) -> bool:
    """Compare every object except those that exist only in some deployments.

    The HNSW index on `catalog_items.embedding` exists only with pgvector and at most 2000
    dimensions, so it is neither required nor reported. Alembic's own table is not a model.
    """
    if type_ == "index" and name in DEPLOYMENT_DEPENDENT_INDEXES:
        return False
    return not (type_ == "table" and name == "alembic_version")


def is_embedding_type(sql_type: sa.types.TypeEngine[Any]) -> bool:
    """Whether a reflected type is one the migration may choose for the embedding column."""
    if isinstance(sql_type, Vector):
        return True
    return isinstance(sql_type, pg.ARRAY) and isinstance(sql_type.item_type, sa.REAL)


def compare_type(
    _context: Any,
    _inspected_column: sa.Column[Any],
    metadata_column: sa.Column[Any],
    inspected_type: sa.types.TypeEngine[Any],
    metadata_type: sa.types.TypeEngine[Any],
) -> bool | None:
    """Accept `vector(N)` or `real[]` for the embedding column; Alembic's rules elsewhere.

    The dimension N is the deployment's (fixed by the migration), so the model cannot name it;
    any other type on that column is a difference.
    """
    table = metadata_column.table.name if metadata_column.table is not None else None
    if (table, metadata_column.name) == EMBEDDING_COLUMN:
        return not (isinstance(metadata_type, Vector) and is_embedding_type(inspected_type))
    return None


COMPARE_OPTIONS: Final[dict[str, Any]] = {
    "compare_type": compare_type,
    "compare_server_default": True,
    "include_object": include_object,
}

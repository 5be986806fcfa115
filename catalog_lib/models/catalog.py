"""The catalog: `catalog_items`, their provenance (`catalog_item_etl_jobs`), rejected rows."""

from __future__ import annotations

import uuid
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any

import sqlalchemy as sa
from pgvector.sqlalchemy import Vector
from pydantic import AwareDatetime, BeforeValidator
from sqlalchemy.dialects import postgresql as pg
from sqlmodel import Field, SQLModel

from catalog_lib.models.columns import identity_pk, jsonb, pg_enum, timestamptz


class Availability(StrEnum):
    """Stock availability of an item (PostgreSQL enum `availability`)."""

    IN_STOCK = "in_stock"
    OUT_OF_STOCK = "out_of_stock"
    PREORDER = "preorder"


def _parse_vector(value: Any) -> Any:
    """Accept pgvector's text form `[1,2,3]` as well as a list (the `real[]` fallback)."""
    if isinstance(value, str):
        body = value.strip().removeprefix("[").removesuffix("]")
        return [float(v) for v in body.split(",")] if body else []
    return value


Embedding = Annotated[list[float] | None, BeforeValidator(_parse_vector)]


def _job_fk(column: str, table: str, *, ondelete: str) -> sa.ForeignKey:
    return sa.ForeignKey("etl_jobs.id", ondelete=ondelete, name=f"{table}_{column}_fkey")


class CatalogItem(SQLModel, table=True):
    """One product, keyed by SKU; upserts never replace it with data from an older file.

    `embedding` is pgvector's `vector(N)` where the extension is available (with an HNSW
    index `catalog_items_embedding_idx` when N <= 2000), else `real[]`. N is the deployment's
    `CATALOG_EMBEDDING_DIMENSIONS`, fixed by the migration, so the model leaves it open; the
    drift check accepts either form (see `catalog_lib.models.schema`).
    """

    __tablename__ = "catalog_items"
    __table_args__ = (
        sa.UniqueConstraint("sku", name="catalog_items_sku_unique"),
        # Items through the job that last wrote them (console, and ON DELETE SET NULL).
        sa.Index("catalog_items_last_job_idx", "last_job_id"),
    )

    id: int = Field(sa_column=identity_pk())
    name: str = Field(sa_column=sa.Column(sa.Text(), nullable=False))
    product_url: str = Field(sa_column=sa.Column(sa.Text(), nullable=False))
    sku: str = Field(sa_column=sa.Column(sa.Text(), nullable=False))
    weight: float | None = Field(default=None, sa_column=sa.Column(sa.Double()))
    weight_unit: str | None = Field(default=None, sa_column=sa.Column(sa.Text()))
    description: str | None = Field(default=None, sa_column=sa.Column(sa.Text()))
    categories: Any = Field(default=None, sa_column=jsonb())
    images: Any = Field(default=None, sa_column=jsonb())
    brand: str | None = Field(default=None, sa_column=sa.Column(sa.Text()))
    model: str | None = Field(default=None, sa_column=sa.Column(sa.Text()))
    rating_value: float | None = Field(default=None, sa_column=sa.Column(sa.Double()))
    color: str | None = Field(default=None, sa_column=sa.Column(sa.Text()))
    size: str | None = Field(default=None, sa_column=sa.Column(sa.Text()))
    price: Decimal | None = Field(default=None, sa_column=sa.Column(sa.Numeric()))
    availability: Availability | None = Field(
        default=None, sa_column=sa.Column(pg_enum(Availability, "availability"))
    )
    seller: str | None = Field(default=None, sa_column=sa.Column(sa.Text()))
    product_sku: str | None = Field(default=None, sa_column=sa.Column(sa.Text()))
    material: str | None = Field(default=None, sa_column=sa.Column(sa.Text()))
    currency: str | None = Field(default=None, sa_column=sa.Column(sa.Text()))
    condition: str | None = Field(default=None, sa_column=sa.Column(sa.Text()))
    review_count: int = Field(
        default=0,
        sa_column=sa.Column(sa.Integer(), nullable=False, server_default=sa.text("0")),
    )
    variants: Any = Field(default=None, sa_column=jsonb())
    techs: Any = Field(default=None, sa_column=jsonb())
    links: Any = Field(default=None, sa_column=jsonb())
    reviews: Any = Field(default=None, sa_column=jsonb())
    qas: Any = Field(default=None, sa_column=jsonb())
    faqs: Any = Field(default=None, sa_column=jsonb())
    embedding_text_hash: str | None = Field(default=None, sa_column=sa.Column(sa.Text()))
    created_at: AwareDatetime = Field(sa_column=timestamptz(nullable=False, now=True))
    updated_at: AwareDatetime = Field(sa_column=timestamptz(nullable=False, now=True))
    last_job_id: uuid.UUID | None = Field(
        default=None,
        sa_column=sa.Column(
            sa.Uuid(), _job_fk("last_job_id", "catalog_items", ondelete="SET NULL")
        ),
    )
    source_version: AwareDatetime = Field(sa_column=timestamptz(nullable=False))
    embedding: Embedding = Field(default=None, sa_column=sa.Column(Vector()))
    # The version of the file that gave the stored weight (newest file with a weight wins).
    weight_source_version: AwareDatetime | None = Field(default=None, sa_column=timestamptz())


class CatalogItemEtlJob(SQLModel, table=True):
    """Provenance: which jobs wrote an item (written with ON CONFLICT DO NOTHING)."""

    __tablename__ = "catalog_item_etl_jobs"
    __table_args__ = (
        sa.UniqueConstraint(
            "catalog_item_id", "etl_job_id", name="catalog_item_etl_jobs_item_job_uq"
        ),
        sa.Index(
            "catalog_item_etl_jobs_item_created_idx",
            "catalog_item_id",
            sa.text("created_at DESC"),
        ),
        sa.Index("catalog_item_etl_jobs_job_idx", "etl_job_id"),
    )

    id: int = Field(sa_column=identity_pk())
    catalog_item_id: int = Field(
        sa_column=sa.Column(
            sa.BigInteger(),
            sa.ForeignKey(
                "catalog_items.id",
                ondelete="CASCADE",
                name="catalog_item_etl_jobs_catalog_item_id_fkey",
            ),
            nullable=False,
        )
    )
    etl_job_id: uuid.UUID = Field(
        sa_column=sa.Column(
            sa.Uuid(),
            _job_fk("etl_job_id", "catalog_item_etl_jobs", ondelete="CASCADE"),
            nullable=False,
        )
    )
    created_at: AwareDatetime = Field(sa_column=timestamptz(nullable=False, now=True))


class InvalidItemLog(SQLModel, table=True):
    """A rejected row: its file-level record ordinal, why (field + reason), the mapped item."""

    __tablename__ = "invalid_item_logs"
    __table_args__ = (
        sa.UniqueConstraint("job_id", "record_ordinal", name="invalid_item_logs_job_record_uq"),
        sa.Index("invalid_item_logs_created_at_idx", "created_at"),
    )

    id: int = Field(sa_column=identity_pk())
    job_id: uuid.UUID = Field(
        sa_column=sa.Column(
            sa.Uuid(), _job_fk("job_id", "invalid_item_logs", ondelete="CASCADE"), nullable=False
        )
    )
    chunk_index: int = Field(sa_column=sa.Column(sa.Integer(), nullable=False))
    record_ordinal: int = Field(sa_column=sa.Column(sa.BigInteger(), nullable=False))
    errors: list[dict[str, Any]] = Field(sa_column=sa.Column(pg.JSONB(), nullable=False))
    raw_data: dict[str, Any] = Field(sa_column=sa.Column(pg.JSONB(), nullable=False))
    created_at: AwareDatetime = Field(sa_column=timestamptz(nullable=False, now=True))

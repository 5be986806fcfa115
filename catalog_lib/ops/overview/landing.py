"""The landing page's reads: objects in the landing store and whether a job read them."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg

from catalog_lib.adapters.postgres import load_query
from catalog_lib.adapters.storage import ObjectStore, ObjectVersion
from catalog_lib.core.errors import CatalogError
from catalog_lib.ingest.jobs import compute_ingest_key
from catalog_lib.rules.intake import check_relative_key, source_of


# --- Landing --------------------------------------------------------------------------------
@dataclass(frozen=True)
class LandingObject:
    """An object in the landing area: its key, the source its folder names, its version."""

    key: str
    source: str | None
    version: ObjectVersion


@dataclass(frozen=True)
class LandingRow:
    """A landing object and its ingest state (by source + key + ETag)."""

    obj: LandingObject
    state: str  # never ingested | running | completed | failed | no source folder
    job_id: uuid.UUID | None = None
    job_status: str | None = None
    job_created_at: datetime | None = None

    @property
    def can_ingest(self) -> bool:
        """Whether an "Ingest" action makes sense (never ingested, or only failed attempts)."""
        return self.obj.source is not None and self.state in ("never ingested", "failed")


def list_landing(store: ObjectStore, *, limit: int = 500) -> list[LandingObject]:
    """The landing area's objects, newest first (at most `limit`)."""
    versions = sorted(store.list(), key=lambda v: v.last_modified, reverse=True)[:limit]
    root = store.root_uri.rstrip("/") + "/"
    found = []
    for version in versions:
        key = version.uri.removeprefix(root)
        try:
            source: str | None = source_of(check_relative_key(key))
        except CatalogError:
            source = None
        found.append(LandingObject(key=key, source=source, version=version))
    return found


def landing_states(
    conn: psycopg.Connection[Any], objects: Sequence[LandingObject]
) -> list[LandingRow]:
    """Each object with the state of the newest job of its ingest identity, same order."""
    keys = {
        id(o): compute_ingest_key(o.source, o.version.uri, o.version.etag)
        for o in objects
        if o.source is not None
    }
    rows = conn.execute(
        load_query("console_landing_jobs"), {"keys": sorted(set(keys.values()))}
    ).fetchall()
    newest = {r["ingest_key"]: r for r in rows}
    out = []
    for obj in objects:
        if obj.source is None:
            out.append(LandingRow(obj, "no source folder"))
            continue
        job = newest.get(keys[id(obj)])
        if job is None:
            out.append(LandingRow(obj, "never ingested"))
            continue
        state = {"pending": "running", "cancelled": "failed"}.get(job["status"], job["status"])
        out.append(LandingRow(obj, state, job["id"], job["status"], job["created_at"]))
    return out

"""What the flows show in Prefect's UI: artifact keys, markdown tables, run tags and links.

Prefect artifact keys may only hold lowercase letters, digits and dashes; `artifact_key`
turns any source name into one. Run tags are `source:<name>` and `trigger:<channel>`.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from prefect.utilities.urls import url_for

TRIGGERS = ("webhook", "cli", "schedule", "console", "prefect")
SOURCE_TAG = "source:"
TRIGGER_TAG = "trigger:"
_NOT_KEY = re.compile(r"[^a-z0-9]+")
_MAX_KEY = 100


def slug(text: str) -> str:
    """`text` as lowercase letters, digits and single dashes (`Trail Co_EU` → `trail-co-eu`)."""
    return _NOT_KEY.sub("-", text.lower()).strip("-") or "unnamed"


def artifact_key(prefix: str, name: str) -> str:
    """A valid Prefect artifact key `<prefix>-<slug(name)>`, at most 100 characters."""
    return f"{slug(prefix)}-{slug(name)}"[:_MAX_KEY].rstrip("-")


def run_tags(source: str | None, trigger: str | None) -> list[str]:
    """The tags an ingest run carries: `source:<name>` and `trigger:<channel>`."""
    tags = []
    if source:
        tags.append(f"{SOURCE_TAG}{source}")
    if trigger:
        tags.append(f"{TRIGGER_TAG}{trigger}")
    return tags


def merge_tags(existing: Iterable[str], wanted: Iterable[str]) -> list[str]:
    """`existing` plus `wanted`; a wanted `trigger:` tag never replaces one already there."""
    tags = list(dict.fromkeys(existing))
    has_trigger = any(t.startswith(TRIGGER_TAG) for t in tags)
    for tag in wanted:
        if tag in tags or (tag.startswith(TRIGGER_TAG) and has_trigger):
            continue
        tags.append(tag)
    return tags


def minute(moment: datetime | None) -> str:
    """`2026-12-04 17:05` (UTC) for run names; now when `moment` is None."""
    return (moment or datetime.now(UTC)).astimezone(UTC).strftime("%Y-%m-%d %H:%M")


def flow_run_link(flow_run_id: uuid.UUID | str | None) -> str | None:
    """The Prefect UI page of a flow run (None without an id or a configured UI)."""
    if flow_run_id is None:
        return None
    return url_for("flow-run", obj_id=str(flow_run_id))


def _cell(value: Any) -> str:
    if value is None or value == "":
        return "–"
    text = str(value).replace("\r", " ").replace("\n", " ")
    return text.replace("|", "\\|")


def markdown_fields(title: str, rows: Sequence[tuple[str, Any]]) -> str:
    """A markdown heading and a two-column table of `(field, value)` rows."""
    lines = [f"### {title}", "", "| | |", "|---|---|"]
    lines.extend(f"| {_cell(name)} | {_cell(value)} |" for name, value in rows)
    return "\n".join(lines) + "\n"

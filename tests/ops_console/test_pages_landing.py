"""Landing page: objects newest first with their ingest state, and the Ingest action."""

from __future__ import annotations

import os
import uuid

import pytest

from catalog_lib.adapters.postgres import connect
from catalog_lib.adapters.storage import StorageConfig, open_store
from catalog_lib.ingest.jobs import compute_ingest_key
from tests.ops_console.conftest import Console, OpenPage, labels, metrics

pytestmark = [pytest.mark.console, pytest.mark.postgres, pytest.mark.slow]


def _fill(env: Console) -> None:
    store = open_store(StorageConfig(landing_url=str(env.landing)))
    for n, key in enumerate(("trailco/old.csv", "trailco/done.csv", "northline/new.csv")):
        version = store.write(key, f"sku,name\n{n},item\n".encode())
        path = env.landing / key
        os.utime(path, (1_700_000_000 + n * 1000, 1_700_000_000 + n * 1000))
        if key == "trailco/done.csv":
            version = store.head(key)
            with connect(env.db_url) as conn:
                conn.execute(
                    "INSERT INTO etl_jobs (id, status, source, filename, object_key,"
                    " scraper_revision, ingest_key, source_etag)"
                    " VALUES (%s, 'completed', 'trailco', 'done.csv', %s, 'r1', %s, %s)",
                    (
                        uuid.uuid4(),
                        version.uri,
                        compute_ingest_key("trailco", version.uri, version.etag),
                        version.etag,
                    ),
                )
    (env.landing / "stray.csv").write_bytes(b"sku\n1\n")
    os.utime(env.landing / "stray.csv", (1_600_000_000, 1_600_000_000))


def test_objects_newest_first_with_their_state(console_env: Console, open_page: OpenPage) -> None:
    _fill(console_env)
    at = open_page("landing")
    keys = [m.value for m in at.markdown if m.value.startswith("`") and m.value.endswith(".csv`")]
    assert keys == ["`northline/new.csv`", "`trailco/done.csv`", "`trailco/old.csv`", "`stray.csv`"]
    shown = metrics(at)
    assert shown["never ingested"] == "2"
    assert shown["completed"] == "1"
    assert shown["no source folder"] == "1"
    assert any(":green[completed] · [" in m.value for m in at.markdown)


@pytest.mark.usefixtures("local_operator")
def test_ingest_buttons_only_for_a_local_operator_and_new_objects(
    console_env: Console, open_page: OpenPage
) -> None:
    _fill(console_env)
    at = open_page("landing")
    assert sum(b.label == "Ingest" for b in at.button) == 2
    at.toggle(key="landing_only_new").set_value(True).run()
    keys = [m.value for m in at.markdown if m.value.endswith(".csv`")]
    assert keys == ["`northline/new.csv`", "`trailco/old.csv`"]


def test_read_only_shows_no_ingest_button(console_env: Console, open_page: OpenPage) -> None:
    _fill(console_env)
    assert "Ingest" not in labels(open_page("landing"))


@pytest.mark.usefixtures("console_env")
def test_an_empty_landing_area_says_what_to_do(open_page: OpenPage) -> None:
    at = open_page("landing")
    assert any("landing area is empty" in i.value for i in at.info)

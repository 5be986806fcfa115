"""Maintenance page: retention and audit runs, and the deployments' schedules."""

from __future__ import annotations

import pytest

from catalog_lib.adapters.postgres import connect
from tests.ops_console.conftest import Console, OpenPage

pytestmark = [pytest.mark.console, pytest.mark.postgres, pytest.mark.slow]


def test_runs_newest_first_with_what_they_did(seeded: Console, open_page: OpenPage) -> None:
    at = open_page("maintenance")
    table = at.dataframe[0].value
    with connect(seeded.db_url) as conn:
        row = conn.execute("SELECT count(*) AS n FROM maintenance_runs").fetchone()
    assert row is not None
    assert len(table) == min(60, row["n"])
    assert set(table["kind"]) == {"retention", "audit"}
    assert (table["capped"] == "capped").sum() == 1
    assert table["what it did"].str.contains("deleted").any()
    assert table["what it did"].str.startswith("failed: ").any()


@pytest.mark.usefixtures("seeded")
def test_the_kind_filter_changes_the_list(open_page: OpenPage) -> None:
    at = open_page("maintenance")
    at.get("button_group")[0].set_value("retention").run()
    assert set(at.dataframe[0].value["kind"]) == {"retention"}


@pytest.mark.usefixtures("seeded")
def test_without_prefect_the_schedules_say_how_to_get_them(open_page: OpenPage) -> None:
    at = open_page("maintenance")
    assert any("PREFECT_API_URL" in i.value for i in at.info)


@pytest.mark.usefixtures("console_env")
def test_no_runs_says_what_to_do(open_page: OpenPage) -> None:
    at = open_page("maintenance")
    assert any("No maintenance run yet" in i.value for i in at.info)

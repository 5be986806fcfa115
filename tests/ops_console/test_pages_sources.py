"""Sources & audit page: one row per source, trends, flags and who may ack / mute them."""

from __future__ import annotations

import pytest

from catalog_lib.adapters.postgres import connect
from tests.ops_console.conftest import (
    ACTION_LABELS,
    OIDC,
    Console,
    OpenPage,
    chart_specs,
    labels,
)

pytestmark = [pytest.mark.console, pytest.mark.postgres, pytest.mark.slow]


def test_one_row_per_source_with_the_seeded_numbers(seeded: Console, open_page: OpenPage) -> None:
    summary = seeded.summary
    assert summary is not None
    table = open_page("sources").dataframe[0].value
    assert list(table["source"]) == sorted(summary.sources)
    assert set(table.loc[table["fresh"] == "stale", "source"]) == set(summary.stale_sources)
    assert table["open flags"].sum() == summary.open_flags
    items = dict(zip(table["source"], table["items"], strict=True))
    with connect(seeded.db_url) as conn:
        latest = conn.execute(
            "SELECT DISTINCT ON (source) source, total_items FROM audit_snapshots"
            " ORDER BY source, generated_at DESC"
        ).fetchall()
    assert items == {r["source"]: r["total_items"] for r in latest}
    assert table["rejected share"].between(0, 1).all()


def test_trend_charts_follow_the_picked_source(seeded: Console, open_page: OpenPage) -> None:
    summary = seeded.summary
    assert summary is not None
    at = open_page("sources", window="30 days")
    specs = {s["title"]: s for s in chart_specs(at)}
    assert specs["Rows accepted per job"]["encoding"]["y"]["field"] == "rows_valid"
    assert specs["Rejected share per job"]["encoding"]["y"]["field"] == "invalid_share"
    assert specs["Items at each audit"]["encoding"]["y"]["field"] == "total_items"
    before = at.subheader[0].value
    other = next(s for s in summary.sources if s not in before)
    at.selectbox(key="sources_pick").set_value(other).run()
    assert at.subheader[0].value.startswith(f"{other}:")


def test_flags_show_state_and_first_seen(seeded: Console, open_page: OpenPage) -> None:
    summary = seeded.summary
    assert summary is not None
    at = open_page("sources")
    texts = [m.value for m in at.markdown]
    assert sum(t == ":red[**open**]" for t in texts) == summary.open_flags
    assert any(t.startswith("**acknowledged**") for t in texts)
    assert any(t.startswith("**muted** until") for t in texts)
    assert any("first seen" in c.value for c in at.caption)


@pytest.mark.usefixtures("seeded")
def test_read_only_and_signed_out_show_no_flag_buttons(open_page: OpenPage) -> None:
    assert not labels(open_page("sources")) & ACTION_LABELS
    signed_out = open_page("sources", secrets=OIDC, user={"is_logged_in": False})
    assert not labels(signed_out) & ACTION_LABELS


@pytest.mark.usefixtures("seeded", "local_operator")
def test_a_local_operator_can_ack_and_mute(open_page: OpenPage) -> None:
    at = open_page("sources")
    assert {"Acknowledge", "Mute…"} <= labels(at)


@pytest.mark.usefixtures("console_env")
def test_no_sources_says_what_to_do(open_page: OpenPage) -> None:
    at = open_page("sources")
    assert any("No sources yet" in i.value for i in at.info)

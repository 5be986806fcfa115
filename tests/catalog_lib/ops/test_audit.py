"""The catalog audit: every flag at its threshold and just below, baselines, history, ack/mute."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from catalog_lib.adapters.postgres import connect
from catalog_lib.core.errors import FlagNotFoundError
from catalog_lib.models.audit import FlagState
from catalog_lib.ops.audit import run_audit, set_flag_state
from catalog_lib.ops.reports import list_flag_history
from catalog_lib.rules.audit_flags import AuditThresholds, SourceStats, evaluate_flags

T = AuditThresholds()


def _labels(stats: SourceStats, thresholds: AuditThresholds = T) -> list[str]:
    return [f.label for f in evaluate_flags(stats, thresholds)]


def test_upstream_flags_in_upstream_order() -> None:
    stats = SourceStats(
        source="trailco",
        total_items=10,
        median_price=12.5,
        null_counts={"price": 4, "images": 10},
        decimal_bug_count=2,
        bad_weight_count=1,
        empty_name_count=3,
        days_stale=31,
    )
    assert _labels(stats) == [
        "decimal_bug (2)",
        "low_median ($12.50)",
        "high_null:price (40%)",
        "high_null:images (100%)",
        "bad_weight (1)",
        "empty_name (3)",
        "stale (31d)",
    ]


@pytest.mark.parametrize(
    ("nulls", "flagged"),
    [pytest.param(30, False, id="exactly-30pct"), pytest.param(31, True, id="31pct")],
)
def test_high_null_is_strictly_above_30_percent(nulls: int, flagged: bool) -> None:
    stats = SourceStats(source="s", total_items=100, null_counts={"brand": nulls})
    assert _labels(stats) == (["high_null:brand (31%)"] if flagged else [])


@pytest.mark.parametrize(
    ("days", "flagged"), [pytest.param(30, False, id="30d"), pytest.param(31, True, id="31d")]
)
def test_stale_after_more_than_30_days(days: int, flagged: bool) -> None:
    assert _labels(SourceStats(source="s", days_stale=days)) == (["stale (31d)"] if flagged else [])


def test_source_without_completed_job_is_never_stale() -> None:
    assert _labels(SourceStats(source="s", days_stale=None)) == []


@pytest.mark.parametrize(
    ("median", "source", "labels"),
    [
        pytest.param(20.0, "trailco", [], id="at-threshold"),
        pytest.param(19.994, "trailco", ["low_median ($19.99)"], id="just-below"),
        pytest.param(5.0, "kelty", [], id="allowlisted"),
    ],
)
def test_low_median(median: float, source: str, labels: list[str]) -> None:
    assert _labels(SourceStats(source=source, median_price=median)) == labels


def test_low_median_allowlist_is_configurable() -> None:
    thresholds = replace(T, low_price_allowlist=frozenset({"trailco"}))
    assert _labels(SourceStats(source="trailco", median_price=5.0), thresholds) == []
    assert _labels(SourceStats(source="kelty", median_price=5.0), thresholds) == [
        "low_median ($5.00)"
    ]


@pytest.mark.parametrize(
    ("previous", "last", "labels"),
    [
        pytest.param(100, 50, ["row_drop (50%)"], id="drop-at-threshold"),
        pytest.param(100, 51, [], id="drop-just-below"),
        pytest.param(None, 1, [], id="no-previous-job"),
    ],
)
def test_row_drop(previous: int | None, last: int, labels: list[str]) -> None:
    stats = SourceStats(source="s", previous_valid=previous, last_valid=last)
    assert _labels(stats) == labels


@pytest.mark.parametrize(
    ("last_invalid", "labels"),
    [
        pytest.param(15, ["invalid_spike (15%)"], id="plus-10-points"),
        pytest.param(14, [], id="plus-9-points"),
    ],
)
def test_invalid_spike(last_invalid: int, labels: list[str]) -> None:
    stats = SourceStats(
        source="s",
        last_processed=100,
        last_invalid=last_invalid,
        last_valid=100 - last_invalid,
        previous_processed=100,
        previous_invalid=5,
        previous_valid=95,
    )
    assert _labels(stats) == labels


@pytest.mark.parametrize(
    ("delta", "labels"),
    [pytest.param(-2, ["reconcile_mismatch"], id="delta"), pytest.param(0, [], id="no-delta")],
)
def test_reconcile_mismatch(delta: int, labels: list[str]) -> None:
    assert _labels(SourceStats(source="s", last_reconcile_delta=delta)) == labels


def test_an_unverified_count_is_flagged_as_a_reconcile_mismatch() -> None:
    stats = SourceStats(source="s", last_reconcile_delta=None, last_unverified=True)
    assert _labels(stats) == ["reconcile_mismatch (unverified)"]


def test_thresholds_are_returned_as_json() -> None:
    document = T.to_json()
    assert document["decimal_bug_price_threshold"] == 10
    assert document["low_median_price_threshold"] == 20
    assert document["min_fill_rate"] == 0.7
    assert document["stale_days_threshold"] == 30
    assert (document["weight_too_light_grams"], document["weight_too_heavy_grams"]) == (1, 100000)
    assert "kelty" in document["low_price_allowlist"]


class Catalog:
    """Crafted catalogs written straight into the tables the audit reads."""

    def __init__(self, db_url: str) -> None:
        self.db_url = db_url
        self.n = 0

    def job(
        self,
        source: str,
        *,
        valid: int = 10,
        invalid: int = 0,
        delta: int | None = 0,
        completed_days_ago: float = 0,
    ) -> uuid.UUID:
        job_id = uuid.uuid4()
        completed = datetime.now(UTC) - timedelta(days=completed_days_ago)
        with connect(self.db_url) as conn:
            conn.execute(
                "INSERT INTO etl_jobs (id, status, source, filename, object_key, "
                "scraper_revision, ingest_key, created_at, completed_at, total_processed, "
                "total_valid, total_invalid, reconcile_delta) VALUES (%s, 'completed', %s, "
                "'f.csv', %s, 't', %s, %s, %s, %s, %s, %s, %s)",
                (
                    job_id,
                    source,
                    f"{source}/{job_id}.csv",
                    str(job_id),
                    completed - timedelta(minutes=5),
                    completed,
                    valid + invalid,
                    valid,
                    invalid,
                    delta,
                ),
            )
            conn.commit()
        return job_id

    def item(self, job_id: uuid.UUID, **fields: Any) -> None:
        self.n += 1
        row = {
            "name": f"Item {self.n}",
            "product_url": f"https://shop.example.com/{self.n}",
            "sku": f"SKU-{self.n}",
            "brand": "TrailCo",
            "description": "A thing",
            "weight": 500,
            "images": '["https://img.example.com/1.jpg"]',
            "price": Decimal("49.95"),
            "availability": "in_stock",
            **fields,
        }
        columns = ", ".join(row)
        values = ", ".join(["%s"] * len(row))
        with connect(self.db_url) as conn:
            item = conn.execute(
                f"INSERT INTO catalog_items ({columns}, source_version) VALUES ({values}, now()) "
                "RETURNING id",
                tuple(row.values()),
            ).fetchone()
            assert item is not None
            conn.execute(
                "INSERT INTO catalog_item_etl_jobs (catalog_item_id, etl_job_id) VALUES (%s, %s)",
                (item["id"], job_id),
            )
            conn.commit()

    def audit(self, source: str | None = None, thresholds: AuditThresholds = T) -> dict[str, Any]:
        report = run_audit(self.db_url, thresholds, source=source).to_json()
        return {s["source"]: s for s in report["sources"]}


@pytest.fixture
def catalog(db_url: str) -> Catalog:
    return Catalog(db_url)


@pytest.mark.postgres
def test_decimal_bug_counts_three_decimals_as_stored(catalog: Catalog) -> None:
    job = catalog.job("trailco")
    for price in ("1.299", "1.500", "4.5", "9.99", "12.999", "10.000", "0.125", "3"):
        catalog.item(job, price=Decimal(price))
    report = catalog.audit()["trailco"]
    # 1.299, 1.500 and 0.125 have exactly three decimals below 10; 12.999 and 10.000 are not
    # below the threshold; 4.5, 9.99 and 3 are ordinary prices.
    assert report["suspicious_decimal_count"] == 3
    assert report["flags"][0] == "decimal_bug (3)"


@pytest.mark.postgres
def test_decimal_bug_survives_the_ingest_path(db_url: str, tmp_path: Any) -> None:
    from tests.factories import catalog_row, ingest_file, local_runtime, to_csv

    rt = local_runtime(db_url, tmp_path / "landing")
    rows = [catalog_row(1, price="1.299"), catalog_row(2, price="4.5"), catalog_row(3)]
    ingest_file(rt, "a.csv", to_csv([*rows, catalog_row(4, price="9.99")]))
    report = Catalog(db_url).audit()["trailco"]
    assert report["suspicious_decimal_count"] == 1
    assert "decimal_bug (1)" in report["flags"]


@pytest.mark.postgres
def test_item_level_flags_at_and_below_threshold(catalog: Catalog) -> None:
    over = catalog.job("over")  # 10 items: 4 without brand (40 %), bad weights, empty name
    for i in range(10):
        catalog.item(
            over,
            brand="" if i < 4 else "B",
            weight=0.5 if i == 0 else (100_001 if i == 1 else 100_000),
            name="" if i == 2 else f"n{i}",
            images="[]" if i < 3 else '["x"]',
        )
    under = catalog.job("under")  # exactly 30 % missing: not flagged
    for i in range(10):
        catalog.item(under, brand=None if i < 3 else "B", description="" if i < 3 else "d")
    report = catalog.audit()
    assert report["over"]["flags"] == [
        "high_null:brand (40%)",
        "bad_weight (2)",
        "empty_name (1)",
    ]
    assert report["over"]["null_rates"]["images"] == pytest.approx(0.3)
    assert report["under"]["flags"] == []
    assert report["under"]["null_rates"]["brand"] == pytest.approx(0.3)


@pytest.mark.postgres
def test_stats_median_min_max_and_staleness(catalog: Catalog) -> None:
    job = catalog.job("cheap", completed_days_ago=31.5)
    for price in ("0", "5", "15", "25"):
        catalog.item(job, price=Decimal(price))
    fresh = catalog.job("fresh", completed_days_ago=30.5)
    catalog.item(fresh)
    report = catalog.audit()
    cheap = report["cheap"]
    assert (cheap["median_price"], cheap["min_price"], cheap["max_price"]) == (10.0, 5.0, 25.0)
    assert cheap["flags"] == ["low_median ($10.00)", "stale (31d)"]
    assert cheap["last_job_id"] == str(job)
    assert cheap["days_stale"] == 31
    assert report["fresh"]["days_stale"] == 30
    assert report["fresh"]["flags"] == []


@pytest.mark.postgres
def test_items_belong_to_the_source_of_their_latest_job(catalog: Catalog) -> None:
    old = catalog.job("alpha", completed_days_ago=2)
    catalog.item(old, sku="SHARED")
    with connect(catalog.db_url) as conn:
        item = conn.execute("SELECT id FROM catalog_items WHERE sku = 'SHARED'").fetchone()
        new = catalog.job("beta")
        conn.execute(
            "INSERT INTO catalog_item_etl_jobs (catalog_item_id, etl_job_id, created_at) "
            "VALUES (%s, %s, now() + interval '1 second')",
            (item["id"] if item else None, new),
        )
        conn.commit()
    report = catalog.audit()
    assert report["beta"]["total_items"] == 1
    assert report["alpha"]["total_items"] == 0  # still listed: it has a completed job
    assert list(catalog.audit(source="alpha")) == ["alpha"]


@pytest.mark.postgres
def test_baseline_flags_fire_on_a_crafted_history(catalog: Catalog) -> None:
    catalog.job("dropper", valid=1000, invalid=0, completed_days_ago=2)
    catalog.job("dropper", valid=400, invalid=0, completed_days_ago=1)
    catalog.job("steady", valid=1000, invalid=50, completed_days_ago=2)
    catalog.job("steady", valid=501, invalid=49, completed_days_ago=1)  # -49.9 %: not a drop
    catalog.job("spiky", valid=95, invalid=5, completed_days_ago=2)
    catalog.job("spiky", valid=70, invalid=30, completed_days_ago=1)
    catalog.job("mismatch", valid=10, delta=3)
    report = catalog.audit()
    assert report["dropper"]["flags"] == ["row_drop (60%)"]
    assert report["steady"]["flags"] == []
    assert report["spiky"]["flags"] == ["invalid_spike (30%)"]  # valid rows fell 26 %: no drop
    assert report["mismatch"]["flags"] == ["reconcile_mismatch"]
    assert report["mismatch"]["flag_details"][0]["value"] == 3


@pytest.mark.postgres
def test_snapshots_keep_history_and_first_seen(catalog: Catalog) -> None:
    _decimal_bug_source(catalog)
    first = catalog.audit()["trailco"]["flag_details"][0]
    second = catalog.audit()["trailco"]["flag_details"][0]
    assert second["id"] != first["id"]
    assert second["first_seen_at"] == first["first_seen_at"]
    with connect(catalog.db_url) as conn:
        snapshots = conn.execute(
            "SELECT count(*) AS n FROM audit_snapshots WHERE source = 'trailco'"
        ).fetchone()
        runs = conn.execute(
            "SELECT status, result FROM maintenance_runs WHERE kind = 'audit' ORDER BY id"
        ).fetchall()
        history = list_flag_history(conn, source="trailco")
    assert snapshots is not None
    assert snapshots["n"] == 2
    assert [r["status"] for r in runs] == ["succeeded", "succeeded"]
    assert runs[-1]["result"] == {"sources": 1, "flags": 1, "open_flags": 1}
    assert [h.flag.label for h in history] == ["decimal_bug (1)", "decimal_bug (1)"]
    assert history[0].generated_at > history[1].generated_at
    # A flag that disappears and comes back is seen afresh.
    with connect(catalog.db_url) as conn:
        conn.execute("UPDATE catalog_items SET price = 1.29 WHERE price = 1.299")
        conn.commit()
    assert catalog.audit()["trailco"]["flags"] == []
    with connect(catalog.db_url) as conn:
        conn.execute("UPDATE catalog_items SET price = 1.299 WHERE price = 1.29")
        conn.commit()
    again = catalog.audit()["trailco"]["flag_details"][0]
    assert again["first_seen_at"] > first["first_seen_at"]


def _decimal_bug_source(catalog: Catalog) -> None:
    """Source `trailco` whose only flag is `decimal_bug (1)`."""
    job = catalog.job("trailco")
    catalog.item(job, price=Decimal("1.299"))
    catalog.item(job)
    catalog.item(job)


def _actions(db_url: str) -> list[dict[str, Any]]:
    with connect(db_url) as conn:
        return conn.execute("SELECT * FROM operator_actions ORDER BY id").fetchall()


@pytest.mark.postgres
def test_ack_persists_across_audits_and_is_recorded(catalog: Catalog) -> None:
    _decimal_bug_source(catalog)
    flag = catalog.audit()["trailco"]["flag_details"][0]
    change = set_flag_state(catalog.db_url, flag["id"], reason="known upstream", actor="ana")
    assert (change.flag.state, change.flag.state_reason, change.action) == (
        "acknowledged",
        "known upstream",
        "audit.ack",
    )
    later = catalog.audit()["trailco"]["flag_details"][0]
    assert (later["state"], later["state_reason"]) == ("acknowledged", "known upstream")
    (action,) = _actions(catalog.db_url)
    assert (action["actor"], action["action"], action["target_flag_id"], action["reason"]) == (
        "ana",
        "audit.ack",
        flag["id"],
        "known upstream",
    )
    assert action["outcome"] == "succeeded"
    assert action["finished_at"] is not None


@pytest.mark.postgres
def test_mute_lasts_until_it_expires(catalog: Catalog) -> None:
    _decimal_bug_source(catalog)
    flag = catalog.audit()["trailco"]["flag_details"][0]
    change = set_flag_state(
        catalog.db_url, flag["id"], reason="vendor fix", actor="bo", mute_days=3
    )
    assert change.flag.state is FlagState.MUTED
    assert change.action == "audit.mute"
    assert change.flag.muted_until is not None
    assert catalog.audit()["trailco"]["flag_details"][0]["state"] == "muted"
    with connect(catalog.db_url) as conn:
        conn.execute("UPDATE audit_flags SET muted_until = now() - interval '1 minute'")
        conn.commit()
    assert catalog.audit()["trailco"]["flag_details"][0]["state"] == "open"
    assert _actions(catalog.db_url)[0]["parameters"] == {"mute_days": 3}


@pytest.mark.postgres
def test_ack_of_an_unknown_flag_is_refused_and_recorded(db_url: str) -> None:
    with pytest.raises(FlagNotFoundError):
        set_flag_state(db_url, 424242, reason="typo", actor="ana")
    (action,) = _actions(db_url)
    assert (action["outcome"], action["code"], action["target_flag_id"]) == (
        "refused",
        "FLAG_NOT_FOUND",
        424242,
    )

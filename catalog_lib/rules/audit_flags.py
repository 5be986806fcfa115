"""Catalog data-quality audit rules: per-source values and thresholds in, flags out (pure).

The upstream flags (domain-spec §5.11) keep their exact strings, order and strict thresholds;
`decimal_bug` is defined on the stored `numeric` (prices under the threshold with exactly three
decimals, e.g. `1.299` or `1.500`). Baseline flags compare a source's latest completed job with
its previous one. The database side lives in `catalog_lib.ops.audit`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum
from typing import Any

DEFAULT_LOW_PRICE_ALLOWLIST = frozenset(
    {"3vgear", "bioliteenergy", "farmtofeet", "kelty", "darntough"}
)
NULL_FIELDS = ("price", "brand", "description", "weight", "images", "availability")


class FlagCode(StrEnum):
    """The kinds of audit flag, in the order they are raised."""

    DECIMAL_BUG = "decimal_bug"
    LOW_MEDIAN = "low_median"
    HIGH_NULL = "high_null"
    BAD_WEIGHT = "bad_weight"
    EMPTY_NAME = "empty_name"
    STALE = "stale"
    ROW_DROP = "row_drop"
    INVALID_SPIKE = "invalid_spike"
    RECONCILE_MISMATCH = "reconcile_mismatch"


@dataclass(frozen=True)
class AuditThresholds:
    """Every threshold of the audit; returned with each report."""

    decimal_bug_price_threshold: Decimal = Decimal(10)
    low_median_price_threshold: Decimal = Decimal(20)
    min_fill_rate: Decimal = Decimal("0.7")
    stale_days_threshold: int = 30
    weight_too_light_grams: Decimal = Decimal(1)
    weight_too_heavy_grams: Decimal = Decimal(100_000)
    row_drop_pct: Decimal = Decimal(50)
    invalid_spike_points: Decimal = Decimal(10)
    low_price_allowlist: frozenset[str] = field(default=DEFAULT_LOW_PRICE_ALLOWLIST)

    def to_json(self) -> dict[str, Any]:
        """The thresholds as JSON values (numbers, a sorted allowlist)."""
        document = asdict(self)
        document["low_price_allowlist"] = sorted(self.low_price_allowlist)
        return {k: float(v) if isinstance(v, Decimal) else v for k, v in document.items()}


@dataclass(frozen=True)
class SourceStats:
    """What the audit query measured for one source."""

    source: str
    total_items: int = 0
    median_price: float | None = None
    min_price: Decimal | None = None
    max_price: Decimal | None = None
    null_counts: dict[str, int] = field(default_factory=dict)
    decimal_bug_count: int = 0
    bad_weight_count: int = 0
    empty_name_count: int = 0
    last_job_id: str | None = None
    last_completed_at: datetime | None = None
    days_stale: int | None = None
    last_valid: int | None = None
    last_processed: int | None = None
    last_invalid: int | None = None
    last_reconcile_delta: int | None = None
    last_unverified: bool = False
    previous_job_id: str | None = None
    previous_valid: int | None = None
    previous_processed: int | None = None
    previous_invalid: int | None = None

    def null_rates(self) -> dict[str, float]:
        """Share of items missing each field (0 when the source has no items)."""
        total = self.total_items
        return {f: (self.null_counts.get(f, 0) / total if total else 0.0) for f in NULL_FIELDS}


@dataclass(frozen=True)
class Flag:
    """One audit finding: its code, the field it concerns, its label and measured value."""

    code: FlagCode
    label: str
    value: Decimal | None = None
    field: str | None = None


def _pct(part: Decimal) -> int:
    return int((part * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def evaluate_flags(stats: SourceStats, thresholds: AuditThresholds) -> list[Flag]:
    """All flags of one source, upstream flags first in upstream order, then baselines."""
    flags: list[Flag] = []
    if stats.decimal_bug_count > 0:
        n = stats.decimal_bug_count
        flags.append(Flag(FlagCode.DECIMAL_BUG, f"decimal_bug ({n})", Decimal(n)))
    if (
        stats.median_price is not None
        and Decimal(str(stats.median_price)) < thresholds.low_median_price_threshold
        and stats.source not in thresholds.low_price_allowlist
    ):
        median = Decimal(str(stats.median_price)).quantize(Decimal("0.01"), ROUND_HALF_UP)
        flags.append(Flag(FlagCode.LOW_MEDIAN, f"low_median (${median})", median))
    flags.extend(_high_null_flags(stats, thresholds))
    if stats.bad_weight_count > 0:
        n = stats.bad_weight_count
        flags.append(Flag(FlagCode.BAD_WEIGHT, f"bad_weight ({n})", Decimal(n)))
    if stats.empty_name_count > 0:
        n = stats.empty_name_count
        flags.append(Flag(FlagCode.EMPTY_NAME, f"empty_name ({n})", Decimal(n)))
    if stats.days_stale is not None and stats.days_stale > thresholds.stale_days_threshold:
        d = stats.days_stale
        flags.append(Flag(FlagCode.STALE, f"stale ({d}d)", Decimal(d)))
    flags.extend(baseline_flags(stats, thresholds))
    return flags


def _high_null_flags(stats: SourceStats, thresholds: AuditThresholds) -> list[Flag]:
    if not stats.total_items:
        return []
    limit = 1 - thresholds.min_fill_rate
    flags = []
    for name in NULL_FIELDS:
        # Exact arithmetic: at exactly 30 % nothing is flagged (float 1 - 0.7 is not 0.3).
        rate = Decimal(stats.null_counts.get(name, 0)) / Decimal(stats.total_items)
        if rate > limit:
            flags.append(
                Flag(FlagCode.HIGH_NULL, f"high_null:{name} ({_pct(rate)}%)", rate, field=name)
            )
    return flags


def baseline_flags(stats: SourceStats, thresholds: AuditThresholds) -> list[Flag]:
    """Flags against the source's own history: row drop, invalid-share spike, reconcile delta.

    `row_drop` fires when the latest completed job has at least `row_drop_pct` % fewer valid
    rows than the previous one; `invalid_spike` when its invalid share is at least
    `invalid_spike_points` percentage points above the previous job's; `reconcile_mismatch`
    when the latest job's reconcile delta is not 0 or its count is unverified (no value).
    """
    flags: list[Flag] = []
    if stats.last_valid is not None and stats.previous_valid:
        drop = Decimal(stats.previous_valid - stats.last_valid) / Decimal(stats.previous_valid)
        if drop * 100 >= thresholds.row_drop_pct:
            flags.append(Flag(FlagCode.ROW_DROP, f"row_drop ({_pct(drop)}%)", drop))
    last_share = _invalid_share(stats.last_invalid, stats.last_processed)
    previous_share = _invalid_share(stats.previous_invalid, stats.previous_processed)
    if (
        last_share is not None
        and previous_share is not None
        and (last_share - previous_share) * 100 >= thresholds.invalid_spike_points
    ):
        flags.append(
            Flag(FlagCode.INVALID_SPIKE, f"invalid_spike ({_pct(last_share)}%)", last_share)
        )
    if stats.last_reconcile_delta:
        delta = stats.last_reconcile_delta
        flags.append(Flag(FlagCode.RECONCILE_MISMATCH, "reconcile_mismatch", Decimal(delta)))
    elif stats.last_unverified:
        flags.append(Flag(FlagCode.RECONCILE_MISMATCH, "reconcile_mismatch (unverified)"))
    return flags


def _invalid_share(invalid: int | None, processed: int | None) -> Decimal | None:
    if invalid is None or not processed:
        return None
    return Decimal(invalid) / Decimal(processed)

-- One source's audit snapshots since a time, oldest first: item count and staleness.
SELECT generated_at, total_items, days_stale, median_price
FROM audit_snapshots
WHERE source = %(source)s AND generated_at >= %(since)s
ORDER BY generated_at

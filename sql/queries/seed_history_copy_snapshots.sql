-- Seeded history (catalog_lib/demo/history.py): bulk-load generated rows of audit_snapshots.
COPY audit_snapshots (
    id, generated_at, source, total_items, median_price, min_price, max_price, null_rates,
    last_job_id, last_completed_at, days_stale, thresholds, report
) FROM STDIN

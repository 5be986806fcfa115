-- Store one source's audit result (the flags follow in audit_insert_flag).
INSERT INTO audit_snapshots (
    generated_at, source, total_items, median_price, min_price, max_price, null_rates,
    last_job_id, last_completed_at, days_stale, thresholds, report
) VALUES (
    %(generated_at)s, %(source)s, %(total_items)s, %(median_price)s, %(min_price)s,
    %(max_price)s, %(null_rates)s, %(last_job_id)s, %(last_completed_at)s, %(days_stale)s,
    %(thresholds)s, %(report)s
)
RETURNING id

-- One row per source: its newest file, last success, freshness, catalog items (as its latest
-- audit snapshot counted them: a live count scans the whole catalog, seconds at 1M items),
-- share of rejected rows in the last successful job, failures in 7 days, and the open audit
-- flags of its latest snapshot (with the earliest first-seen time among them).
WITH t AS (
    SELECT coalesce(%(now)s::timestamptz, now()) AS now
), per_source AS (
    SELECT source,
        count(*) AS jobs,
        max(completed_at) FILTER (WHERE status = 'completed') AS last_success_at,
        count(*) FILTER (WHERE status = 'failed'
            AND created_at >= (SELECT now FROM t) - interval '7 days') AS failed_7d
    FROM etl_jobs
    GROUP BY source
), last_file AS (
    SELECT DISTINCT ON (source) source, filename, created_at, status::text AS status
    FROM etl_jobs
    ORDER BY source, created_at DESC, id
), last_ok AS (
    SELECT DISTINCT ON (source) source, total_processed, total_invalid
    FROM etl_jobs
    WHERE status = 'completed'
    ORDER BY source, completed_at DESC, id
), latest_snapshot AS (
    SELECT DISTINCT ON (source) id, source, total_items, generated_at
    FROM audit_snapshots
    ORDER BY source, generated_at DESC, id DESC
), flags AS (
    SELECT f.source, count(*) AS open_flags, min(f.first_seen_at) AS open_since
    FROM audit_flags f
    JOIN latest_snapshot s ON s.id = f.snapshot_id, t
    WHERE f.state = 'open' OR (f.state = 'muted' AND f.muted_until <= t.now)
    GROUP BY f.source
)
SELECT p.source, p.jobs, p.failed_7d, p.last_success_at,
    lf.filename AS last_file, lf.created_at AS last_seen_at, lf.status AS last_status,
    extract(epoch FROM t.now - p.last_success_at) / 3600.0 AS freshness_hours,
    (p.last_success_at IS NULL
        OR p.last_success_at < t.now - make_interval(days => %(stale_days)s)) AS stale,
    ls.total_items AS items, ls.generated_at AS items_counted_at,
    CASE WHEN lo.total_processed > 0
        THEN lo.total_invalid::float8 / lo.total_processed END AS invalid_share,
    coalesce(fl.open_flags, 0) AS open_flags, fl.open_since
FROM per_source p
CROSS JOIN t
JOIN last_file lf ON lf.source = p.source
LEFT JOIN last_ok lo ON lo.source = p.source
LEFT JOIN latest_snapshot ls ON ls.source = p.source
LEFT JOIN flags fl ON fl.source = p.source
ORDER BY p.source

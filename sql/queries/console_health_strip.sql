-- The Health page's status strip at `now` (default: the database clock): jobs running and
-- waiting, jobs failed and rows rejected in the last 24 h, sources without a successful
-- ingest for `stale_days`, and open audit flags (of each source's latest snapshot; a mute
-- that has run out counts as open again).
WITH t AS (
    SELECT coalesce(%(now)s::timestamptz, now()) AS now
), recent AS (
    SELECT count(*) FILTER (WHERE status = 'failed') AS failed_24h,
        coalesce(sum(total_invalid), 0) AS rejected_rows_24h
    FROM etl_jobs, t
    WHERE created_at >= t.now - interval '24 hours' AND created_at <= t.now
), live AS (
    SELECT count(*) FILTER (WHERE status = 'running') AS running_now,
        count(*) FILTER (WHERE status = 'pending') AS pending_now
    FROM etl_jobs
    WHERE status IN ('pending', 'running')
), sources AS (
    SELECT source, max(completed_at) FILTER (WHERE status = 'completed') AS last_ok
    FROM etl_jobs
    GROUP BY source
), latest_snapshot AS (
    SELECT DISTINCT ON (source) id
    FROM audit_snapshots
    ORDER BY source, generated_at DESC, id DESC
)
SELECT live.running_now, live.pending_now, recent.failed_24h, recent.rejected_rows_24h,
    (SELECT count(*) FROM sources, t
        WHERE last_ok IS NULL OR last_ok < t.now - make_interval(days => %(stale_days)s))
        AS stale_sources,
    (SELECT count(*) FROM audit_flags f JOIN latest_snapshot s ON s.id = f.snapshot_id, t
        WHERE f.state = 'open' OR (f.state = 'muted' AND f.muted_until <= t.now))
        AS open_flags
FROM live, recent

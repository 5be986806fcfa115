-- Jobs created in [since, until) per time bucket and state: how many, their rows, and the
-- p50 / p95 of their run time in seconds (jobs still running have none).
SELECT date_bin(%(bucket)s::interval, created_at, timestamptz '2000-01-01') AS bucket,
    status::text AS status,
    count(*) AS jobs,
    coalesce(sum(total_processed), 0) AS rows_processed,
    coalesce(sum(total_valid), 0) AS rows_valid,
    coalesce(sum(total_invalid), 0) AS rows_invalid,
    percentile_cont(0.5) WITHIN GROUP (
        ORDER BY extract(epoch FROM completed_at - started_at)) AS p50_s,
    percentile_cont(0.95) WITHIN GROUP (
        ORDER BY extract(epoch FROM completed_at - started_at)) AS p95_s
FROM etl_jobs
WHERE created_at >= %(since)s AND created_at < %(until)s
GROUP BY 1, 2
ORDER BY 1, 2

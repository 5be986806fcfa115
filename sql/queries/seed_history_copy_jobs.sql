-- Seeded history (catalog_lib/demo/history.py): bulk-load generated rows of etl_jobs.
COPY etl_jobs (
    id, status, source, filename, object_key, scraper_revision, ingest_key, mode, created_at,
    started_at, completed_at, chunk_size, chunks_total, apply_partitions, total_processed,
    total_valid, total_invalid, items_upserted, flow_run_id, source_etag,
    source_last_modified, source_size, verified_at, verified_row_count, reconcile_delta,
    error_kind, error_message, supersedes_job_id
) FROM STDIN

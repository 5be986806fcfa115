-- Seeded history (catalog_lib/demo/history.py): bulk-load generated rows of maintenance_runs.
COPY maintenance_runs (
    kind, started_at, finished_at, duration_ms, status, parameters, result, error_message
) FROM STDIN

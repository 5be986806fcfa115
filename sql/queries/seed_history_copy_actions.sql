-- Seeded history (catalog_lib/demo/history.py): bulk-load generated rows of operator_actions.
COPY operator_actions (
    actor, action, target_job_id, target_flag_id, reason, parameters, result_job_id,
    flow_run_id, outcome, code, message, created_at, finished_at
) FROM STDIN

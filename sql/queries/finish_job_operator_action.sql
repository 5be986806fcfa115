-- Give a started operator action its final outcome, once: a final outcome is never rewritten.
UPDATE operator_actions
SET outcome = %(outcome)s,
    code = %(code)s,
    message = %(message)s,
    result_job_id = coalesce(%(result_job_id)s, result_job_id),
    flow_run_id = coalesce(%(flow_run_id)s, flow_run_id),
    finished_at = clock_timestamp()
WHERE id = %(id)s AND outcome = 'started'
RETURNING id, created_at, finished_at

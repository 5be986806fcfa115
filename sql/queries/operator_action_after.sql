-- The first action by this actor on this job recorded after a mark (what a UI request caused).
SELECT id, actor, action, target_job_id, result_job_id, flow_run_id, reason, parameters,
    outcome, code, message, created_at, finished_at
FROM operator_actions
WHERE target_job_id = %(job_id)s AND actor = %(actor)s AND id > %(after_id)s
ORDER BY id
LIMIT 1

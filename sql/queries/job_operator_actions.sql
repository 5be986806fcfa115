-- Operator actions on a job or that created it, oldest first (the job's audit trail).
SELECT id, actor, action, target_job_id, result_job_id, flow_run_id, reason, parameters,
    outcome, code, message, created_at, finished_at
FROM operator_actions
WHERE target_job_id = %(job_id)s OR result_job_id = %(job_id)s
ORDER BY created_at, id

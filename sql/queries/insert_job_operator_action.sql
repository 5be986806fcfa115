-- Record one operator action on a job (retry, repair, reconcile): who, what, target, reason,
-- parameters, resulting job and flow run, outcome. A final outcome (succeeded, failed,
-- refused) is stamped finished at once; `started` is finished by finish_job_operator_action.sql.
INSERT INTO operator_actions (
    actor, action, target_job_id, reason, parameters, result_job_id, flow_run_id, outcome,
    code, message, finished_at
) VALUES (
    %(actor)s, %(action)s, %(target_job_id)s, %(reason)s, %(parameters)s, %(result_job_id)s,
    %(flow_run_id)s, %(outcome)s, %(code)s, %(message)s,
    CASE WHEN %(outcome)s = 'started' THEN NULL ELSE clock_timestamp() END
)
RETURNING id, created_at, finished_at

-- Record one operator action (who, what, target, reason, parameters, outcome).
INSERT INTO operator_actions (
    actor, action, target_job_id, target_flag_id, reason, parameters, outcome, code, message,
    finished_at
) VALUES (
    %(actor)s, %(action)s, %(target_job_id)s, %(target_flag_id)s, %(reason)s, %(parameters)s,
    %(outcome)s, %(code)s, %(message)s, CASE WHEN %(outcome)s <> 'started' THEN now() END
)
RETURNING id, created_at

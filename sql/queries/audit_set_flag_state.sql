-- Acknowledge or mute one flag with a reason (the operator action is recorded beside it).
UPDATE audit_flags
SET state = %(state)s,
    state_reason = %(reason)s,
    state_actor = %(actor)s,
    state_changed_at = now(),
    muted_until = %(muted_until)s
WHERE id = %(flag_id)s
RETURNING *

-- Seeded history (catalog_lib/demo/history.py): bulk-load generated rows of audit_flags.
COPY audit_flags (
    id, snapshot_id, source, code, field, label, value, first_seen_at, state, state_reason,
    state_actor, state_changed_at, muted_until
) FROM STDIN

-- The history of flags over time: one line per (source, code, field) and snapshot, newest
-- first, with when each was first seen and its state.
SELECT f.id, f.source, f.code, f.field, f.label, f.value, f.first_seen_at, f.state,
    f.state_reason, f.muted_until, s.generated_at
FROM audit_flags f
JOIN audit_snapshots s ON s.id = f.snapshot_id
WHERE (%(source)s::text IS NULL OR f.source = %(source)s)
ORDER BY s.generated_at DESC, f.id
LIMIT %(limit)s

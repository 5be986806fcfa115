-- The flags of each source's latest audit snapshot (or one source's), open ones first.
WITH latest_snapshot AS (
    SELECT DISTINCT ON (source) id, source, generated_at
    FROM audit_snapshots
    WHERE (%(source)s::text IS NULL OR source = %(source)s::text)
    ORDER BY source, generated_at DESC, id DESC
)
SELECT f.id, f.source, f.code, f.field, f.label, f.value, f.first_seen_at, f.state,
    f.state_reason, f.state_actor, f.state_changed_at, f.muted_until, s.generated_at
FROM audit_flags f
JOIN latest_snapshot s ON s.id = f.snapshot_id
ORDER BY (f.state = 'open') DESC, f.source, f.first_seen_at, f.id

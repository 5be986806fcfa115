-- Store one flag of a snapshot. When the source's previous snapshot raised the same
-- (code, field), the flag keeps that streak's first_seen_at and carries its acknowledgement
-- (or a mute that has not expired), so "first seen" and trends are queryable and an ack is
-- not lost when the audit runs again. A flag that disappears and comes back starts afresh.
WITH previous_snapshot AS (
    SELECT s.id
    FROM audit_snapshots s
    WHERE s.source = %(source)s AND s.id < %(snapshot_id)s
    ORDER BY s.id DESC
    LIMIT 1
), carried AS (
    SELECT f.first_seen_at,
        CASE
            WHEN f.state = 'acknowledged' THEN 'acknowledged'
            WHEN f.state = 'muted' AND f.muted_until > %(generated_at)s THEN 'muted'
            ELSE 'open'
        END AS state,
        f.state_reason, f.state_actor, f.state_changed_at, f.muted_until
    FROM audit_flags f
    JOIN previous_snapshot p ON p.id = f.snapshot_id
    WHERE f.code = %(code)s AND f.field IS NOT DISTINCT FROM %(field)s
    ORDER BY f.id DESC
    LIMIT 1
)
INSERT INTO audit_flags (
    snapshot_id, source, code, field, label, value, first_seen_at, state, state_reason,
    state_actor, state_changed_at, muted_until
)
SELECT %(snapshot_id)s, %(source)s, %(code)s, %(field)s, %(label)s, %(value)s,
    coalesce(c.first_seen_at, %(generated_at)s),
    coalesce(c.state, 'open'),
    CASE WHEN c.state <> 'open' THEN c.state_reason END,
    CASE WHEN c.state <> 'open' THEN c.state_actor END,
    CASE WHEN c.state <> 'open' THEN c.state_changed_at END,
    CASE WHEN c.state = 'muted' THEN c.muted_until END
FROM (SELECT 1) AS one
LEFT JOIN carried c ON true
RETURNING *

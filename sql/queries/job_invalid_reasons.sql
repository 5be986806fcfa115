-- Why a job's rows were rejected: one line per (field, reason) with its row count.
SELECT e ->> 'field' AS field, e ->> 'reason' AS reason, count(*) AS rows
FROM invalid_item_logs l
CROSS JOIN LATERAL jsonb_array_elements(l.errors) AS e
WHERE l.job_id = %(job_id)s
GROUP BY 1, 2
ORDER BY rows DESC, field, reason

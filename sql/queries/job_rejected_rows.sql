-- A job's rejected rows in file order: where they were, why, and the mapped values. `reason`
-- (optional) keeps rows with an error on that field or whose reason contains the text.
SELECT chunk_index, record_ordinal, errors, raw_data
FROM invalid_item_logs
WHERE job_id = %(job_id)s
    AND (
        %(reason)s::text IS NULL
        OR EXISTS (
            SELECT 1
            FROM jsonb_array_elements(errors) AS e
            WHERE e ->> 'field' = %(reason)s
                OR strpos(lower(e ->> 'reason'), lower(%(reason)s)) > 0
        )
    )
ORDER BY record_ordinal
LIMIT %(limit)s

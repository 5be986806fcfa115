-- Merge one SKU-hash partition of a job's staged rows across the WHOLE file: per SKU and
-- field, the value of the highest record ordinal that is non-empty wins (jsonb_object_agg
-- keeps the last value of a repeated key, and the aggregate is ordered by ordinal), so the
-- result does not depend on chunk size or on the order chunks were loaded in.
INSERT INTO _merged (sku, item)
SELECT s.sku, jsonb_object_agg(e.key, e.value ORDER BY s.record_ordinal)
FROM etl_staged_items s
CROSS JOIN LATERAL jsonb_each(s.item) AS e (key, value)
WHERE s.job_id = %(job_id)s
    AND (hashtext(s.sku) & 2147483647) %% %(partitions)s = %(partition)s
    AND e.value NOT IN ('null'::jsonb, '""'::jsonb, '[]'::jsonb, '{}'::jsonb)
GROUP BY s.sku

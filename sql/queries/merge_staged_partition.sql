-- Merge one SKU-hash partition of a job's staged rows across the WHOLE file: per SKU and
-- field, the value of the highest record ordinal wins (staged items hold no empty values, and
-- jsonb_object_agg keeps the last value of a repeated key in ordinal order), so the result
-- does not depend on chunk size or on the order chunks were loaded in. SKUs that occur once
-- (most of them) are copied as they are; only repeated SKUs pay for the per-field merge.
WITH part AS (
    SELECT s.sku, s.record_ordinal, s.item
    FROM etl_staged_items s
    WHERE s.job_id = %(job_id)s
        AND (hashtext(s.sku) & 2147483647) %% %(partitions)s = %(partition)s
), repeated AS (
    SELECT sku FROM part GROUP BY sku HAVING count(*) > 1
)
INSERT INTO _merged (sku, item)
SELECT p.sku, p.item
FROM part p
WHERE NOT EXISTS (SELECT 1 FROM repeated r WHERE r.sku = p.sku)
UNION ALL
SELECT p.sku, jsonb_object_agg(e.key, e.value ORDER BY p.record_ordinal)
FROM part p
JOIN repeated r ON r.sku = p.sku
CROSS JOIN LATERAL jsonb_each(p.item) AS e (key, value)
GROUP BY p.sku

-- A file older than the stored row may not replace it, but it may fill its weight: the stored
-- weight is the one of the newest file that had a weight, so an older file with a weight wins
-- over a stored missing weight, or over one from an even older file. Only the weight, its
-- unit and version change; the row's last job, source version and provenance stay. Runs in the
-- job's publish transaction, over its prepared items.
UPDATE catalog_items AS c
SET weight = p.weight,
    weight_unit = p.weight_unit,
    weight_source_version = %(source_version)s,
    updated_at = now()
FROM etl_prepared_items p
WHERE p.job_id = %(job_id)s
    AND c.sku = p.sku
    AND c.source_version > %(source_version)s
    AND p.weight > 0
    AND (c.weight_source_version IS NULL OR c.weight_source_version < %(source_version)s)

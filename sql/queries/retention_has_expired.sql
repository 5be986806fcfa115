-- Whether any rejected row older than the cutoff remains (index probe, not a count).
SELECT EXISTS (SELECT 1 FROM invalid_item_logs WHERE created_at < %(cutoff)s) AS remaining

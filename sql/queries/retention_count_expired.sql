-- How many rejected rows are older than the cutoff (dry run: what a sweep would delete).
SELECT count(*) AS n FROM invalid_item_logs WHERE created_at < %(cutoff)s

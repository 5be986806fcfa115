-- The values the Jobs page's source and scraper-revision filters offer.
SELECT 'source' AS kind, source AS value FROM etl_jobs GROUP BY source
UNION ALL
SELECT 'revision', scraper_revision FROM etl_jobs GROUP BY scraper_revision
ORDER BY kind, value

-- How many items the catalog holds.
SELECT count(*) AS n FROM catalog_items

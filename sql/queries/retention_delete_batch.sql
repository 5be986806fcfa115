-- Delete one bounded batch of rejected rows older than the cutoff, oldest first. The subquery
-- walks the created_at index and locks only the rows it deletes; each batch is its own short
-- transaction, so a large backlog never holds long locks.
DELETE FROM invalid_item_logs
WHERE id IN (
    SELECT id FROM invalid_item_logs
    WHERE created_at < %(cutoff)s
    ORDER BY created_at
    LIMIT %(batch_size)s
    FOR UPDATE SKIP LOCKED
)

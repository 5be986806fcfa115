-- The newest operator action's id (0 when there is none): the mark a UI polls after.
SELECT coalesce(max(id), 0) AS id FROM operator_actions

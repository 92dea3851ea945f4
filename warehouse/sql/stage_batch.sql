-- Classify each incoming row: new, same content as a stored or earlier copy, or a conflicting copy of a key.
CREATE OR REPLACE TEMP TABLE staged_batch AS
WITH incoming AS (
    SELECT * FROM incoming_batch
),

-- Only the stored rows of the batch's keys: a semi-join builds its hash table on the batch and streams
-- core.messages past it, so memory stays that of the batch however big the warehouse grows.
stored AS (
    SELECT message_key, content_hash
    FROM core.messages
    WHERE message_key IN (SELECT message_key FROM incoming)
),

ranked AS (
    SELECT
        incoming.*,
        row_number() OVER (PARTITION BY message_key ORDER BY ordinal) AS copy_number,
        first_value(content_hash) OVER (PARTITION BY message_key ORDER BY ordinal) AS first_hash
    FROM incoming
),

compared AS (
    SELECT
        ranked.*,
        stored.content_hash AS stored_hash,
        stored.message_key IS NOT NULL AS is_stored
    FROM ranked
    LEFT JOIN stored ON stored.message_key = ranked.message_key
)

SELECT
    compared.*,
    CASE
        WHEN is_stored AND content_hash = stored_hash THEN 'same'
        WHEN is_stored THEN 'conflict'
        WHEN copy_number = 1 THEN 'new'
        WHEN content_hash = first_hash THEN 'same'
        ELSE 'conflict'
    END AS status
FROM compared;

-- Classify each incoming row: new, same content as a stored or earlier copy, or a conflicting copy of a key. A
-- stored email read again from the same place (raw_ref: the same file position, the same mailbox item) is the same
-- message even when its derived text changed (a newer extractor renders its HTML otherwise): not a conflict. Chat
-- messages are edited in place, so there another text at the same place is an edit: a conflict, recorded.
CREATE OR REPLACE TEMP TABLE staged_batch AS
WITH incoming AS (
    SELECT * FROM incoming_batch
),

-- Only the stored rows of the batch's keys: a semi-join builds its hash table on the batch and streams
-- core.messages past it, so memory stays that of the batch however big the warehouse grows.
stored AS (
    SELECT message_key, content_hash, raw_ref
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
        stored.raw_ref AS stored_raw_ref,
        stored.message_key IS NOT NULL AS is_stored
    FROM ranked
    LEFT JOIN stored ON stored.message_key = ranked.message_key
)

SELECT
    compared.*,
    CASE
        WHEN is_stored AND (content_hash = stored_hash OR (channel = 'email' AND raw_ref = stored_raw_ref)) THEN 'same'
        WHEN is_stored THEN 'conflict'
        WHEN copy_number = 1 THEN 'new'
        WHEN content_hash = first_hash THEN 'same'
        ELSE 'conflict'
    END AS status
FROM compared;

-- Where email chains may have to move after a load: the keys and conversations of the emails stored or changed
-- since $1 (all emails when $1 is NULL). A stored message can only move if its conversation key is one of them.
CREATE OR REPLACE TEMP TABLE pending_conversation_keys AS
WITH changed AS (
    SELECT message_key, conversation_key
    FROM core.messages
    WHERE channel = 'email' AND ($1::TIMESTAMPTZ IS NULL OR changed_at >= $1::TIMESTAMPTZ)
)
SELECT message_key AS conversation_key FROM changed
UNION
SELECT conversation_key FROM changed;

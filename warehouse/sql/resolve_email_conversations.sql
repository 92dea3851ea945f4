-- One hop up the email chains listed in pending_conversation_keys: a message adopts the conversation of the
-- stored message its conversation key points at. The conversations messages leave are recorded and the moved
-- rows stamped, so the next build rebuilds both. Only the moved messages can be off their chain's root after
-- a hop (a message pointing at one of them was off it already, and moved too), so where they went is the next
-- hop's pending keys.
CREATE OR REPLACE TEMP TABLE conversation_moves AS
WITH children AS (
    SELECT message_key, conversation_key
    FROM core.messages
    WHERE channel = 'email'
        AND conversation_key IN (SELECT conversation_key FROM pending_conversation_keys)
),
parents AS (
    SELECT message_key, conversation_key
    FROM core.messages
    WHERE channel = 'email' AND message_key IN (SELECT conversation_key FROM children)
)
SELECT children.message_key, children.conversation_key AS old_key, parent.conversation_key AS new_key
FROM children
JOIN parents AS parent ON parent.message_key = children.conversation_key
WHERE parent.message_key <> children.message_key
    AND parent.conversation_key <> children.conversation_key;

INSERT INTO meta.conversation_changes (conversation_key, changed_at)
SELECT DISTINCT old_key, current_timestamp FROM conversation_moves;

UPDATE core.messages
SET conversation_key = moves.new_key, changed_at = current_timestamp
FROM conversation_moves AS moves
WHERE core.messages.message_key = moves.message_key;

CREATE OR REPLACE TEMP TABLE pending_conversation_keys AS
SELECT DISTINCT new_key AS conversation_key FROM conversation_moves;

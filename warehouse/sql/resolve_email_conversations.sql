-- One hop up every email chain: adopt the conversation of the stored message our conversation points at.
-- The conversations messages leave are recorded and the moved rows stamped, so the next build rebuilds both.
-- The last statement's row count (messages moved) is the result.
CREATE OR REPLACE TEMP TABLE conversation_moves AS
SELECT child.message_key, child.conversation_key AS old_key, parent.conversation_key AS new_key
FROM core.messages AS child
JOIN core.messages AS parent ON parent.message_key = child.conversation_key
WHERE child.channel = 'email'
    AND parent.channel = 'email'
    AND parent.message_key <> child.message_key
    AND parent.conversation_key <> child.conversation_key;

INSERT INTO meta.conversation_changes (conversation_key, changed_at)
SELECT DISTINCT old_key, current_timestamp FROM conversation_moves;

UPDATE core.messages
SET conversation_key = moves.new_key, changed_at = current_timestamp
FROM conversation_moves AS moves
WHERE core.messages.message_key = moves.message_key;

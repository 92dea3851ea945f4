-- One hop up every email chain: adopt the conversation of the stored message our conversation points at.
UPDATE core.messages
SET conversation_key = moves.new_key
FROM (
    SELECT child.message_key, parent.conversation_key AS new_key
    FROM core.messages AS child
    JOIN core.messages AS parent ON parent.message_key = child.conversation_key
    WHERE child.channel = 'email'
        AND parent.channel = 'email'
        AND parent.message_key <> child.message_key
        AND parent.conversation_key <> child.conversation_key
) AS moves
WHERE core.messages.message_key = moves.message_key;

-- Apply one threading step. email_components (node, root) comes from the union-find of
-- warehouse/email_threads.py over email_edges; a conversation it does not list is a component of its own. Each
-- component takes the key of its earliest email; the conversations that lose their emails are recorded and the
-- moved rows stamped, so the next build rebuilds both.
CREATE OR REPLACE TEMP TABLE email_component_keys AS
WITH labelled AS (
    SELECT starts.*, coalesce(components.root, starts.conversation_key) AS root
    FROM email_conversation_starts AS starts
    LEFT JOIN email_components AS components ON components.node = starts.conversation_key
)

SELECT
    labelled.conversation_key,
    labelled.root,
    arg_min(labelled.message_key, (labelled.sent_at, labelled.message_key)) OVER (PARTITION BY labelled.root)
        AS new_key
FROM labelled;

CREATE OR REPLACE TEMP TABLE conversation_moves AS
SELECT conversation_key AS old_key, new_key FROM email_component_keys WHERE conversation_key <> new_key;

CREATE OR REPLACE TEMP TABLE lost_conversations AS
SELECT DISTINCT old_key AS conversation_key
FROM conversation_moves
WHERE old_key NOT IN (SELECT message_key FROM pending_emails WHERE merged_now);

INSERT INTO meta.conversation_changes (conversation_key, changed_at)
SELECT conversation_key, current_timestamp AS changed_at FROM lost_conversations;

UPDATE core.messages
SET conversation_key = moves.new_key, changed_at = current_timestamp
FROM conversation_moves AS moves
WHERE core.messages.channel = 'email' AND core.messages.conversation_key = moves.old_key;

UPDATE core.email_unknown_ids
SET conversation_key = moves.new_key
FROM conversation_moves AS moves
WHERE core.email_unknown_ids.conversation_key = moves.old_key;

-- Ids whose email is now stored are no longer unknown: the stored row carries their conversation.
DELETE FROM core.email_unknown_ids WHERE message_id IN (SELECT message_key FROM pending_emails);

-- Ids first seen join the unknown ones, under their component's key.
INSERT INTO core.email_unknown_ids (message_id, conversation_key)
SELECT DISTINCT links.id, keys.new_key
FROM email_links AS links
INNER JOIN email_components AS components ON components.node = links.id
INNER JOIN (SELECT DISTINCT root, new_key FROM email_component_keys) AS keys USING (root)
WHERE links.stored_key IS NULL AND links.unknown_key IS NULL;

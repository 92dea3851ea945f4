-- Each pending email's conversation with every id it carries or names (its own Message-ID, In-Reply-To, each
-- References entry), and where that id stands: the conversation of the stored email carrying it, the one
-- core.email_unknown_ids keeps for it (an id named before, by emails already stored), or neither (first seen).
-- Both lookups build on the step's ids and stream the stored tables past them.
CREATE OR REPLACE TEMP TABLE email_links AS
WITH named AS (
    SELECT DISTINCT conversation_key, id
    FROM (
        SELECT conversation_key, message_key AS id FROM pending_emails
        UNION ALL
        SELECT conversation_key, in_reply_to FROM pending_emails WHERE in_reply_to IS NOT NULL
        UNION ALL
        SELECT conversation_key, unnest("references") AS id FROM pending_emails
    ) AS ids
),

stored AS (
    SELECT message_key AS id, conversation_key AS stored_key
    FROM core.messages
    WHERE channel = 'email' AND message_key IN (SELECT id FROM named)
),

unknown AS (
    SELECT message_id AS id, conversation_key AS unknown_key
    FROM core.email_unknown_ids
    WHERE message_id IN (SELECT id FROM named)
)

SELECT named.conversation_key, named.id, stored.stored_key, unknown.unknown_key
FROM named
LEFT JOIN stored USING (id)
LEFT JOIN unknown USING (id);

-- The edges between conversations (and ids first seen) that the links make; links inside one conversation,
-- nearly all of them once a warehouse is resolved, change nothing.
CREATE OR REPLACE TEMP TABLE email_edges AS
SELECT conversation_key, stored_key AS other FROM email_links WHERE stored_key <> conversation_key
UNION ALL
SELECT conversation_key, unknown_key FROM email_links WHERE unknown_key <> conversation_key
UNION ALL
SELECT conversation_key, id FROM email_links WHERE stored_key IS NULL AND unknown_key IS NULL;

-- The earliest stored email, by (sent_at, message_key), of every conversation the links reach: conversations
-- that join take the key of the earliest of them all.
CREATE OR REPLACE TEMP TABLE email_conversation_starts AS
SELECT conversation_key, min(sent_at) AS sent_at, arg_min(message_key, (sent_at, message_key)) AS message_key
FROM core.messages
WHERE channel = 'email'
    AND conversation_key IN (
        SELECT conversation_key FROM email_links
        UNION ALL
        SELECT stored_key FROM email_links
        UNION ALL
        SELECT unknown_key FROM email_links
    )
GROUP BY conversation_key;

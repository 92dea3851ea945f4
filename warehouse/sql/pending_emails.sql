-- The emails one threading step resolves (warehouse/email_threads.py): those stored since $since, or, with $since
-- NULL, the $step-th of $steps slices (by key hash) of every stored email. `merged_now` marks a merge's own
-- new emails: the conversations they start alone were never built, so leaving them is no change to record.
CREATE OR REPLACE TEMP TABLE pending_emails AS
SELECT message_key, conversation_key, in_reply_to, "references", $since::TIMESTAMPTZ IS NOT NULL AS merged_now
FROM core.messages
WHERE channel = 'email'
    AND ($since::TIMESTAMPTZ IS NULL OR ingested_at >= $since::TIMESTAMPTZ)
    AND hash(message_key) % $steps = $step;

-- Email conversations become the connected components of the Message-ID graph (warehouse/email_threads.py):
-- the ids stored emails name that no stored email carries, and the rule the stored keys follow. Keys set by an
-- older release follow another rule, so the next merge resolves every stored email once.
CREATE TABLE core.email_unknown_ids (
    message_id       VARCHAR NOT NULL,
    conversation_key VARCHAR NOT NULL
);
COMMENT ON TABLE core.email_unknown_ids IS 'Message ids that stored emails name in In-Reply-To or References but no stored email carries (a ticketing system''s synthetic id, a message that was never archived), with the conversation they belong to. An id''s row goes when its email is stored.';
COMMENT ON COLUMN core.email_unknown_ids.message_id IS 'The id, without angle brackets.';
COMMENT ON COLUMN core.email_unknown_ids.conversation_key IS 'The conversation of the emails that name it.';

CREATE TABLE meta.email_threading (
    rule        VARCHAR NOT NULL,
    resolved_at TIMESTAMPTZ
);
INSERT INTO meta.email_threading VALUES ('earliest_ancestor', NULL);
COMMENT ON TABLE meta.email_threading IS 'One row: the threading rule the stored emails'' conversation_key follows. A merge resolves every stored email again once when it differs from the current rule.';
COMMENT ON COLUMN meta.email_threading.rule IS 'earliest_ancestor (releases before connected components) or connected_components.';
COMMENT ON COLUMN meta.email_threading.resolved_at IS 'When every stored email was last resolved under that rule.';

COMMENT ON COLUMN core.messages.conversation_key IS 'Email: the message_key of the earliest stored email, by (sent_at, message_key), of its conversation: the emails linked by any id they carry or name in In-Reply-To and References, stored or not (no subject merging). Slack: {channel_id}:{thread_ts} for threads (parent included), else {channel_id}:main.';
COMMENT ON TABLE meta.conversation_changes IS 'Conversations that lost messages (email conversations joined into one, under the key of its earliest email): the next build rebuilds them too. Rows older than the last build''s watermark are purged by the build.';

-- Counted messages, one row per (message, vendor): human, not internal, company or vendor side, sent by as_of,
-- and attributed to a configured vendor. Latency and signals are computed per (conversation_key, vendor_id)
-- so that two vendors are never mixed. Email: a vendor's message belongs to its vendor, a company message to the
-- vendors among its recipients. Slack: only conversations measured for a vendor (marts.stg_slack_conversations)
-- count, for that vendor: the company's messages there, and the messages of that vendor's people.
CREATE OR REPLACE TEMP VIEW fresh_counted_messages AS
WITH
configured_vendors AS (
    SELECT party_id AS vendor_id
    FROM marts.parties
    WHERE kind = 'vendor'
),

eligible AS (
    SELECT
        message_key,
        conversation_key,
        channel,
        sent_at,
        side,
        vendor_id,
        coalesce(recipient_vendor_ids, []) AS recipient_vendor_ids,
        slack_channel_id
    FROM core.messages
    WHERE NOT is_automated
      AND NOT is_internal
      AND side IN ('company', 'vendor')
      AND sent_at <= getvariable('as_of')
      AND (getvariable('full_build') OR conversation_key IN (SELECT conversation_key FROM meta.build_scope))
),

vendor_side AS (
    SELECT
        e.message_key,
        e.vendor_id,
        'sender' AS attribution
    FROM eligible AS e
    INNER JOIN configured_vendors AS v ON v.vendor_id = e.vendor_id
    WHERE e.channel = 'email' AND e.side = 'vendor'
),

conversation_vendors AS (
    SELECT DISTINCT
        e.conversation_key,
        vs.vendor_id
    FROM vendor_side AS vs
    INNER JOIN eligible AS e ON e.message_key = vs.message_key
),

company_recipients AS (
    SELECT DISTINCT
        message_key,
        unnest(recipient_vendor_ids) AS vendor_id
    FROM eligible
    WHERE channel = 'email' AND side = 'company' AND len(recipient_vendor_ids) > 0
),

company_addressed AS (
    SELECT
        cr.message_key,
        cr.vendor_id,
        'recipient' AS attribution
    FROM company_recipients AS cr
    INNER JOIN configured_vendors AS v ON v.vendor_id = cr.vendor_id
),

company_unaddressed AS (
    SELECT
        e.message_key,
        cv.vendor_id,
        'conversation' AS attribution
    FROM eligible AS e
    INNER JOIN conversation_vendors AS cv ON cv.conversation_key = e.conversation_key
    WHERE e.channel = 'email' AND e.side = 'company' AND len(e.recipient_vendor_ids) = 0
),

slack_scoped AS (
    SELECT
        e.message_key,
        s.vendor_id,
        s.scope_reason AS attribution
    FROM eligible AS e
    INNER JOIN marts.stg_slack_conversations AS s ON s.channel_id = e.slack_channel_id AND s.is_measured
    WHERE e.channel = 'slack' AND (e.side = 'company' OR e.vendor_id = s.vendor_id)
),

attributed AS (
    SELECT * FROM vendor_side
    UNION ALL
    SELECT * FROM company_addressed
    UNION ALL
    SELECT * FROM company_unaddressed
    UNION ALL
    SELECT * FROM slack_scoped
),

final AS (
    SELECT
        e.message_key,
        a.vendor_id,
        e.conversation_key,
        e.channel,
        e.sent_at,
        e.side,
        a.attribution
    FROM attributed AS a
    INNER JOIN eligible AS e ON e.message_key = a.message_key
)

SELECT * FROM final;

-- A full build starts from dropped tables (transforms/reset.sql) and an empty scope; an incremental build replaces
-- the rows of the conversations in meta.build_scope.
CREATE TABLE IF NOT EXISTS marts.stg_counted_messages AS FROM fresh_counted_messages WITH NO DATA;
DELETE FROM marts.stg_counted_messages WHERE conversation_key IN (SELECT conversation_key FROM meta.build_scope);
INSERT INTO marts.stg_counted_messages BY NAME FROM fresh_counted_messages;

COMMENT ON TABLE marts.stg_counted_messages IS 'Staging: counted messages (human, not internal, side company or vendor, sent_at <= as_of) attributed to configured vendors. Grain: (message_key, vendor_id). Email: a vendor message belongs to its sender''s vendor; a company message to each vendor in recipient_vendor_ids, or, when that list is empty, to each vendor with a counted message in the same conversation. Slack: only messages of conversations measured for a vendor (marts.stg_slack_conversations) count, for that vendor: company messages, and that vendor''s own messages (another vendor''s are not counted there).';
COMMENT ON COLUMN marts.stg_counted_messages.message_key IS 'core.messages.message_key.';
COMMENT ON COLUMN marts.stg_counted_messages.vendor_id IS 'The vendor this message is attributed to (a company message addressed to two vendors has two rows).';
COMMENT ON COLUMN marts.stg_counted_messages.conversation_key IS 'core.messages.conversation_key.';
COMMENT ON COLUMN marts.stg_counted_messages.channel IS 'email or slack.';
COMMENT ON COLUMN marts.stg_counted_messages.sent_at IS 'When the message was sent (UTC).';
COMMENT ON COLUMN marts.stg_counted_messages.side IS 'company or vendor.';
COMMENT ON COLUMN marts.stg_counted_messages.attribution IS 'How vendor_id was found. Email: sender (vendor message), recipient (company message addressed to the vendor), conversation (company message without vendor recipients, in a conversation where the vendor speaks). Slack: why the conversation is measured for the vendor, as marts.stg_slack_conversations.scope_reason (listed_channel, shared_with_vendor_team, dm_with_vendor_member, group_dm_with_vendor_member).';

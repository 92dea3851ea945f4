-- Counted messages, one row per (message, vendor): human, not internal, company or vendor side, sent by as_of,
-- and attributed to a configured vendor. Latency and signals are computed per (conversation_key, vendor_id)
-- so that two vendors are never mixed. Email: a vendor's message belongs to its vendor, a company message to the
-- vendors among its recipients. Slack: only conversations measured for a vendor (staging.stg_slack_conversations)
-- count, for that vendor: the company's messages there, and the messages of that vendor's people; Teams likewise,
-- by staging.stg_teams_conversations. Unthreaded Slack messages (core conversation `{channel}:main`) and Teams
-- chats (`teams:{chat}:main`) are split into segments: a message after slack_segment_gap_hours of silence in the
-- channel's top level starts a new one, unless it comes right after a message that asked something (within the
-- awaiting lookback: an answer the next morning still answers, a chaser the next morning still chases). A segment's
-- conversation_key is `{core conversation}:{ts or id of its first message}` (the last part of its message key). Segments depend only on earlier
-- messages, so a key never changes when later messages arrive; incremental builds recompute a channel's whole top
-- level.
CREATE OR REPLACE TEMP VIEW fresh_counted_messages AS
WITH
configured_vendors AS (
    SELECT party_id AS vendor_id
    FROM marts.parties
    WHERE kind = 'vendor'
),

unthreaded AS (
    SELECT
        m.message_key,
        m.conversation_key,
        m.sent_at,
        p.side,
        coalesce(r.asks, FALSE) AS asks,
        lag(m.sent_at) OVER stream_order AS previous_sent_at,
        lag(p.side) OVER stream_order AS previous_side,
        lag(coalesce(r.asks, FALSE)) OVER stream_order AS previous_asks
    FROM core.messages AS m
    INNER JOIN staging.stg_message_parties AS p ON p.message_key = m.message_key
    LEFT JOIN staging.stg_message_requests AS r ON r.message_key = m.message_key
    WHERE m.channel IN ('slack', 'teams')
      AND m.conversation_key LIKE '%:main'
      AND NOT m.is_automated
      AND m.sent_at <= getvariable('as_of')
      AND (getvariable('full_build') OR m.conversation_key IN (SELECT conversation_key FROM meta.build_scope))
    WINDOW stream_order AS (PARTITION BY m.conversation_key ORDER BY m.sent_at, m.message_key)
),

segments AS (
    SELECT
        message_key,
        conversation_key || ':' || last_value(
            CASE
                WHEN previous_sent_at IS NULL THEN regexp_extract(message_key, '[^:]*$')
                WHEN epoch_us(sent_at) - epoch_us(previous_sent_at) < getvariable('slack_segment_gap_hours') * 3600e6
                    THEN NULL
                -- a pending request keeps the conversation open: the other side answering it (asked at 17:00,
                -- answered at 09:00), or its author chasing it the next morning ("any update?")
                WHEN previous_asks
                    AND epoch_us(sent_at) - epoch_us(previous_sent_at)
                    < getvariable('awaiting_lookback_days') * 86400e6
                    THEN NULL
                ELSE regexp_extract(message_key, '[^:]*$')
            END IGNORE NULLS
        ) OVER (PARTITION BY conversation_key ORDER BY sent_at, message_key ROWS UNBOUNDED PRECEDING)
            AS segment_key
    FROM unthreaded
),

eligible AS (
    SELECT
        m.message_key,
        coalesce(s.segment_key, m.conversation_key) AS conversation_key,
        m.conversation_key AS core_conversation_key,
        m.channel,
        m.sent_at,
        p.side,
        p.vendor_id,
        p.recipient_vendor_ids,
        m.slack_channel_id,
        CASE WHEN m.channel = 'teams' THEN regexp_extract(m.message_key, '^teams:(.*):[^:]*$', 1) END
            AS teams_container_id
    FROM core.messages AS m
    INNER JOIN staging.stg_message_parties AS p ON p.message_key = m.message_key
    LEFT JOIN segments AS s ON s.message_key = m.message_key
    WHERE NOT m.is_automated
      AND NOT p.is_internal
      AND p.side IN ('company', 'vendor')
      AND m.sent_at <= getvariable('as_of')
      AND (getvariable('full_build') OR m.conversation_key IN (SELECT conversation_key FROM meta.build_scope))
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

slack_scoped AS (
    SELECT
        e.message_key,
        s.vendor_id,
        s.scope_reason AS attribution
    FROM eligible AS e
    INNER JOIN staging.stg_slack_conversations AS s ON s.channel_id = e.slack_channel_id AND s.is_measured
    WHERE e.channel = 'slack' AND (e.side = 'company' OR e.vendor_id = s.vendor_id)
),

teams_scoped AS (
    SELECT
        e.message_key,
        t.vendor_id,
        t.scope_reason AS attribution
    FROM eligible AS e
    INNER JOIN staging.stg_teams_conversations AS t ON t.container_id = e.teams_container_id AND t.is_measured
    WHERE e.channel = 'teams' AND (e.side = 'company' OR e.vendor_id = t.vendor_id)
),

attributed AS (
    SELECT * FROM vendor_side
    UNION ALL
    SELECT * FROM company_addressed
    UNION ALL
    SELECT * FROM slack_scoped
    UNION ALL
    SELECT * FROM teams_scoped
),

final AS (
    SELECT
        e.message_key,
        a.vendor_id,
        e.conversation_key,
        e.core_conversation_key,
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
CREATE TABLE IF NOT EXISTS intermediate.int_counted_messages AS FROM fresh_counted_messages WITH NO DATA;
DELETE FROM intermediate.int_counted_messages
WHERE core_conversation_key IN (SELECT conversation_key FROM meta.build_scope);
INSERT INTO intermediate.int_counted_messages BY NAME FROM fresh_counted_messages;

COMMENT ON TABLE intermediate.int_counted_messages IS 'Staging: counted messages (human, not internal, side company or vendor, sent_at <= as_of) attributed to configured vendors. Grain: (message_key, vendor_id). Email: a vendor message belongs to its sender''s vendor; a company message to each vendor in recipient_vendor_ids, or, when that list is empty, to each vendor with a counted message in the same conversation. Slack and Teams: only messages of conversations measured for a vendor (staging.stg_slack_conversations, staging.stg_teams_conversations) count, for that vendor: company messages, and that vendor''s own messages (another vendor''s are not counted there).';
COMMENT ON COLUMN intermediate.int_counted_messages.message_key IS 'core.messages.message_key.';
COMMENT ON COLUMN intermediate.int_counted_messages.vendor_id IS 'The vendor this message is attributed to (a company message addressed to two vendors has two rows).';
COMMENT ON COLUMN intermediate.int_counted_messages.conversation_key IS 'The measured conversation: core.messages.conversation_key, except for unthreaded Slack messages and Teams chats, split into segments by [metrics] slack_segment_gap_hours of silence (unless the message follows one that asked something): {channel}:main:{ts of the segment''s first message}, teams:{chat}:main:{id of its first message}.';
COMMENT ON COLUMN intermediate.int_counted_messages.core_conversation_key IS 'core.messages.conversation_key (what incremental builds recompute as a whole: an email thread, a Slack thread, a Slack channel''s top level).';
COMMENT ON COLUMN intermediate.int_counted_messages.channel IS 'email, slack or teams.';
COMMENT ON COLUMN intermediate.int_counted_messages.sent_at IS 'When the message was sent (UTC).';
COMMENT ON COLUMN intermediate.int_counted_messages.side IS 'company or vendor.';
COMMENT ON COLUMN intermediate.int_counted_messages.attribution IS 'How vendor_id was found. Email: sender (vendor message), recipient (company message addressed to the vendor; one addressed to no vendor is internal and not counted). Slack: why the conversation is measured for the vendor, as staging.stg_slack_conversations.scope_reason (listed_channel, shared_with_vendor_team, dm_with_vendor_member, group_dm_with_vendor_member).';

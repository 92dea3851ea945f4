-- Teams conversations (chats and channels) and the vendors each one is measured for, decided here from the
-- configured identifiers (marts.party_identifiers), so that a config change applies to all history. A Teams chat
-- or channel is vendor V's when it is one of V's teams_channels, or when one of V's people wrote in it (a sender
-- of one of V's teams_tenant_ids: a chat with the vendor, or a channel shared with its tenant). Anything else is
-- stored, not measured. The container of a message (its chat or channel) is the middle of its key
-- `teams:{container}:{message id}`. Recomputed whole in both build modes: an incremental build also recomputes
-- the conversations of every container whose rows here changed.
CREATE OR REPLACE TEMP TABLE fresh_teams_conversations AS
WITH
written AS (
    SELECT
        regexp_extract(m.message_key, '^teams:(.*):[^:]*$', 1) AS container_id,
        bool_and(m.conversation_key LIKE '%:main') AS is_chat,
        list(DISTINCT p.vendor_id ORDER BY p.vendor_id) FILTER (
            WHERE p.side = 'vendor' AND NOT m.is_automated
        ) AS sender_vendor_ids
    FROM core.messages AS m
    INNER JOIN staging.stg_message_parties AS p ON p.message_key = m.message_key
    WHERE m.channel = 'teams'
      AND m.sent_at <= getvariable('as_of')
    GROUP BY ALL
),

listed AS (
    SELECT
        w.container_id,
        i.party_id AS vendor_id,
        1 AS priority,
        'listed_channel' AS scope_reason
    FROM written AS w
    INNER JOIN marts.party_identifiers AS i
        ON i.kind = 'teams_channel' AND i.identifier = lower(w.container_id)
),

with_vendor_member AS (
    SELECT
        container_id,
        unnest(sender_vendor_ids) AS vendor_id,
        2 AS priority,
        CASE WHEN is_chat THEN 'chat_with_vendor_member' ELSE 'channel_with_vendor_member' END AS scope_reason
    FROM written
),

matched AS (
    SELECT
        container_id,
        vendor_id,
        arg_min(scope_reason, priority) AS scope_reason
    FROM (
        SELECT * FROM listed
        UNION ALL
        SELECT * FROM with_vendor_member
    ) AS candidates
    -- a vendor no longer configured may still stand on old messages
    WHERE vendor_id IN (SELECT party_id FROM marts.parties WHERE kind = 'vendor')
    GROUP BY container_id, vendor_id
),

final AS (
    SELECT
        w.container_id,
        w.is_chat,
        m.vendor_id,
        m.vendor_id IS NOT NULL AS is_measured,
        coalesce(
            m.scope_reason,
            CASE WHEN w.is_chat THEN 'chat_without_vendor_member' ELSE 'channel_without_vendor_member' END
        ) AS scope_reason
    FROM written AS w
    LEFT JOIN matched AS m ON m.container_id = w.container_id
)

SELECT * FROM final;

CREATE TABLE IF NOT EXISTS staging.stg_teams_conversations AS FROM fresh_teams_conversations WITH NO DATA;

-- An incremental build also recomputes every conversation of a container whose scope moved since the last build
-- (a vendor's first message in a chat makes the company's earlier messages there count).
CREATE OR REPLACE TEMP TABLE moved_teams_containers AS
SELECT DISTINCT container_id
FROM (
    (
        SELECT container_id, vendor_id, scope_reason FROM staging.stg_teams_conversations
        EXCEPT
        SELECT container_id, vendor_id, scope_reason FROM fresh_teams_conversations
    )
    UNION ALL
    (
        SELECT container_id, vendor_id, scope_reason FROM fresh_teams_conversations
        EXCEPT
        SELECT container_id, vendor_id, scope_reason FROM staging.stg_teams_conversations
    )
)
WHERE NOT getvariable('full_build');

INSERT INTO meta.build_scope (conversation_key)
SELECT DISTINCT m.conversation_key
FROM core.messages AS m
SEMI JOIN moved_teams_containers AS moved
    ON moved.container_id = regexp_extract(m.message_key, '^teams:(.*):[^:]*$', 1)
WHERE m.channel = 'teams'
  AND m.sent_at <= getvariable('as_of')
  AND m.conversation_key NOT IN (SELECT conversation_key FROM meta.build_scope);

DELETE FROM staging.stg_teams_conversations;
INSERT INTO staging.stg_teams_conversations BY NAME FROM fresh_teams_conversations;
DROP TABLE fresh_teams_conversations;
DROP TABLE moved_teams_containers;

COMMENT ON TABLE staging.stg_teams_conversations IS 'Staging: every Teams chat and channel with messages sent by as_of, and whether it is measured, for which vendor and why, decided from the config at build time. Grain: (container_id, vendor_id); a container measured for no vendor has one row with vendor_id NULL. Only Teams messages of measured containers take part in the metrics (intermediate.int_counted_messages).';
COMMENT ON COLUMN staging.stg_teams_conversations.container_id IS 'The Teams chat id or channel id (the middle of core.messages.message_key teams:{container}:{message id}).';
COMMENT ON COLUMN staging.stg_teams_conversations.is_chat IS 'True for a chat (1:1, group or meeting chat: one core conversation teams:{chat}:main, measured in segments), false for a channel (one conversation per thread).';
COMMENT ON COLUMN staging.stg_teams_conversations.vendor_id IS 'The vendor the container is measured for; NULL when it is measured for none.';
COMMENT ON COLUMN staging.stg_teams_conversations.is_measured IS 'True when vendor_id is set: its human company and vendor messages take part in the metrics.';
COMMENT ON COLUMN staging.stg_teams_conversations.scope_reason IS 'Why. Measured: listed_channel (in the vendor''s teams_channels), chat_with_vendor_member / channel_with_vendor_member (one of the vendor''s people, by teams_tenant_ids, wrote in it). Not measured: chat_without_vendor_member, channel_without_vendor_member. When several apply, the first in this order.';

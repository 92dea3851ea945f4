-- Slack conversations (channels, DMs, group DMs) and the vendors each one is measured for, decided here from the
-- configured Slack identifiers (marts.party_identifiers), so that a config change applies to all history. A Slack
-- conversation is vendor V's when it is one of V's slack_channels (by id or name), when it is shared (Slack
-- Connect) with one of V's slack_team_ids, or when it is a DM or group DM with one of V's people: a member with
-- one of V's slack_user_ids or, failing an explicit id, of one of V's teams (raw.slack_users), or a member who
-- wrote in it as V's (a vendor message, classified by the documented order). Anything else is stored, not
-- measured. Recomputed whole in both build modes: an incremental build also recomputes the conversations of every
-- Slack channel whose rows here changed.
CREATE OR REPLACE TEMP TABLE fresh_slack_conversations AS
WITH
vendor_ids AS (
    SELECT
        party_id AS vendor_id,
        kind,
        identifier AS slack_id
    FROM marts.party_identifiers
    WHERE party_id <> 'company' AND kind IN ('channel', 'team', 'user')
),

-- The Slack conversations of the messages sent by as_of that the directory does not know as channels (DMs, group
-- DMs, and folders of an export missing from its directory), with the people who wrote in them and the vendors
-- they wrote as. Messages of known channels, most of them, are not aggregated: every build runs this.
written AS (
    SELECT
        m.slack_channel_id AS channel_id,
        max(m.slack_channel_name) AS name,
        list(DISTINCT m.sender ORDER BY m.sender) FILTER (WHERE m.sender IS NOT NULL AND NOT m.is_automated) AS senders,
        list(DISTINCT p.vendor_id ORDER BY p.vendor_id) FILTER (
            WHERE p.side = 'vendor' AND NOT m.is_automated
        ) AS sender_vendor_ids
    FROM core.messages AS m
    INNER JOIN staging.stg_message_parties AS p ON p.message_key = m.message_key
    ANTI JOIN (
        SELECT channel_id FROM raw.slack_channels WHERE kind NOT IN ('im', 'mpim')
    ) AS known_channel ON known_channel.channel_id = m.slack_channel_id
    WHERE m.slack_channel_id IS NOT NULL
      AND m.sent_at <= getvariable('as_of')
    GROUP BY m.slack_channel_id
),

conversations AS (
    SELECT
        coalesce(d.channel_id, w.channel_id) AS channel_id,
        coalesce(d.name, w.name) AS name,
        -- DM ids start with D; other ids do not tell a channel's kind (shared channels change prefix)
        coalesce(d.kind, CASE WHEN coalesce(d.channel_id, w.channel_id) LIKE 'D%' THEN 'im' END) AS kind,
        d.is_shared,
        coalesce(d.team_ids, []) AS team_ids,
        coalesce(d.member_ids, []) AS recorded_member_ids,
        coalesce(w.senders, []) AS senders,
        coalesce(w.sender_vendor_ids, []) AS sender_vendor_ids
    FROM raw.slack_channels AS d
    FULL OUTER JOIN written AS w ON w.channel_id = d.channel_id
),

direct AS (
    -- A DM or group DM's members: those the directory lists, and whoever wrote in it
    SELECT
        channel_id,
        kind,
        list_sort(list_distinct(recorded_member_ids || senders)) AS member_ids,
        sender_vendor_ids
    FROM conversations
    WHERE kind IN ('im', 'mpim')
),

listed AS (
    SELECT
        c.channel_id,
        v.vendor_id,
        1 AS priority,
        'listed_channel' AS scope_reason
    FROM conversations AS c
    INNER JOIN vendor_ids AS v
        ON v.kind = 'channel' AND (v.slack_id = lower(c.channel_id) OR v.slack_id = lower(c.name))
),

shared AS (
    SELECT DISTINCT
        c.channel_id,
        v.vendor_id,
        2 AS priority,
        'shared_with_vendor_team' AS scope_reason
    FROM (
        SELECT
            channel_id,
            unnest(team_ids) AS team_id
        FROM conversations
        WHERE kind IS NULL OR kind NOT IN ('im', 'mpim')
    ) AS c
    INNER JOIN vendor_ids AS v ON v.kind = 'team' AND v.slack_id = c.team_id
),

-- Members recognised by an explicit slack_user_ids entry first, then by their team (as "Who is who" orders it)
members AS (
    SELECT
        m.channel_id,
        coalesce(explicit.party_id, by_team.party_id) AS party_id
    FROM (
        SELECT
            channel_id,
            unnest(member_ids) AS user_id
        FROM direct
    ) AS m
    LEFT JOIN marts.party_identifiers AS explicit ON explicit.kind = 'user' AND explicit.identifier = m.user_id
    LEFT JOIN raw.slack_users AS u ON u.user_id = m.user_id
    LEFT JOIN marts.party_identifiers AS by_team ON by_team.kind = 'team' AND by_team.identifier = u.team_id
),

with_vendor_member AS (
    SELECT DISTINCT
        d.channel_id,
        p.vendor_id,
        3 AS priority,
        CASE d.kind WHEN 'im' THEN 'dm_with_vendor_member' ELSE 'group_dm_with_vendor_member' END AS scope_reason
    FROM direct AS d
    INNER JOIN (
        SELECT
            channel_id,
            party_id AS vendor_id
        FROM members
        WHERE party_id <> 'company'
        UNION ALL
        SELECT
            channel_id,
            unnest(sender_vendor_ids) AS vendor_id
        FROM direct
    ) AS p ON p.channel_id = d.channel_id
    -- a vendor no longer configured may still stand on old messages
    WHERE p.vendor_id IN (SELECT party_id FROM marts.parties WHERE kind = 'vendor')
),

matched AS (
    SELECT
        channel_id,
        vendor_id,
        arg_min(scope_reason, priority) AS scope_reason
    FROM (
        SELECT * FROM listed
        UNION ALL
        SELECT * FROM shared
        UNION ALL
        SELECT * FROM with_vendor_member
    ) AS candidates
    GROUP BY channel_id, vendor_id
),

final AS (
    SELECT
        c.channel_id,
        c.name,
        c.kind,
        c.is_shared,
        c.team_ids,
        d.member_ids,
        m.vendor_id,
        m.vendor_id IS NOT NULL AS is_measured,
        coalesce(
            m.scope_reason,
            CASE
                WHEN c.kind = 'im' THEN 'dm_without_vendor_member'
                WHEN c.kind = 'mpim' THEN 'group_dm_without_vendor_member'
                WHEN c.is_shared THEN 'shared_without_vendor_team'
                ELSE 'not_listed'
            END
        ) AS scope_reason
    FROM conversations AS c
    LEFT JOIN direct AS d ON d.channel_id = c.channel_id
    LEFT JOIN matched AS m ON m.channel_id = c.channel_id
)

SELECT * FROM final;

CREATE TABLE IF NOT EXISTS staging.stg_slack_conversations AS FROM fresh_slack_conversations WITH NO DATA;

-- An incremental build also recomputes every conversation of a Slack channel whose scope moved since the last
-- build (a full build starts from a dropped table and recomputes everything anyway). Usually none moved, and the
-- join below then reads nothing.
CREATE OR REPLACE TEMP TABLE moved_slack_channels AS
SELECT DISTINCT channel_id
FROM (
    (
        SELECT channel_id, vendor_id, scope_reason FROM staging.stg_slack_conversations
        EXCEPT
        SELECT channel_id, vendor_id, scope_reason FROM fresh_slack_conversations
    )
    UNION ALL
    (
        SELECT channel_id, vendor_id, scope_reason FROM fresh_slack_conversations
        EXCEPT
        SELECT channel_id, vendor_id, scope_reason FROM staging.stg_slack_conversations
    )
)
WHERE NOT getvariable('full_build');

INSERT INTO meta.build_scope (conversation_key)
SELECT DISTINCT m.conversation_key
FROM core.messages AS m
SEMI JOIN moved_slack_channels AS moved ON moved.channel_id = m.slack_channel_id
WHERE m.sent_at <= getvariable('as_of')
  AND m.conversation_key NOT IN (SELECT conversation_key FROM meta.build_scope);

DELETE FROM staging.stg_slack_conversations;
INSERT INTO staging.stg_slack_conversations BY NAME FROM fresh_slack_conversations;
DROP TABLE fresh_slack_conversations;
DROP TABLE moved_slack_channels;

COMMENT ON TABLE staging.stg_slack_conversations IS 'Staging: every Slack conversation (from raw.slack_channels and the Slack messages sent by as_of) and whether it is measured, for which vendor and why, decided from the config at build time. Grain: (channel_id, vendor_id); a conversation measured for no vendor has one row with vendor_id NULL. Only Slack messages of measured conversations take part in the metrics (intermediate.int_counted_messages).';
COMMENT ON COLUMN staging.stg_slack_conversations.channel_id IS 'Slack conversation id (core.messages.slack_channel_id).';
COMMENT ON COLUMN staging.stg_slack_conversations.name IS 'Channel name without # (NULL for DMs): the directory''s, else the messages''.';
COMMENT ON COLUMN staging.stg_slack_conversations.kind IS 'public_channel, private_channel, im (DM) or mpim (group DM); NULL when no source says (a D… id is a DM).';
COMMENT ON COLUMN staging.stg_slack_conversations.is_shared IS 'True for Slack Connect (shared) channels; NULL when the source does not say.';
COMMENT ON COLUMN staging.stg_slack_conversations.team_ids IS 'Teams the conversation belongs to or is shared with (raw.slack_channels.team_ids); empty when unknown.';
COMMENT ON COLUMN staging.stg_slack_conversations.member_ids IS 'DMs and group DMs: the members the directory lists and the people who wrote in it by as_of; NULL for channels.';
COMMENT ON COLUMN staging.stg_slack_conversations.vendor_id IS 'The vendor the conversation is measured for; NULL when it is measured for none.';
COMMENT ON COLUMN staging.stg_slack_conversations.is_measured IS 'True when vendor_id is set: its human company and vendor messages take part in the metrics.';
COMMENT ON COLUMN staging.stg_slack_conversations.scope_reason IS 'Why. Measured: listed_channel (in the vendor''s slack_channels, by id or name), shared_with_vendor_team (Slack Connect with one of its slack_team_ids), dm_with_vendor_member / group_dm_with_vendor_member (a member is the vendor''s: slack_user_ids, else the team of raw.slack_users, or wrote in it as the vendor). Not measured: not_listed, shared_without_vendor_team, dm_without_vendor_member, group_dm_without_vendor_member. When several apply, the first in this order.';

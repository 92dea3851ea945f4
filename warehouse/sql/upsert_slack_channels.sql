-- A conversation read again takes the new values, except where the new read does not say (a conversation known
-- only by its id, an export without members): what was known stays.
INSERT INTO raw.slack_channels AS stored
    (channel_id, name, kind, is_shared, team_ids, member_ids, source, raw_ref, ingested_at)
SELECT DISTINCT ON (channel_id) channel_id, name, kind, is_shared, team_ids, member_ids, source, raw_ref,
    $1::TIMESTAMPTZ
FROM incoming_directory
ON CONFLICT (channel_id) DO UPDATE SET
    name = coalesce(excluded.name, stored.name),
    kind = coalesce(excluded.kind, stored.kind),
    is_shared = coalesce(excluded.is_shared, stored.is_shared),
    team_ids = coalesce(excluded.team_ids, stored.team_ids),
    member_ids = coalesce(excluded.member_ids, stored.member_ids),
    source = excluded.source,
    raw_ref = excluded.raw_ref,
    ingested_at = excluded.ingested_at;

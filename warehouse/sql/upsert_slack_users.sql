INSERT OR REPLACE INTO raw.slack_users (user_id, team_id, name, real_name, email, is_bot, source, raw_ref, ingested_at)
SELECT DISTINCT ON (user_id) user_id, team_id, name, real_name, email, is_bot, source, raw_ref, $1::TIMESTAMPTZ
FROM incoming_directory;

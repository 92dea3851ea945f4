INSERT OR REPLACE INTO raw.slack_users (user_id, team_id, name, real_name, email, is_bot, source, raw_ref, ingested_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9);

-- The models that are steps towards the marts leave the analysts' schema: `stg_` models (one row per message or
-- Slack conversation, classified) go to staging, `int_` models to intermediate. The next build, a full one (its
-- SQL changed), recreates them there (transforms/seeds.sql creates the schemas); their old copies in marts go now.
DROP TABLE IF EXISTS marts.party_slack_ids;
DROP TABLE IF EXISTS marts.stg_message_parties;
DROP TABLE IF EXISTS marts.stg_slack_conversations;
DROP TABLE IF EXISTS marts.stg_message_requests;
DROP TABLE IF EXISTS marts.stg_counted_messages;
DROP TABLE IF EXISTS marts.stg_turns;
DROP TABLE IF EXISTS marts.stg_business_clock;
DROP TABLE IF EXISTS marts.stg_report_days;
DROP TABLE IF EXISTS marts.stg_requests;
DROP TABLE IF EXISTS marts.stg_alert_windows;
DROP TABLE IF EXISTS marts.stg_alert_signals;
DROP TABLE IF EXISTS marts.stg_alert_latency;
DROP TABLE IF EXISTS marts.stg_alert_silence;
DROP TABLE IF EXISTS marts.stg_alert_confusion;
DROP TABLE IF EXISTS marts.stg_alert_chasing;
DROP TABLE IF EXISTS marts.stg_alert_items;

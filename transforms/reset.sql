-- A full build starts from scratch: the seeds and the marts kept up to date per conversation are dropped (and
-- recreated by transforms/seeds.sql and their models), so that a changed definition takes effect.
DROP TABLE IF EXISTS marts.parties;
DROP TABLE IF EXISTS marts.party_identifiers;
DROP TABLE IF EXISTS staging.stg_message_parties;
DROP TABLE IF EXISTS staging.stg_slack_conversations;
DROP TABLE IF EXISTS staging.stg_teams_conversations;
DROP TABLE IF EXISTS marts.calendar_intervals;
DROP TABLE IF EXISTS marts.signal_lexicon;
DROP TABLE IF EXISTS intermediate.int_counted_messages;
DROP TABLE IF EXISTS staging.stg_message_requests;
DROP TABLE IF EXISTS intermediate.int_turns;
DROP TABLE IF EXISTS marts.responses;
DROP TABLE IF EXISTS marts.message_signals;
DELETE FROM meta.build_scope;

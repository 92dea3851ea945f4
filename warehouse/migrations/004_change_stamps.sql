-- Change stamps for incremental builds: when each message row last changed, which conversations lost messages,
-- and what the last build covered.
ALTER TABLE core.messages ADD COLUMN changed_at TIMESTAMPTZ DEFAULT current_timestamp;
UPDATE core.messages SET changed_at = ingested_at;
COMMENT ON COLUMN core.messages.changed_at IS 'When this row last changed: stored, parties refreshed by a re-ingest, or moved to another conversation. Incremental builds rebuild the conversations of rows changed since the last build.';

CREATE TABLE meta.conversation_changes (
    conversation_key VARCHAR NOT NULL,
    changed_at       TIMESTAMPTZ NOT NULL
);
COMMENT ON TABLE meta.conversation_changes IS 'Conversations that lost messages (an email chain re-keyed to an earlier ancestor): the next build rebuilds them too. Rows older than the last build''s watermark are purged by the build.';
COMMENT ON COLUMN meta.conversation_changes.conversation_key IS 'The conversation_key the messages left.';
COMMENT ON COLUMN meta.conversation_changes.changed_at IS 'When they left it.';

CREATE TABLE meta.build_state (
    as_of             TIMESTAMPTZ NOT NULL,
    fingerprint       VARCHAR NOT NULL,
    change_watermark  TIMESTAMPTZ,
    calendar_start    DATE NOT NULL,
    calendar_end      DATE NOT NULL,
    message_count     BIGINT NOT NULL,
    mode              VARCHAR NOT NULL,
    scope_conversations BIGINT NOT NULL,
    built_at          TIMESTAMPTZ NOT NULL
);
COMMENT ON TABLE meta.build_state IS 'The last successful build (one row): what an incremental build starts from.';
COMMENT ON COLUMN meta.build_state.as_of IS 'as_of of the last build; an earlier as_of forces a full build.';
COMMENT ON COLUMN meta.build_state.fingerprint IS 'SHA-256 of what the marts depend on besides the messages: parties, calendars, SLAs, lexicon, lookback, alert settings, model SQL. A change forces a full build.';
COMMENT ON COLUMN meta.build_state.change_watermark IS 'Start of the last build''s transaction: rows of core.messages and meta.conversation_changes stamped at or after it are rebuilt by the next build.';
COMMENT ON COLUMN meta.build_state.calendar_start IS 'First local day of marts.calendar_intervals.';
COMMENT ON COLUMN meta.build_state.calendar_end IS 'Last local day of marts.calendar_intervals.';
COMMENT ON COLUMN meta.build_state.message_count IS 'Rows of core.messages at the last build (fewer rows now, i.e. deletions, force a full build).';
COMMENT ON COLUMN meta.build_state.mode IS 'full or incremental.';
COMMENT ON COLUMN meta.build_state.scope_conversations IS 'Conversations rebuilt by an incremental build (meta.build_scope); 0 for a full build.';
COMMENT ON COLUMN meta.build_state.built_at IS 'When the build ran.';

CREATE TABLE meta.build_scope (
    conversation_key VARCHAR NOT NULL
);
COMMENT ON TABLE meta.build_scope IS 'Conversations rebuilt by the last incremental build (empty after a full build).';
COMMENT ON COLUMN meta.build_scope.conversation_key IS 'A conversation_key whose per-conversation marts rows were recomputed.';

-- Document the bookkeeping tables too, so every number of a run can be traced.
COMMENT ON COLUMN meta.schema_migrations.version IS 'Number of the migration file in warehouse/migrations.';
COMMENT ON COLUMN meta.schema_migrations.name IS 'File name of the migration.';
COMMENT ON COLUMN meta.schema_migrations.applied_at IS 'When it was applied to this warehouse.';
COMMENT ON COLUMN meta.runs.run_id IS 'Random id of the run.';
COMMENT ON COLUMN meta.runs.command IS 'What ran: ingest mbox, ingest slack-export, build, digest, publish, daily ingest...';
COMMENT ON COLUMN meta.runs.started_at IS 'When the writing session opened.';
COMMENT ON COLUMN meta.runs.finished_at IS 'When it ended.';
COMMENT ON COLUMN meta.runs.status IS 'succeeded or failed (a failed run keeps the batches it committed).';
COMMENT ON COLUMN meta.runs.read IS 'Messages read from the inputs (ingest runs).';
COMMENT ON COLUMN meta.runs.new IS 'Messages stored for the first time.';
COMMENT ON COLUMN meta.runs.already_stored IS 'Messages read again with the same content (nothing stored).';
COMMENT ON COLUMN meta.runs.conflicts IS 'Messages reusing a stored key with other content (first kept, second quarantined).';
COMMENT ON COLUMN meta.runs.quarantined IS 'Inputs that could not become messages, all reasons together.';
COMMENT ON COLUMN meta.runs.detail IS 'JSON: quarantine counts by reason, connector notes, build row counts, as_of.';
COMMENT ON COLUMN meta.sync_state.source IS 'Live connector: slack_api, exchange, graph.';
COMMENT ON COLUMN meta.sync_state.partition_key IS 'Channel id, or mailbox/folder.';
COMMENT ON COLUMN meta.sync_state.cursor IS 'Where the next run starts: a Slack watermark JSON, an EWS SyncState, a Graph delta or next link.';
COMMENT ON COLUMN meta.sync_state.updated_at IS 'When the cursor was last stored (with the messages it covers).';

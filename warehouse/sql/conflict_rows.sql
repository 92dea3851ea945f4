SELECT source, raw_ref, message_key FROM staged_batch WHERE status = 'conflict' ORDER BY ordinal;

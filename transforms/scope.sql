-- The conversations an incremental build recomputes: those with a message stored or changed since the last build
-- (change_watermark), those that lost messages to another conversation, and those with messages sent after the
-- last build's as_of (previous_as_of) and by this one's.
DELETE FROM meta.build_scope;
INSERT INTO meta.build_scope (conversation_key)
SELECT DISTINCT conversation_key
FROM (
    SELECT conversation_key
    FROM core.messages
    WHERE (changed_at IS NULL OR changed_at >= getvariable('change_watermark'))
      AND sent_at <= getvariable('as_of')
    UNION ALL
    SELECT conversation_key
    FROM core.messages
    WHERE sent_at > getvariable('previous_as_of')
      AND sent_at <= getvariable('as_of')
    UNION ALL
    SELECT conversation_key
    FROM meta.conversation_changes
    WHERE changed_at >= getvariable('change_watermark')
);

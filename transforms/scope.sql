-- The conversations an incremental build recomputes: those with a message stored or changed since the last build
-- (change_watermark), those that lost messages to another conversation, those with messages sent after the
-- last build's as_of (previous_as_of) and by this one's, and those of messages a user marked not a request, or
-- whose mark was undone, since the last build (meta.feedback).
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
    UNION ALL
    SELECT m.conversation_key
    FROM meta.feedback AS f
    INNER JOIN core.messages AS m ON m.message_key = f.message_key
    WHERE f.kind = 'not_a_request'
      AND (f.created_at >= getvariable('change_watermark') OR f.revoked_at >= getvariable('change_watermark'))
);

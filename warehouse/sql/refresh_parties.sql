-- A re-read of a stored message refreshes who-is-who, so a config change reclassifies history on the next ingest.
-- A row that changes is stamped, so the next build rebuilds its conversation.
UPDATE core.messages
SET
    side = staged.side,
    vendor_id = staged.vendor_id,
    recipient_vendor_ids = staged.recipient_vendor_ids,
    is_internal = staged.is_internal,
    changed_at = current_timestamp
FROM (SELECT * FROM staged_batch WHERE status = 'same' AND is_stored AND copy_number = 1) AS staged
WHERE core.messages.message_key = staged.message_key
    AND (
        core.messages.side IS DISTINCT FROM staged.side
        OR core.messages.vendor_id IS DISTINCT FROM staged.vendor_id
        OR core.messages.recipient_vendor_ids IS DISTINCT FROM staged.recipient_vendor_ids
        OR core.messages.is_internal IS DISTINCT FROM staged.is_internal
    );

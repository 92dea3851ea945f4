-- Who is who is decided at build time (marts.stg_message_parties, from the config's identifiers), so that a config
-- change applies to all history, including what live sources will never read again. The columns that held the
-- classification made when a message was read go; what it was decided from (sender, sender_email,
-- sender_team_id, recipients) stays.
ALTER TABLE core.messages DROP COLUMN side;
ALTER TABLE core.messages DROP COLUMN vendor_id;
ALTER TABLE core.messages DROP COLUMN recipient_vendor_ids;
ALTER TABLE core.messages DROP COLUMN is_internal;

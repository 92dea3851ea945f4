-- The flags comment names every repair, text_repaired included (lone surrogates replaced by U+FFFD).
COMMENT ON COLUMN core.messages.flags IS 'Repairs made to imperfect input: synthetic_message_id, date_without_zone, invalid_references_dropped, charset_repaired, html_only_body, channel_not_in_export_directory, text_repaired.';

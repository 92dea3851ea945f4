-- Whether a Slack conversation is a vendor conversation is decided at build time from the config
-- (marts.stg_slack_conversations), so the directory keeps what that rule needs: each conversation's kind, the
-- teams it is shared with and, for DMs and group DMs, its members. The vendor a channel was classified to at
-- ingestion goes: the config of the build decides, for all history.
ALTER TABLE raw.slack_channels ADD COLUMN kind VARCHAR;
ALTER TABLE raw.slack_channels ADD COLUMN team_ids VARCHAR[];
ALTER TABLE raw.slack_channels ADD COLUMN member_ids VARCHAR[];
ALTER TABLE raw.slack_channels DROP COLUMN vendor_id;

COMMENT ON TABLE raw.slack_channels IS 'Slack conversations (channels, private channels, DMs, group DMs) as read from channels.json/groups.json/mpims.json/dms.json or the API. Re-reading one keeps what the new read does not say.';
COMMENT ON COLUMN raw.slack_channels.kind IS 'public_channel, private_channel, im (a DM) or mpim (a group DM); NULL when the source does not say.';
COMMENT ON COLUMN raw.slack_channels.team_ids IS 'Teams (workspaces) the conversation belongs to or is shared with (Slack Connect): the API''s shared_team_ids, connected_team_ids and conversation_host_id together, or what an export carries of them; NULL when unknown.';
COMMENT ON COLUMN raw.slack_channels.member_ids IS 'DMs and group DMs: the user ids of their members (export members, or the API''s user/conversations.members); NULL for channels and when unknown.';

-- Slack messages have no recipients: the vendor of their channel no longer lives on the message.
UPDATE core.messages SET recipient_vendor_ids = [], changed_at = current_timestamp
WHERE channel = 'slack' AND len(recipient_vendor_ids) > 0;
COMMENT ON COLUMN core.messages.recipient_vendor_ids IS 'Email: the vendors among the recipients. Slack: empty (which Slack conversations are measured, and for whom, is decided at build time: marts.stg_slack_conversations).';

-- Microsoft Teams messages (channel 'teams') share core.messages with email and Slack: no new column, the
-- documentation of the shared ones says what they hold for Teams.
COMMENT ON COLUMN core.messages.message_key IS 'Natural key. Email: the Message-ID without angle brackets (synthetic, flagged, when missing). Slack: {channel_id}:{ts}. Teams: teams:{chat or channel id}:{message id} (one row however many participants'' copies are read).';
COMMENT ON COLUMN core.messages.channel IS 'email, slack or teams.';
COMMENT ON COLUMN core.messages.source IS 'Where the first copy was read: mbox, slack_export, exchange, graph, slack_api, teams (Graph Teams export APIs) or teams_export (saved answers of those APIs).';
COMMENT ON COLUMN core.messages.sender IS 'Email: the From address, lower case. Slack: the user id. Teams: the Microsoft Entra user id (lower case), or the application id of a bot.';
COMMENT ON COLUMN core.messages.sender_team_id IS 'Slack: the team (workspace) id of the sender. Teams: the sender''s Microsoft Entra tenant id (lower case). Tells company from vendor in shared channels and chats.';
COMMENT ON COLUMN core.messages.raw_ref IS 'Where the message came from: file path and byte offset, export file and index, or source:partition/id for live sources (teams:chats:{user}/{message id}).';
COMMENT ON COLUMN core.messages.conversation_key IS 'Email: the message_key of the earliest stored email, by (sent_at, message_key), of its conversation: the emails linked by any id they carry or name in In-Reply-To and References, stored or not (no subject merging). Slack: {channel_id}:{thread_ts} for threads (parent included), else {channel_id}:main. Teams: teams:{channel id}:{root message id} for a channel thread, teams:{chat id}:main for a chat.';

-- Foundation: the four schemas, normalised messages, quarantine, Slack directory, run bookkeeping.
CREATE SCHEMA IF NOT EXISTS raw;
CREATE SCHEMA IF NOT EXISTS core;
CREATE SCHEMA IF NOT EXISTS marts;

CREATE TABLE core.messages (
    message_key          VARCHAR PRIMARY KEY,
    channel              VARCHAR NOT NULL,
    source               VARCHAR NOT NULL,
    conversation_key     VARCHAR NOT NULL,
    sent_at              TIMESTAMPTZ NOT NULL,
    sender               VARCHAR,
    sender_name          VARCHAR,
    sender_email         VARCHAR,
    sender_team_id       VARCHAR,
    recipients           VARCHAR[],
    side                 VARCHAR NOT NULL,
    vendor_id            VARCHAR,
    recipient_vendor_ids VARCHAR[],
    is_automated         BOOLEAN NOT NULL,
    automated_reason     VARCHAR,
    is_internal          BOOLEAN NOT NULL,
    subject              VARCHAR,
    body_text            VARCHAR,
    body_full            VARCHAR,
    body_words           INTEGER,
    in_reply_to          VARCHAR,
    "references"         VARCHAR[],
    slack_channel_id     VARCHAR,
    slack_channel_name   VARCHAR,
    slack_thread_ts      VARCHAR,
    flags                VARCHAR[],
    content_hash         VARCHAR NOT NULL,
    raw_ref              VARCHAR NOT NULL,
    ingested_at          TIMESTAMPTZ NOT NULL
);

COMMENT ON TABLE core.messages IS 'One row per distinct message (email or Slack) between the company and its vendors, normalised. Key: message_key.';
COMMENT ON COLUMN core.messages.message_key IS 'Natural key. Email: the Message-ID without angle brackets (synthetic, flagged, when missing). Slack: {channel_id}:{ts}.';
COMMENT ON COLUMN core.messages.channel IS 'email or slack.';
COMMENT ON COLUMN core.messages.source IS 'Where the first copy was read: mbox, slack_export, later exchange, graph, slack_api.';
COMMENT ON COLUMN core.messages.conversation_key IS 'Email: Message-ID of the earliest known ancestor in the In-Reply-To/References chain (no subject merging). Slack: {channel_id}:{thread_ts} for threads (parent included), else {channel_id}:main.';
COMMENT ON COLUMN core.messages.sent_at IS 'When the message was sent, UTC. Email: the Date header with its offset (no zone: read as UTC and flagged). Slack: ts.';
COMMENT ON COLUMN core.messages.sender IS 'Email: the From address, lower case. Slack: the user id.';
COMMENT ON COLUMN core.messages.sender_name IS 'Display name of the sender (From display name, or Slack real name).';
COMMENT ON COLUMN core.messages.sender_email IS 'Email: the From address. Slack: the user profile email, when the export or API gives it.';
COMMENT ON COLUMN core.messages.sender_team_id IS 'Slack: the team (workspace) id of the sender; used to tell company from vendor in shared channels.';
COMMENT ON COLUMN core.messages.recipients IS 'Email: To and Cc addresses, lower case. Slack: empty.';
COMMENT ON COLUMN core.messages.side IS 'company, vendor or other. Decided by explicit user ids/addresses, then Slack team id, then email domain (subdomains match).';
COMMENT ON COLUMN core.messages.vendor_id IS 'The sender''s vendor when side = vendor, else NULL.';
COMMENT ON COLUMN core.messages.recipient_vendor_ids IS 'Vendors among the recipients (email), or the vendor a Slack channel is dedicated to.';
COMMENT ON COLUMN core.messages.is_automated IS 'True for bots, auto-replies and bulk mail; such messages never open or answer a request.';
COMMENT ON COLUMN core.messages.automated_reason IS 'Why is_automated is true, e.g. header:auto-submitted, subject:out of office, slack:bot_message.';
COMMENT ON COLUMN core.messages.is_internal IS 'Email sent by the company to recipients that include no vendor (internal forward or discussion).';
COMMENT ON COLUMN core.messages.subject IS 'Email subject, RFC 2047 decoded. Slack: NULL.';
COMMENT ON COLUMN core.messages.body_text IS 'The new text only: quoted history, signature and legal disclaimer removed. NULL when warehouse.store_bodies is false.';
COMMENT ON COLUMN core.messages.body_full IS 'The whole text body as sent (HTML converted to text). NULL when warehouse.store_bodies is false.';
COMMENT ON COLUMN core.messages.body_words IS 'Number of words in the new text, kept even when bodies are not stored.';
COMMENT ON COLUMN core.messages.in_reply_to IS 'Email: the In-Reply-To message id without angle brackets, when syntactically valid.';
COMMENT ON COLUMN core.messages."references" IS 'Email: the References message ids, oldest first, only syntactically valid ones.';
COMMENT ON COLUMN core.messages.slack_channel_id IS 'Slack: the channel id.';
COMMENT ON COLUMN core.messages.slack_channel_name IS 'Slack: the channel name without #.';
COMMENT ON COLUMN core.messages.slack_thread_ts IS 'Slack: the thread parent ts when the message belongs to a thread.';
COMMENT ON COLUMN core.messages.flags IS 'Repairs made to imperfect input: synthetic_message_id, date_without_zone, invalid_references_dropped, charset_repaired, html_only_body, channel_not_in_export_directory.';
COMMENT ON COLUMN core.messages.content_hash IS 'SHA-1 of sender, sent_at, subject and full body; a second message with the same key and another hash is a conflict (the first is kept).';
COMMENT ON COLUMN core.messages.raw_ref IS 'Where the message came from: file path and byte offset, or export file and index.';
COMMENT ON COLUMN core.messages.ingested_at IS 'When this row was first stored.';

CREATE TABLE core.quarantine (
    source      VARCHAR NOT NULL,
    raw_ref     VARCHAR NOT NULL,
    reason      VARCHAR NOT NULL,
    excerpt     VARCHAR,
    ingested_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (source, raw_ref, reason)
);
COMMENT ON TABLE core.quarantine IS 'Every input that could not become a message, with the reason. Nothing is dropped silently.';
COMMENT ON COLUMN core.quarantine.source IS 'The connector that read it: mbox, slack_export, ...';
COMMENT ON COLUMN core.quarantine.raw_ref IS 'Where it came from: file path, byte offset or index.';
COMMENT ON COLUMN core.quarantine.reason IS 'Short machine-friendly reason, e.g. empty_file, binary_file, no_usable_date, no_headers, day_file_not_a_list, message_without_ts, duplicate_key_conflict.';
COMMENT ON COLUMN core.quarantine.excerpt IS 'The first few hundred printable characters of the bad input.';
COMMENT ON COLUMN core.quarantine.ingested_at IS 'When it was first quarantined.';

CREATE TABLE raw.slack_users (
    user_id      VARCHAR PRIMARY KEY,
    team_id      VARCHAR,
    name         VARCHAR,
    real_name    VARCHAR,
    email        VARCHAR,
    is_bot       BOOLEAN,
    source       VARCHAR NOT NULL,
    raw_ref      VARCHAR NOT NULL,
    ingested_at  TIMESTAMPTZ NOT NULL
);
COMMENT ON TABLE raw.slack_users IS 'Slack users as read from users.json (or the API): who a Slack sender is.';
COMMENT ON COLUMN raw.slack_users.user_id IS 'Slack user id (U… or W…).';
COMMENT ON COLUMN raw.slack_users.team_id IS 'The user''s home team (workspace) id.';
COMMENT ON COLUMN raw.slack_users.name IS 'Slack handle.';
COMMENT ON COLUMN raw.slack_users.real_name IS 'Display or real name.';
COMMENT ON COLUMN raw.slack_users.email IS 'Profile email, when visible.';
COMMENT ON COLUMN raw.slack_users.is_bot IS 'True for bot users and apps.';
COMMENT ON COLUMN raw.slack_users.source IS 'slack_export or slack_api.';
COMMENT ON COLUMN raw.slack_users.raw_ref IS 'The file or API call it came from.';
COMMENT ON COLUMN raw.slack_users.ingested_at IS 'Last time this user was read.';

CREATE TABLE raw.slack_channels (
    channel_id   VARCHAR PRIMARY KEY,
    name         VARCHAR,
    is_shared    BOOLEAN,
    vendor_id    VARCHAR,
    source       VARCHAR NOT NULL,
    raw_ref      VARCHAR NOT NULL,
    ingested_at  TIMESTAMPTZ NOT NULL
);
COMMENT ON TABLE raw.slack_channels IS 'Slack channels as read from channels.json/groups.json (or the API).';
COMMENT ON COLUMN raw.slack_channels.channel_id IS 'Slack channel id (C…, G…, D…).';
COMMENT ON COLUMN raw.slack_channels.name IS 'Channel name without #.';
COMMENT ON COLUMN raw.slack_channels.is_shared IS 'True for Slack Connect (shared) channels.';
COMMENT ON COLUMN raw.slack_channels.vendor_id IS 'The vendor whose slack_channels lists this channel, at ingestion time.';
COMMENT ON COLUMN raw.slack_channels.source IS 'slack_export or slack_api.';
COMMENT ON COLUMN raw.slack_channels.raw_ref IS 'The file or API call it came from.';
COMMENT ON COLUMN raw.slack_channels.ingested_at IS 'Last time this channel was read.';

CREATE TABLE meta.runs (
    run_id       VARCHAR PRIMARY KEY,
    command      VARCHAR NOT NULL,
    started_at   TIMESTAMPTZ NOT NULL,
    finished_at  TIMESTAMPTZ,
    status       VARCHAR NOT NULL,
    read         BIGINT,
    new          BIGINT,
    already_stored BIGINT,
    conflicts    BIGINT,
    quarantined  BIGINT,
    detail       JSON
);
COMMENT ON TABLE meta.runs IS 'One row per writing command (ingest, build, run): when, outcome and counts.';

CREATE TABLE meta.sync_state (
    source       VARCHAR NOT NULL,
    partition_key VARCHAR NOT NULL,
    cursor       VARCHAR,
    updated_at   TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (source, partition_key)
);
COMMENT ON TABLE meta.sync_state IS 'Incremental cursors of live connectors, one per source partition (channel, mailbox folder).';

-- core.messages without its PRIMARY KEY constraint. DuckDB keeps a key's index in memory whole and checks it
-- on every insert, so a merge's memory grew with the history (it ran out under 256 MB at ~2M messages). The
-- merge already stores one row per message_key (it compares each batch with what is stored), and tests check
-- it. DuckDB cannot drop a constraint, so the table is rebuilt; comments are carried over by the migrator.
CREATE TABLE core.messages_unkeyed (
    message_key          VARCHAR NOT NULL,
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
    ingested_at          TIMESTAMPTZ NOT NULL,
    changed_at           TIMESTAMPTZ DEFAULT current_timestamp
);

INSERT INTO core.messages_unkeyed BY NAME SELECT * FROM core.messages;
DROP TABLE core.messages;
ALTER TABLE core.messages_unkeyed RENAME TO messages;

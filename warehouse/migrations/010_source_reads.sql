-- What each extraction read, per source and partition, so that a digest can tell missing data from a quiet
-- vendor: the last read that went to the end, the last that failed and why, and the newest message seen.
CREATE TABLE meta.source_reads (
    source         VARCHAR NOT NULL,
    partition_key  VARCHAR NOT NULL,
    partition_name VARCHAR,
    last_read_at   TIMESTAMPTZ,
    last_failed_at TIMESTAMPTZ,
    last_error     VARCHAR,
    newest_sent_at TIMESTAMPTZ,
    updated_at     TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (source, partition_key)
);
COMMENT ON TABLE meta.source_reads IS 'One row per source and partition ever read: when an extraction last read it to the end, when one last failed on it and why, and the newest message it gave. Staged with the data and kept when the parts are merged, so extraction on other machines reports too. Key: (source, partition_key).';
COMMENT ON COLUMN meta.source_reads.source IS 'mbox, slack_export, slack_api, exchange or graph (core.messages.source of what it read).';
COMMENT ON COLUMN meta.source_reads.partition_key IS 'exchange, graph: mailbox/folder as configured. slack_api, slack_export: the channel id (slack_api: the name as configured when the channel could not be found). mbox: the file or folder as given. ''*'': the whole source, for a live source whose partitions are only known once it is read (Slack): a failure there stands for every partition it did not read.';
COMMENT ON COLUMN meta.source_reads.partition_name IS 'A name for people: the Slack channel name; NULL when partition_key says it all.';
COMMENT ON COLUMN meta.source_reads.last_read_at IS 'Start of the last extraction that read the partition to the end (what was there by then is stored).';
COMMENT ON COLUMN meta.source_reads.last_failed_at IS 'Start of the last extraction that failed on the partition (or on the whole source before reaching it); NULL if none ever did. Failed now when later than last_read_at.';
COMMENT ON COLUMN meta.source_reads.last_error IS 'Why that extraction failed: one line, never a secret.';
COMMENT ON COLUMN meta.source_reads.newest_sent_at IS 'The newest sent_at of the messages any read of the partition gave (an incremental read that finds nothing new keeps it); NULL before the first message.';
COMMENT ON COLUMN meta.source_reads.updated_at IS 'When the writer last merged a read of the partition.';

-- Whether the data can be trusted, as of as_of, per source partition: a mailbox folder (exchange, graph), a Slack
-- channel or DM (slack_api, slack_export), a user's Teams chats or a team's channels (teams), a mail file or folder
-- (mbox) or saved Teams messages (teams_export), and '*' for a whole live source. From
-- what extractions recorded (meta.source_reads) and the messages of the history window: the recent and baseline
-- windows of the alerts, the alert_recent_days + alert_baseline_days company-local days ending on the report day.
-- A message counts in the partition it was first read from: a Slack message in its channel, an email or a Teams
-- message in the recorded partition its raw_ref starts with (else the mailbox/folder, user or team its raw_ref
-- names, else its source).
--
-- state, in this order: failed (the last read of the partition, or of its whole source, failed after its last
-- success), ended (no message at all, anywhere, in the data_ended_business_days company business days up to the
-- report day), silent (no message for more than max(source_silent_business_days, source_silent_gap_factor x its
-- usual gap) business days, or none yet), ok. Business days are the company's working days.
CREATE OR REPLACE TEMP MACRO freshness_day_text(moment) AS
    strftime(timezone(getvariable('company_timezone'), moment), '%-d %b')
    || CASE
        WHEN year(timezone(getvariable('company_timezone'), moment)) <> year(getvariable('report_day'))
            THEN strftime(timezone(getvariable('company_timezone'), moment), ' %Y')
        ELSE ''
    END;

CREATE OR REPLACE TABLE marts.source_freshness AS
WITH
history AS (
    SELECT
        getvariable('report_day')::DATE AS report_day,
        getvariable('report_day')::DATE
            - (getvariable('alert_recent_days') + getvariable('alert_baseline_days') - 1) AS first_day
),

workdays AS (
    SELECT DISTINCT day_local AS day
    FROM marts.calendar_intervals
    WHERE party_kind = 'company'
),

-- Every day of the history window numbered by the company business days up to it, so that the gap between two
-- days is a difference of numbers.
day_numbers AS (
    SELECT
        d.day,
        count(w.day) OVER (ORDER BY d.day) AS business_day_number
    FROM (
        SELECT unnest(range(first_day, report_day + 1, INTERVAL 1 DAY))::DATE AS day
        FROM history
    ) AS d
    LEFT JOIN workdays AS w ON w.day = d.day
),

recorded AS (
    SELECT
        *,
        CASE
            WHEN source IN ('slack_api', 'slack_export') THEN 'slack'
            WHEN source IN ('teams', 'teams_export') THEN 'teams'
            ELSE 'email'
        END AS channel
    FROM meta.source_reads
),

window_messages AS (
    SELECT
        m.message_key,
        m.source,
        m.channel,
        m.slack_channel_id,
        m.raw_ref,
        m.sent_at,
        p.side,
        p.vendor_id,
        p.recipient_vendor_ids,
        timezone(getvariable('company_timezone'), m.sent_at)::DATE AS day
    FROM core.messages AS m
    INNER JOIN staging.stg_message_parties AS p ON p.message_key = m.message_key
    CROSS JOIN history AS h
    WHERE m.sent_at <= getvariable('as_of')
      AND m.sent_at >= timezone(getvariable('company_timezone'), h.first_day::TIMESTAMP)
),

-- The longest recorded partition of the same source that an email's or a Teams message's raw_ref starts with
recorded_partitions AS (
    SELECT
        m.message_key,
        arg_max(r.partition_key, length(r.partition_key)) AS partition_key
    FROM window_messages AS m
    INNER JOIN recorded AS r
        ON r.source = m.source
        AND r.channel = m.channel
        AND r.partition_key <> '*'
        AND CASE m.source
            WHEN 'exchange' THEN starts_with(m.raw_ref, 'exchange:' || r.partition_key || '/')
            WHEN 'graph' THEN starts_with(m.raw_ref, 'graph:' || r.partition_key || '/')
            WHEN 'teams' THEN starts_with(m.raw_ref, 'teams:' || r.partition_key || '/')
            ELSE m.raw_ref = r.partition_key
                OR starts_with(m.raw_ref, r.partition_key || '#')
                OR starts_with(m.raw_ref, r.partition_key || '/')
        END
    WHERE m.channel IN ('email', 'teams')
    GROUP BY m.message_key
),

message_partitions AS (
    SELECT
        m.*,
        coalesce(
            m.slack_channel_id,
            e.partition_key,
            CASE m.source
                WHEN 'exchange' THEN nullif(regexp_extract(m.raw_ref, '^exchange:(.+)/[^/]*$', 1), '')
                WHEN 'graph' THEN nullif(regexp_extract(m.raw_ref, '^graph:([^/]+/[^/]+)/', 1), '')
                WHEN 'teams' THEN nullif(regexp_extract(m.raw_ref, '^teams:([^/]+)/', 1), '')
            END,
            -- mail loaded before reads were recorded, or by other means: one partition per source
            m.source
        ) AS partition_key
    FROM window_messages AS m
    LEFT JOIN recorded_partitions AS e ON e.message_key = m.message_key
),

message_days AS (
    SELECT
        source,
        partition_key,
        day,
        max(sent_at) AS newest_at
    FROM message_partitions
    GROUP BY ALL
),

usual_gaps AS (
    SELECT
        source,
        partition_key,
        quantile_cont(gap, 0.9) AS usual_gap_business_days
    FROM (
        SELECT
            m.source,
            m.partition_key,
            n.business_day_number
                - lag(n.business_day_number) OVER (PARTITION BY m.source, m.partition_key ORDER BY m.day) AS gap
        FROM message_days AS m
        INNER JOIN day_numbers AS n ON n.day = m.day
    ) AS gaps
    WHERE gap IS NOT NULL
    GROUP BY ALL
),

-- One row per partition: a source reads one channel, but mail loaded by other means falls back to one partition
-- per source whatever its messages' channels.
partitions AS (
    SELECT
        source,
        partition_key,
        min(channel) AS channel
    FROM (
        SELECT
            source,
            partition_key,
            channel
        FROM recorded
        UNION ALL
        SELECT
            source,
            partition_key,
            channel
        FROM message_partitions
    ) AS seen
    GROUP BY source, partition_key
),

-- The newest message of each partition by as_of: in the history window, else the newest its reads recorded
newest AS (
    SELECT
        p.source,
        p.partition_key,
        p.channel,
        coalesce(
            max(d.newest_at),
            CASE WHEN any_value(r.newest_sent_at) <= getvariable('as_of') THEN any_value(r.newest_sent_at) END
        ) AS newest_at,
        any_value(r.newest_sent_at) IS NOT NULL AS ever_had_messages
    FROM partitions AS p
    LEFT JOIN recorded AS r ON r.source = p.source AND r.partition_key = p.partition_key
    LEFT JOIN message_days AS d ON d.source = p.source AND d.partition_key = p.partition_key
    GROUP BY ALL
),

-- A whole source stands for its partitions: its newest message is theirs
with_sources AS (
    SELECT
        source,
        partition_key,
        channel,
        CASE
            WHEN partition_key = '*' THEN max(newest_at) FILTER (WHERE partition_key <> '*') OVER (PARTITION BY source)
            ELSE newest_at
        END AS newest_at,
        ever_had_messages
    FROM newest
),

silence AS (
    SELECT
        n.source,
        n.partition_key,
        count(w.day) AS business_days_silent
    FROM with_sources AS n
    CROSS JOIN history AS h
    LEFT JOIN workdays AS w
        ON w.day > timezone(getvariable('company_timezone'), n.newest_at)::DATE
        AND w.day <= h.report_day
    WHERE n.newest_at IS NOT NULL
    GROUP BY ALL
),

data_end AS (
    SELECT
        d.data_newest_at,
        count(w.day) > getvariable('alert_data_ended_business_days') AS data_ended
    FROM (
        SELECT max(sent_at) AS data_newest_at
        FROM core.messages
        WHERE sent_at <= getvariable('as_of')
    ) AS d
    CROSS JOIN history AS h
    LEFT JOIN workdays AS w
        ON w.day > timezone(getvariable('company_timezone'), d.data_newest_at)::DATE
        AND w.day <= h.report_day
    GROUP BY d.data_newest_at
),

-- A whole source whose last read failed after its last success: the partitions it did not read since failed too
failed_sources AS (
    SELECT
        source,
        last_failed_at,
        last_error
    FROM recorded
    WHERE partition_key = '*'
      AND last_failed_at > coalesce(last_read_at, '-infinity'::TIMESTAMPTZ)
),

failure_times AS (
    SELECT
        n.source,
        n.partition_key,
        CASE WHEN r.last_failed_at > coalesce(r.last_read_at, '-infinity'::TIMESTAMPTZ) THEN r.last_failed_at END
            AS own_failed_at,
        r.last_error AS own_error,
        CASE WHEN s.last_failed_at > coalesce(r.last_read_at, '-infinity'::TIMESTAMPTZ) THEN s.last_failed_at END
            AS source_failed_at,
        s.last_error AS source_error
    FROM with_sources AS n
    LEFT JOIN recorded AS r ON r.source = n.source AND r.partition_key = n.partition_key
    LEFT JOIN failed_sources AS s ON s.source = n.source
),

-- The latest failure that applies; the partition's own error when its source failed in the same extraction
failures AS (
    SELECT
        source,
        partition_key,
        greatest(own_failed_at, source_failed_at) AS failed_at,
        CASE
            WHEN own_failed_at >= coalesce(source_failed_at, own_failed_at) THEN own_error
            WHEN source_failed_at IS NOT NULL THEN source_error
        END AS failed_error
    FROM failure_times
),

slack_names AS (
    SELECT
        c.channel_id,
        any_value(c.name) AS name,
        any_value(c.kind) AS kind,
        string_agg(
            DISTINCT coalesce(u.real_name, u.name, m.user_id), ', '
            ORDER BY coalesce(u.real_name, u.name, m.user_id)
        ) AS people
    FROM staging.stg_slack_conversations AS c
    LEFT JOIN (
        SELECT DISTINCT
            channel_id,
            unnest(member_ids) AS user_id
        FROM staging.stg_slack_conversations
    ) AS m ON m.channel_id = c.channel_id
    LEFT JOIN raw.slack_users AS u ON u.user_id = m.user_id
    GROUP BY c.channel_id
),

labelled AS (
    SELECT
        n.*,
        r.partition_name,
        r.last_read_at,
        CASE
            WHEN n.partition_key = '*' THEN CASE n.source
                WHEN 'slack_api' THEN 'Slack'
                WHEN 'exchange' THEN 'Exchange'
                WHEN 'graph' THEN 'Microsoft Graph'
                WHEN 'teams' THEN 'Microsoft Teams'
                ELSE n.source
            END
            WHEN n.source IN ('exchange', 'graph') THEN
                CASE n.source WHEN 'exchange' THEN 'the Exchange mailbox ' ELSE 'the Exchange Online mailbox ' END
                || split_part(n.partition_key, '/', 1)
                || ' (' || substr(n.partition_key, strpos(n.partition_key, '/') + 1) || ')'
            WHEN n.channel = 'slack' THEN
                CASE
                    WHEN s.kind = 'im' THEN 'the Slack DM of ' || coalesce(s.people, n.partition_key)
                    WHEN s.kind = 'mpim' THEN 'the Slack group DM of ' || coalesce(s.people, n.partition_key)
                    ELSE 'the Slack channel #' || coalesce(s.name, r.partition_name, n.partition_key)
                END
                || CASE WHEN n.source = 'slack_export' THEN ' (export)' ELSE '' END
            WHEN n.source = 'teams' AND starts_with(n.partition_key, 'chats:') THEN
                'the Teams chats of ' || substr(n.partition_key, 7)
            WHEN n.source = 'teams' AND starts_with(n.partition_key, 'team:') THEN
                'the Teams channels of team ' || substr(n.partition_key, 6)
            WHEN n.channel = 'teams' THEN 'the saved Teams messages ' || n.partition_key
            WHEN n.partition_key = n.source THEN 'the ' || n.source || ' mail'
            ELSE 'the mail files ' || n.partition_key
        END AS label
    FROM with_sources AS n
    LEFT JOIN recorded AS r ON r.source = n.source AND r.partition_key = n.partition_key
    LEFT JOIN slack_names AS s ON n.channel = 'slack' AND s.channel_id = n.partition_key
),

-- Who each partition feeds. Mail: the vendors whose mail (from them, or to them) it gave in the history window.
-- Teams: the vendors its chats and channels with a message in the window are measured for.
-- Slack: the vendor a conversation is measured for, when it had a message in the window or is one of the
-- vendor's slack_channels; read by several sources, only the one with the newest message feeds it (an export
-- that the API has taken over is not missed). A listed channel that could not be found feeds its vendor too.
slack_candidates AS (
    SELECT
        n.source,
        n.partition_key,
        row_number() OVER (
            PARTITION BY n.partition_key ORDER BY n.newest_at DESC NULLS LAST, l.last_read_at DESC NULLS LAST
        ) AS rank
    FROM with_sources AS n
    INNER JOIN labelled AS l ON l.source = n.source AND l.partition_key = n.partition_key
    WHERE n.channel = 'slack' AND n.partition_key <> '*'
),

feeds AS (
    SELECT DISTINCT
        source,
        partition_key,
        vendor_id
    FROM (
        SELECT
            source,
            partition_key,
            unnest(recipient_vendor_ids) AS vendor_id
        FROM message_partitions
        WHERE channel = 'email'
        UNION ALL
        SELECT
            source,
            partition_key,
            vendor_id
        FROM message_partitions
        WHERE channel = 'email' AND side = 'vendor'
        UNION ALL
        SELECT
            k.source,
            k.partition_key,
            c.vendor_id
        FROM slack_candidates AS k
        INNER JOIN staging.stg_slack_conversations AS c ON c.channel_id = k.partition_key AND c.is_measured
        WHERE k.rank = 1
          AND (
              c.scope_reason = 'listed_channel'
              OR k.partition_key IN (SELECT slack_channel_id FROM window_messages)
          )
        UNION ALL
        SELECT
            m.source,
            m.partition_key,
            t.vendor_id
        FROM message_partitions AS m
        INNER JOIN staging.stg_teams_conversations AS t
            ON t.container_id = regexp_extract(m.message_key, '^teams:(.*):[^:]*$', 1) AND t.is_measured
        WHERE m.channel = 'teams'
        UNION ALL
        SELECT
            r.source,
            r.partition_key,
            i.party_id AS vendor_id
        FROM recorded AS r
        INNER JOIN marts.party_identifiers AS i ON i.kind = 'channel' AND i.identifier = lower(r.partition_key)
        WHERE r.channel = 'slack'
          AND r.partition_key NOT IN (SELECT channel_id FROM staging.stg_slack_conversations)
    ) AS fed
    WHERE vendor_id IN (SELECT party_id FROM marts.parties WHERE kind = 'vendor')
),

fed_vendors AS (
    SELECT
        source,
        partition_key,
        list(vendor_id ORDER BY vendor_id) AS vendor_ids
    FROM feeds
    GROUP BY ALL
),

states AS (
    SELECT
        l.*,
        f.failed_at,
        f.failed_error,
        s.business_days_silent,
        g.usual_gap_business_days,
        greatest(
            getvariable('alert_source_silent_business_days'),
            getvariable('alert_source_silent_gap_factor') * coalesce(g.usual_gap_business_days, 0)
        ) AS silent_after_business_days,
        coalesce(v.vendor_ids, []) AS vendor_ids,
        d.data_newest_at,
        coalesce(d.data_ended, FALSE) AS data_ended
    FROM labelled AS l
    LEFT JOIN failures AS f ON f.source = l.source AND f.partition_key = l.partition_key
    LEFT JOIN silence AS s ON s.source = l.source AND s.partition_key = l.partition_key
    LEFT JOIN usual_gaps AS g ON g.source = l.source AND g.partition_key = l.partition_key
    LEFT JOIN fed_vendors AS v ON v.source = l.source AND v.partition_key = l.partition_key
    CROSS JOIN data_end AS d
),

final AS (
    SELECT
        getvariable('report_day')::DATE AS day,
        s.source,
        s.partition_key,
        s.channel,
        s.label,
        CASE
            WHEN s.failed_at IS NOT NULL THEN 'failed'
            WHEN s.data_ended THEN 'ended'
            WHEN s.partition_key <> '*'
                AND (s.newest_at IS NULL OR s.business_days_silent > s.silent_after_business_days) THEN 'silent'
            ELSE 'ok'
        END AS state,
        CASE
            WHEN s.failed_at IS NOT NULL THEN
                s.label || ' could not be read on ' || freshness_day_text(s.failed_at)
                || strftime(timezone(getvariable('company_timezone'), s.failed_at), ' at %H:%M')
                || ': ' || coalesce(s.failed_error, 'unknown error')
            WHEN s.data_ended THEN
                'no message at all since ' || freshness_day_text(s.data_newest_at)
                || ': as_of is past the end of the data'
            WHEN s.partition_key = '*' THEN NULL
            WHEN s.newest_at IS NULL THEN
                CASE WHEN s.channel = 'email' THEN 'no mail from ' ELSE 'no message in ' END || s.label
                || CASE
                    WHEN s.ever_had_messages THEN
                        ' in the ' || (getvariable('alert_recent_days') + getvariable('alert_baseline_days'))
                        || ' days up to ' || strftime(getvariable('report_day'), '%-d %b')
                    ELSE ' yet'
                END
            WHEN s.business_days_silent > s.silent_after_business_days THEN
                CASE WHEN s.channel = 'email' THEN 'no mail from ' ELSE 'no message in ' END || s.label
                || ' since ' || freshness_day_text(s.newest_at) || ', '
                || s.business_days_silent || ' business day'
                || CASE WHEN s.business_days_silent = 1 THEN '' ELSE 's' END
                || CASE
                    WHEN s.usual_gap_business_days IS NULL THEN ''
                    ELSE ' (usual gap: '
                        || regexp_replace(printf('%.1f', s.usual_gap_business_days), '\.0$', '') || ')'
                END
        END AS reason,
        s.newest_at,
        s.business_days_silent,
        s.usual_gap_business_days,
        s.silent_after_business_days,
        s.last_read_at,
        s.failed_at,
        s.failed_error,
        s.vendor_ids,
        s.data_newest_at,
        freshness_day_text(s.data_newest_at) AS data_newest_day_text,
        s.data_ended
    FROM states AS s
)

SELECT * FROM final;

DROP MACRO freshness_day_text;

COMMENT ON TABLE marts.source_freshness IS 'Whether the data can be trusted, as of as_of: one row per source partition that was ever read (meta.source_reads) or gave a message in the history window (the alerts'' recent + baseline days ending on the report day), with its state and a one-line reason. A message counts in the partition it was first read from. Grain: (source, partition_key).';
COMMENT ON COLUMN marts.source_freshness.day IS 'The report day D (company-local date of as_of - 1 microsecond).';
COMMENT ON COLUMN marts.source_freshness.source IS 'mbox, slack_export, slack_api, exchange, graph, teams or teams_export (another value for messages loaded by other means).';
COMMENT ON COLUMN marts.source_freshness.partition_key IS 'As in meta.source_reads: mailbox/folder, Slack channel id (or name when it could not be found), mail file or folder; ''*'' for a whole Slack source.';
COMMENT ON COLUMN marts.source_freshness.channel IS 'email, slack or teams.';
COMMENT ON COLUMN marts.source_freshness.label IS 'The partition in words, as the digest names it: the Exchange mailbox achats@norelec.fr (inbox), the Slack channel #ext-kappa, ...';
COMMENT ON COLUMN marts.source_freshness.state IS 'failed (its last read, or its whole source''s, failed after its last success), ended (no message anywhere in the [alerts] data_ended_business_days company business days up to D), silent (no message for more than silent_after_business_days business days, or none yet; never for ''*''), else ok. The first that applies.';
COMMENT ON COLUMN marts.source_freshness.reason IS 'One line for people, dates in the company time zone; NULL when ok.';
COMMENT ON COLUMN marts.source_freshness.newest_at IS 'Its newest message sent by as_of: in the history window, else the newest its reads recorded (when not after as_of). ''*'': the newest of its partitions.';
COMMENT ON COLUMN marts.source_freshness.business_days_silent IS 'Company business days after the day of newest_at, up to and including D; NULL without newest_at.';
COMMENT ON COLUMN marts.source_freshness.usual_gap_business_days IS 'The 90th percentile of the business days between its consecutive days with messages in the history window; NULL with fewer than two such days.';
COMMENT ON COLUMN marts.source_freshness.silent_after_business_days IS 'max([alerts] source_silent_business_days, source_silent_gap_factor x usual_gap_business_days): more business days than this without a message is silent.';
COMMENT ON COLUMN marts.source_freshness.last_read_at IS 'When the last extraction that read it to the end started (meta.source_reads); NULL if never recorded.';
COMMENT ON COLUMN marts.source_freshness.failed_at IS 'When failed: the start of the extraction that failed on it (or on its whole source); else NULL.';
COMMENT ON COLUMN marts.source_freshness.failed_error IS 'When failed: why, one line.';
COMMENT ON COLUMN marts.source_freshness.vendor_ids IS 'The vendors it feeds. Mail: those whose mail (from or to them) it gave in the history window. Slack: the vendor the conversation is measured for, when it had a message in the window or is one of the vendor''s slack_channels (of a conversation read by several sources, only the one with the newest message).';
COMMENT ON COLUMN marts.source_freshness.data_newest_at IS 'The newest message anywhere sent by as_of (the same on every row).';
COMMENT ON COLUMN marts.source_freshness.data_newest_day_text IS 'The company-local day of data_newest_at as the reasons and the digest write it: ''13 Nov'', with the year when it is not the report day''s.';
COMMENT ON COLUMN marts.source_freshness.data_ended IS 'True when data_newest_at is more than [alerts] data_ended_business_days company business days before D: as_of is past the end of the data (the same on every row).';

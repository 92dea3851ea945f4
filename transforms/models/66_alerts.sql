-- The alerts of the report day D: each vendor rule firing on D, or resolved on D, with its state in the alert
-- history, and one row per vendor for its overdue items on each side (how many are new, worse, still open or
-- answered on D), each with up to 5 evidence messages, the most important first. Summaries are built from numbers
-- only: no vendor-controlled text goes into them. What users dismissed (marts.alert_history.dismissed_by,
-- intermediate.int_alert_items.dismissed_by) is left out: marts.dismissed_alerts lists it.
CREATE OR REPLACE TABLE marts.alerts AS
WITH
report AS (
    SELECT * FROM intermediate.int_report_days WHERE is_report_day
),

vendors AS (
    SELECT party_id AS vendor_id FROM marts.parties WHERE kind = 'vendor'
),

rule_rows AS (
    SELECT * FROM intermediate.int_alert_latency
    UNION ALL
    SELECT * FROM intermediate.int_alert_silence
    UNION ALL
    SELECT * FROM intermediate.int_alert_confusion
    UNION ALL
    SELECT * FROM intermediate.int_alert_chasing
),

rule_alerts AS (
    SELECT
        h.vendor_id,
        h.rule,
        h.subject,
        h.state,
        coalesce(r.severity, h.last_severity) AS severity,
        r.metric,
        r.value,
        r.threshold,
        r.baseline,
        CASE
            WHEN h.state = 'resolved' THEN printf(
                'No longer fires (it did from %s to %s)',
                strftime(h.first_seen, '%Y-%m-%d'),
                strftime(h.last_seen, '%Y-%m-%d')
            )
            ELSE r.summary
        END AS summary,
        h.first_seen,
        NULL::BIGINT AS new_items,
        NULL::BIGINT AS worse_items,
        NULL::BIGINT AS ongoing_items,
        NULL::BIGINT AS resolved_items
    FROM marts.alert_history AS h
    LEFT JOIN rule_rows AS r
        ON r.vendor_id = h.vendor_id AND r.rule = h.rule AND r.day = getvariable('report_day')
    WHERE h.item_key = '' AND h.state IN ('new', 'ongoing', 'worse', 'resolved') AND h.dismissed_by IS NULL
),

items_today AS (
    SELECT * FROM intermediate.int_alert_items WHERE day = getvariable('report_day') AND dismissed_by IS NULL
),

item_alerts AS (
    SELECT
        vendor_id,
        rule,
        any_value(subject) AS subject,
        CASE
            WHEN count(*) FILTER (WHERE state = 'worse') > 0 THEN 'worse'
            WHEN count(*) FILTER (WHERE state = 'new') > 0 THEN 'new'
            WHEN count(*) FILTER (WHERE state = 'ongoing') > 0 THEN 'ongoing'
            ELSE 'resolved'
        END AS state,
        CASE WHEN bool_or(severity = 'critical' AND state <> 'resolved') THEN 'critical' ELSE 'warning' END
            AS severity,
        'overdue_items' AS metric,
        count(*) FILTER (WHERE state <> 'resolved')::DOUBLE AS value,
        max(sla_minutes) AS threshold,
        NULL::DOUBLE AS baseline,
        printf(
            '%d waiting on %s past the %s h SLA (%d new today, %d newly past %sx); %d answered today',
            count(*) FILTER (WHERE state <> 'resolved'),
            CASE any_value(subject) WHEN 'vendor' THEN 'the vendor' ELSE 'us' END,
            regexp_replace(printf('%.1f', max(sla_minutes) / 60.0), '\.0$', ''),
            count(*) FILTER (WHERE state = 'new'),
            count(*) FILTER (WHERE state = 'worse'),
            regexp_replace(printf('%.1f', getvariable('alert_overdue_critical_factor')), '\.0$', ''),
            count(*) FILTER (WHERE state = 'resolved')
        ) AS summary,
        min(requested_at)::DATE AS first_seen,
        count(*) FILTER (WHERE state = 'new') AS new_items,
        count(*) FILTER (WHERE state = 'worse') AS worse_items,
        count(*) FILTER (WHERE state = 'ongoing') AS ongoing_items,
        count(*) FILTER (WHERE state = 'resolved') AS resolved_items
    FROM items_today
    GROUP BY vendor_id, rule
),

fired AS (
    SELECT * FROM rule_alerts
    UNION ALL
    SELECT * FROM item_alerts
),

-- Evidence: the messages behind each alert, most important first.
latency_evidence AS (
    SELECT
        q.vendor_id,
        CASE q.waiting_on WHEN 'vendor' THEN 'latency_drift' ELSE 'company_latency_drift' END AS rule,
        q.request_message_key AS message_key,
        coalesce(
            q.answered_business_minutes,
            (business_us_at(c.worked_before_us, c.start_us, c.end_us, report.ends_at)
                - q.worked_at_request_us) / 60e6
        ) AS waited_business_minutes,
        NULL::VARCHAR AS phrases,
        0 AS priority
    FROM intermediate.int_requests AS q
    CROSS JOIN report
    ASOF LEFT JOIN intermediate.int_business_clock AS c
        ON c.party_kind = q.waiting_on
       AND c.party_id = q.waiting_party
       AND report.ends_at >= c.start_utc
    WHERE (q.responded_at > report.window_starts_at AND q.responded_at <= report.ends_at)
       OR (q.requested_at <= report.ends_at AND (q.responded_at IS NULL OR q.responded_at > report.ends_at)
           AND q.requested_at > report.ends_at - to_days(getvariable('awaiting_lookback_days')))
),

silence_evidence AS (
    SELECT vendor_id, 'silence' AS rule, message_key, waited_business_minutes, phrases, priority
    FROM latency_evidence
    WHERE rule = 'latency_drift'
),

signal_messages AS (
    SELECT
        s.vendor_id,
        CASE WHEN s.signal IN ('nudge', 'escalation') THEN 'chasing' ELSE 'misunderstanding_spike' END AS rule,
        s.message_key,
        max(s.sent_at) AS sent_at,
        array_to_string(list_sort(list_distinct(list(s.evidence))), ', ') AS phrases
    FROM marts.message_signals AS s
    CROSS JOIN report
    WHERE s.sent_at > report.window_starts_at
      AND s.sent_at <= report.ends_at
      AND (s.signal IN ('clarification', 'rework', 'repetition', 'info_request')
           OR (s.side = 'company' AND s.signal IN ('nudge', 'escalation')))
    GROUP BY ALL
),

signal_evidence AS (
    SELECT
        vendor_id,
        rule,
        message_key,
        NULL::DOUBLE AS waited_business_minutes,
        phrases,
        -epoch(sent_at) AS priority
    FROM signal_messages
),

item_evidence AS (
    SELECT
        i.vendor_id,
        i.rule,
        i.item_key AS message_key,
        w.waited_business_minutes,
        NULL::VARCHAR AS phrases,
        CASE i.state WHEN 'worse' THEN 0 WHEN 'new' THEN 1 WHEN 'ongoing' THEN 2 ELSE 3 END * 1e12
            + epoch(i.requested_at) AS priority
    FROM items_today AS i
    -- the same wait as the latency evidence: the answer's business minutes, or the wait so far
    LEFT JOIN latency_evidence AS w ON w.message_key = i.item_key
),

evidence_candidates AS (
    SELECT e.*
    FROM (
        SELECT * FROM latency_evidence
        UNION ALL
        SELECT * FROM silence_evidence
        UNION ALL
        SELECT * FROM signal_evidence
        UNION ALL
        SELECT * FROM item_evidence
    ) AS e
    SEMI JOIN fired AS f ON f.vendor_id = e.vendor_id AND f.rule = e.rule AND f.state <> 'resolved'
),

evidence_items AS (
    SELECT * FROM (
        SELECT
            *,
            row_number() OVER (
                PARTITION BY vendor_id, rule
                ORDER BY priority ASC, waited_business_minutes DESC NULLS LAST, message_key ASC
            ) AS rank
        FROM evidence_candidates
    ) AS ranked
    WHERE rank <= 5
),

evidence_messages AS (
    SELECT
        e.vendor_id,
        e.rule,
        e.rank,
        e.message_key,
        e.waited_business_minutes,
        e.phrases,
        m.conversation_key,
        m.channel,
        m.slack_channel_id,
        nullif(trim(regexp_replace(m.subject, '\s+', ' ', 'g')), '') AS subject,
        nullif(trim(regexp_replace(m.body_text, '\s+', ' ', 'g')), '') AS body
    FROM evidence_items AS e
    LEFT JOIN core.messages AS m ON m.message_key = e.message_key
),

-- A long body is cut to about 80 characters at a word boundary (a hard cut when that would lose over half of it).
evidence_labels AS (
    SELECT
        *,
        CASE
            WHEN channel = 'email' AND subject IS NOT NULL THEN subject
            WHEN length(body) <= 80 THEN body
            WHEN length(regexp_replace(left(body, 80), '\s+\S*$', '')) BETWEEN 40 AND 79
                THEN regexp_replace(left(body, 80), '\s+\S*$', '') || '…'
            ELSE rtrim(left(body, 79)) || '…'
        END AS base_label
    FROM evidence_messages
),

evidence_lists AS (
    SELECT
        vendor_id,
        rule,
        list(
            {
                'message_key': message_key,
                'conversation_key': conversation_key,
                'channel': channel,
                'label': CASE
                    WHEN phrases IS NULL THEN base_label
                    ELSE '"' || phrases || '"' || coalesce(' — ' || base_label, '')
                END,
                'link': CASE
                    WHEN channel = 'slack' AND contains(message_key, ':') THEN
                        rtrim(getvariable('slack_workspace_url'), '/') || '/archives/' || slack_channel_id || '/p'
                        || replace(substr(message_key, strpos(message_key, ':') + 1), '.', '')
                END,
                'waited_business_minutes': waited_business_minutes
            }::STRUCT(
                message_key VARCHAR,
                conversation_key VARCHAR,
                channel VARCHAR,
                label VARCHAR,
                link VARCHAR,
                waited_business_minutes DOUBLE
            )
            ORDER BY rank
        ) AS evidence
    FROM evidence_labels
    GROUP BY vendor_id, rule
),

final AS (
    SELECT
        getvariable('report_day')::DATE AS day,
        f.vendor_id,
        f.rule,
        f.subject,
        f.state,
        f.severity,
        f.metric,
        f.value::DOUBLE AS value,
        f.threshold::DOUBLE AS threshold,
        f.baseline::DOUBLE AS baseline,
        f.summary,
        f.first_seen,
        f.new_items,
        f.worse_items,
        f.ongoing_items,
        f.resolved_items,
        coalesce(
            e.evidence,
            []::STRUCT(
                message_key VARCHAR,
                conversation_key VARCHAR,
                channel VARCHAR,
                label VARCHAR,
                link VARCHAR,
                waited_business_minutes DOUBLE
            )[]
        ) AS evidence
    FROM fired AS f
    SEMI JOIN vendors AS v ON v.vendor_id = f.vendor_id
    LEFT JOIN evidence_lists AS e ON e.vendor_id = f.vendor_id AND e.rule = f.rule
)

SELECT * FROM final;

COMMENT ON TABLE marts.alerts IS 'The alerts of the report day D (the company-local date of as_of - 1 microsecond): each vendor rule that fires on D or was resolved on D (latency_drift, silence, misunderstanding_spike, chasing about the vendor; company_latency_drift about us), with its state in marts.alert_history, and per vendor and side the overdue items (vendor_overdue: waiting on the vendor; company_overdue: waiting on us) with how many are new, worse, still open and answered on D. Rules and items that users dismissed are left out (marts.dismissed_alerts). Grain: (vendor_id, rule).';
COMMENT ON COLUMN marts.alerts.day IS 'The report day D (company-local date).';
COMMENT ON COLUMN marts.alerts.vendor_id IS 'The configured vendor the alert is about.';
COMMENT ON COLUMN marts.alerts.rule IS 'latency_drift, silence, misunderstanding_spike, chasing, company_latency_drift, vendor_overdue or company_overdue.';
COMMENT ON COLUMN marts.alerts.subject IS 'vendor (the vendor is the problem) or company (waiting on us: it never colours the vendor).';
COMMENT ON COLUMN marts.alerts.state IS 'new, worse, ongoing or resolved on D (marts.alert_history); for overdue items the most pressing of their states (worse, new, ongoing, resolved).';
COMMENT ON COLUMN marts.alerts.severity IS 'warning or critical. A rule is critical when materially worse than the vendor''s own baseline (drift_critical_factor, spike_critical_factor); overdue items when one has waited past overdue_critical_factor x its SLA.';
COMMENT ON COLUMN marts.alerts.metric IS 'What value measures: median_business_minutes, answers_in_window, confusion_per_100_messages, company_chasers or overdue_items.';
COMMENT ON COLUMN marts.alerts.value IS 'The measured value on D (NULL for a resolved rule).';
COMMENT ON COLUMN marts.alerts.threshold IS 'The threshold it crossed (see each staging rule table); for overdue items the SLA in minutes.';
COMMENT ON COLUMN marts.alerts.baseline IS 'The vendor''s own normal it was compared with (NULL for overdue items).';
COMMENT ON COLUMN marts.alerts.summary IS 'One English sentence built from the numbers only (never from vendor-controlled text).';
COMMENT ON COLUMN marts.alerts.first_seen IS 'First report day of the episode (overdue items: the day the oldest was asked).';
COMMENT ON COLUMN marts.alerts.new_items IS 'Overdue items: how many crossed the SLA on D (NULL for rules).';
COMMENT ON COLUMN marts.alerts.worse_items IS 'Overdue items: how many crossed overdue_critical_factor x the SLA on D.';
COMMENT ON COLUMN marts.alerts.ongoing_items IS 'Overdue items: how many were already overdue before D and still wait (counted, not announced again).';
COMMENT ON COLUMN marts.alerts.resolved_items IS 'Overdue items: how many were answered on D after being overdue.';
COMMENT ON COLUMN marts.alerts.evidence IS 'Up to 5 messages behind the alert, most important first: the slowest answers and longest waits of the window (latency_drift, silence), the window''s signal messages, newest first (misunderstanding_spike, chasing), the items new or worse on D then the longest open (overdue). message_key = the request message (the signal message for a signal rule); label = its email subject, else the first ~80 characters of its body_text; link = Slack permalink when slack_workspace_url is configured; waited_business_minutes = business minutes of the answer or of the wait so far.';

-- Alerts of the report day D = getvariable('report_day'): one row per (vendor, rule) that fires on D, at the
-- highest severity reached, with up to 5 evidence items. Windows are company-local days (the `day` columns of the
-- marts): recent = D - (alert_recent_days - 1) .. D, baseline = the alert_baseline_days days before it.
-- Summaries are built from numbers only: no vendor-controlled text goes into them.

-- Items past their SLA at as_of, configured vendors only, each with the item dismissal in force on it
-- (marts.dismissals): the overdue rules alert on the others; marts.dismissed_alerts (at the end) lists these.
CREATE OR REPLACE TEMP VIEW overdue_candidates AS
SELECT
    a.*,
    CASE WHEN a.waiting_on = 'vendor' THEN 'vendor_overdue' ELSE 'company_overdue' END AS rule,
    (
        SELECT max(d.feedback_id)
        FROM marts.dismissals AS d
        WHERE d.target = 'item'
          AND d.conversation_key = a.conversation_key
          AND d.request_message_key = a.request_message_key
    ) AS dismissed_by
FROM marts.awaiting AS a
WHERE a.sla_breached
  AND a.vendor_id IN (SELECT party_id FROM marts.parties WHERE kind = 'vendor');

CREATE OR REPLACE TABLE marts.alerts AS
WITH
vendors AS (
    SELECT party_id AS vendor_id
    FROM marts.parties
    WHERE kind = 'vendor'
),

vendor_responses AS (
    SELECT
        r.vendor_id,
        r.channel,
        r.conversation_key,
        r.request_message_key,
        r.business_minutes,
        r.sla_minutes,
        r.sla_breached,
        r.day,
        r.day >= getvariable('report_day') - (getvariable('alert_recent_days') - 1) AS is_recent
    FROM marts.responses AS r
    SEMI JOIN vendors AS v ON v.vendor_id = r.vendor_id
    WHERE r.direction = 'vendor_response'
      AND r.day <= getvariable('report_day')
      AND r.day >= getvariable('report_day')
          - (getvariable('alert_recent_days') + getvariable('alert_baseline_days') - 1)
),

-- vendor_sla_breaches ------------------------------------------------------------------------------------------

sla_day AS (
    SELECT
        vendor_id,
        count(*) AS responses,
        count(*) FILTER (WHERE sla_breached) AS breaches,
        max(sla_minutes) AS sla_minutes
    FROM vendor_responses
    WHERE day = getvariable('report_day')
    GROUP BY vendor_id
),

sla_levels AS (
    SELECT
        *,
        breaches >= getvariable('alert_sla_critical_count') AS count_critical,
        breaches::DOUBLE / responses >= getvariable('alert_sla_critical_share') AS share_critical
    FROM sla_day
    WHERE breaches >= 1
),

sla_alerts AS (
    SELECT
        vendor_id,
        'vendor_sla_breaches' AS rule,
        CASE WHEN count_critical OR share_critical THEN 'critical' ELSE 'warning' END AS severity,
        'sla_breaches' AS metric,
        breaches::DOUBLE AS value,
        CASE
            WHEN count_critical THEN getvariable('alert_sla_critical_count')::DOUBLE
            -- critical by share only: the smallest breach count reaching the share
            WHEN share_critical THEN greatest(1, ceil(round(getvariable('alert_sla_critical_share') * responses, 9)))
            ELSE 1.0
        END AS threshold,
        responses::DOUBLE AS baseline,
        printf(
            '%d of %d vendor %s answered on %s took longer than the %s h SLA',
            breaches,
            responses,
            CASE WHEN responses = 1 THEN 'response' ELSE 'responses' END,
            strftime(getvariable('report_day'), '%Y-%m-%d'),
            regexp_replace(printf('%.1f', sla_minutes / 60.0), '\.0$', '')
        ) AS summary
    FROM sla_levels
),

sla_evidence AS (
    SELECT
        vendor_id,
        'vendor_sla_breaches' AS rule,
        request_message_key AS message_key,
        business_minutes AS waited_business_minutes,
        NULL::VARCHAR AS phrases,
        row_number() OVER (PARTITION BY vendor_id ORDER BY business_minutes DESC, request_message_key) AS rank
    FROM vendor_responses
    WHERE day = getvariable('report_day') AND sla_breached
),

-- vendor_overdue, company_overdue ------------------------------------------------------------------------------

overdue_items AS (
    SELECT
        a.vendor_id,
        a.rule,
        a.waiting_on,
        a.request_message_key,
        a.business_minutes_waiting,
        a.sla_minutes,
        a.business_minutes_waiting > getvariable('alert_overdue_critical_factor') * a.sla_minutes AS is_critical
    FROM overdue_candidates AS a
    WHERE a.dismissed_by IS NULL
),

overdue_groups AS (
    SELECT
        vendor_id,
        rule,
        any_value(waiting_on) AS waiting_on,
        count(*) AS items,
        bool_or(is_critical) AS is_critical,
        max(sla_minutes) AS sla_minutes,
        max(business_minutes_waiting) AS longest_minutes
    FROM overdue_items
    GROUP BY vendor_id, rule
),

overdue_alerts AS (
    SELECT
        vendor_id,
        rule,
        CASE WHEN is_critical THEN 'critical' ELSE 'warning' END AS severity,
        'overdue_items' AS metric,
        items::DOUBLE AS value,
        CASE
            WHEN is_critical THEN getvariable('alert_overdue_critical_factor') * sla_minutes
            ELSE sla_minutes
        END AS threshold,
        NULL::DOUBLE AS baseline,
        CASE
            WHEN items = 1 THEN printf(
                '1 item has waited on the %s past the %s h SLA: %.1f business hours',
                waiting_on,
                regexp_replace(printf('%.1f', sla_minutes / 60.0), '\.0$', ''),
                longest_minutes / 60.0
            )
            ELSE printf(
                '%d items have waited on the %s past the %s h SLA, the longest %.1f business hours',
                items,
                waiting_on,
                regexp_replace(printf('%.1f', sla_minutes / 60.0), '\.0$', ''),
                longest_minutes / 60.0
            )
        END AS summary
    FROM overdue_groups
),

overdue_evidence AS (
    SELECT
        vendor_id,
        rule,
        request_message_key AS message_key,
        business_minutes_waiting AS waited_business_minutes,
        NULL::VARCHAR AS phrases,
        row_number() OVER (
            PARTITION BY vendor_id, rule ORDER BY business_minutes_waiting DESC, request_message_key
        ) AS rank
    FROM overdue_items
),

-- misunderstanding_spike ---------------------------------------------------------------------------------------

vendor_days AS (
    SELECT
        d.vendor_id,
        d.signals,
        d.messages,
        d.day >= getvariable('report_day') - (getvariable('alert_recent_days') - 1) AS is_recent
    FROM marts.vendor_daily AS d
    SEMI JOIN vendors AS v ON v.vendor_id = d.vendor_id
    WHERE d.day <= getvariable('report_day')
      AND d.day >= getvariable('report_day')
          - (getvariable('alert_recent_days') + getvariable('alert_baseline_days') - 1)
),

signal_windows AS (
    SELECT
        vendor_id,
        coalesce(sum(signals) FILTER (WHERE is_recent), 0) AS recent_signals,
        coalesce(sum(messages) FILTER (WHERE is_recent), 0) AS recent_messages,
        coalesce(sum(signals) FILTER (WHERE NOT is_recent), 0) AS baseline_signals,
        coalesce(sum(messages) FILTER (WHERE NOT is_recent), 0) AS baseline_messages
    FROM vendor_days
    GROUP BY vendor_id
),

signal_rates AS (
    SELECT
        *,
        CASE WHEN recent_messages > 0 THEN 100.0 * recent_signals / recent_messages END AS recent_rate,
        CASE WHEN baseline_messages > 0 THEN 100.0 * baseline_signals / baseline_messages ELSE 0.0 END
            AS baseline_rate
    FROM signal_windows
),

spike_alerts AS (
    SELECT
        vendor_id,
        'misunderstanding_spike' AS rule,
        'warning' AS severity,
        'signals_per_100_messages' AS metric,
        recent_rate AS value,
        getvariable('alert_spike_factor') * baseline_rate AS threshold,
        baseline_rate AS baseline,
        printf(
            '%.1f signals per 100 messages in the last %d %s vs %.1f before',
            recent_rate,
            getvariable('alert_recent_days'),
            CASE WHEN getvariable('alert_recent_days') = 1 THEN 'day' ELSE 'days' END,
            baseline_rate
        ) AS summary
    FROM signal_rates
    WHERE recent_signals >= getvariable('alert_spike_min_signals')
      AND recent_messages > 0
      -- recent_rate >= factor x baseline_rate, without divisions (exact at the edge; baseline rate 0 when empty)
      AND recent_signals * baseline_messages >= getvariable('alert_spike_factor') * baseline_signals * recent_messages
),

spike_messages AS (
    SELECT
        s.vendor_id,
        s.message_key,
        max(s.sent_at) AS sent_at,
        array_to_string(list_sort(list_distinct(list(s.evidence))), ', ') AS phrases
    FROM marts.message_signals AS s
    SEMI JOIN spike_alerts AS a ON a.vendor_id = s.vendor_id
    WHERE s.day <= getvariable('report_day')
      AND s.day >= getvariable('report_day') - (getvariable('alert_recent_days') - 1)
    GROUP BY s.vendor_id, s.message_key
),

spike_evidence AS (
    SELECT
        vendor_id,
        'misunderstanding_spike' AS rule,
        message_key,
        NULL::DOUBLE AS waited_business_minutes,
        phrases,
        row_number() OVER (PARTITION BY vendor_id ORDER BY sent_at DESC, message_key DESC) AS rank
    FROM spike_messages
),

-- latency_drift ------------------------------------------------------------------------------------------------

drift_windows AS (
    SELECT
        vendor_id,
        count(*) FILTER (WHERE is_recent) AS recent_responses,
        quantile_cont(business_minutes, 0.5) FILTER (WHERE is_recent) AS recent_median,
        count(*) FILTER (WHERE NOT is_recent) AS baseline_responses,
        quantile_cont(business_minutes, 0.5) FILTER (WHERE NOT is_recent) AS baseline_median
    FROM vendor_responses
    GROUP BY vendor_id
),

drift_alerts AS (
    SELECT
        vendor_id,
        'latency_drift' AS rule,
        'warning' AS severity,
        'median_business_minutes' AS metric,
        recent_median AS value,
        getvariable('alert_drift_factor') * baseline_median AS threshold,
        baseline_median AS baseline,
        printf(
            'Median vendor response %.1f business hours in the last %d %s vs %.1f before',
            recent_median / 60.0,
            getvariable('alert_recent_days'),
            CASE WHEN getvariable('alert_recent_days') = 1 THEN 'day' ELSE 'days' END,
            baseline_median / 60.0
        ) AS summary
    FROM drift_windows
    WHERE recent_responses >= getvariable('alert_drift_min_responses')
      AND baseline_responses >= getvariable('alert_drift_min_responses')
      AND recent_median > 0
      AND recent_median >= getvariable('alert_drift_factor') * baseline_median
),

drift_evidence AS (
    SELECT
        r.vendor_id,
        'latency_drift' AS rule,
        r.request_message_key AS message_key,
        r.business_minutes AS waited_business_minutes,
        NULL::VARCHAR AS phrases,
        row_number() OVER (PARTITION BY r.vendor_id ORDER BY r.business_minutes DESC, r.request_message_key) AS rank
    FROM vendor_responses AS r
    SEMI JOIN drift_alerts AS a ON a.vendor_id = r.vendor_id
    WHERE r.is_recent
),

-- all rules ----------------------------------------------------------------------------------------------------

fired AS (
    SELECT * FROM sla_alerts
    UNION ALL
    SELECT * FROM overdue_alerts
    UNION ALL
    SELECT * FROM spike_alerts
    UNION ALL
    SELECT * FROM drift_alerts
),

evidence_items AS (
    SELECT * FROM (
        SELECT * FROM sla_evidence
        UNION ALL
        SELECT * FROM overdue_evidence
        UNION ALL
        SELECT * FROM spike_evidence
        UNION ALL
        SELECT * FROM drift_evidence
    )
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
evidence_snippets AS (
    SELECT
        *,
        regexp_replace(left(body, 80), '\s+\S*$', '') AS word_cut
    FROM evidence_messages
),

evidence_labels AS (
    SELECT
        *,
        CASE
            WHEN channel <> 'slack' AND subject IS NOT NULL THEN subject
            WHEN length(body) <= 80 THEN body
            WHEN length(word_cut) BETWEEN 40 AND 79 THEN word_cut || '…'
            ELSE rtrim(left(body, 79)) || '…'
        END AS base_label
    FROM evidence_snippets
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
        f.severity,
        f.metric,
        f.value::DOUBLE AS value,
        f.threshold::DOUBLE AS threshold,
        f.baseline::DOUBLE AS baseline,
        f.summary,
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
    LEFT JOIN evidence_lists AS e ON e.vendor_id = f.vendor_id AND e.rule = f.rule
)

SELECT * FROM final;

COMMENT ON TABLE marts.alerts IS 'Alerts of the report day D (the company-local date of as_of - 1 microsecond): one row per (vendor_id, rule) that fires on D, at the highest severity reached; configured vendors only. Rules: vendor_sla_breaches (vendor responses answered on D over SLA), vendor_overdue / company_overdue (awaiting items past SLA at as_of), misunderstanding_spike (signals per 100 messages, recent window vs baseline window), latency_drift (median vendor business response time, recent vs baseline). Recent window = the [alerts] recent_days days ending D; baseline = the baseline_days days before it (company-local days). Thresholds from [alerts]. Alerts and overdue items that users dismissed (marts.dismissals) are left out; marts.dismissed_alerts lists them. Grain: (vendor_id, rule).';
COMMENT ON COLUMN marts.alerts.day IS 'The report day D (company-local date).';
COMMENT ON COLUMN marts.alerts.vendor_id IS 'The configured vendor the alert is about.';
COMMENT ON COLUMN marts.alerts.rule IS 'vendor_sla_breaches, vendor_overdue, company_overdue, misunderstanding_spike or latency_drift.';
COMMENT ON COLUMN marts.alerts.severity IS 'warning or critical: the highest level the rule reached (misunderstanding_spike and latency_drift are warnings only). vendor_sla_breaches is critical at sla_breach_critical_count breaches or when breaches / vendor responses on D >= sla_breach_critical_share; the overdue rules when any item waited more than overdue_critical_factor x its SLA.';
COMMENT ON COLUMN marts.alerts.metric IS 'What value measures: sla_breaches, overdue_items, signals_per_100_messages or median_business_minutes.';
COMMENT ON COLUMN marts.alerts.value IS 'The measured value: breaches on D; items past SLA; signals per 100 counted messages (both sides, all channels) over the recent window; median business minutes of the vendor''s responses over the recent window.';
COMMENT ON COLUMN marts.alerts.threshold IS 'The threshold that fired: vendor_sla_breaches 1 (warning) or sla_breach_critical_count (critical by count) or, critical by share only, the smallest breach count reaching sla_breach_critical_share of the vendor responses on D (ceil(share x responses), at least 1); overdue rules the SLA minutes (warning) or overdue_critical_factor x SLA minutes (critical); misunderstanding_spike spike_factor x baseline rate; latency_drift drift_factor x baseline median.';
COMMENT ON COLUMN marts.alerts.baseline IS 'What value is compared with: vendor responses answered on D (vendor_sla_breaches); NULL (overdue rules); baseline-window signals per 100 messages, 0 when the baseline has no messages (misunderstanding_spike); baseline-window median business minutes (latency_drift).';
COMMENT ON COLUMN marts.alerts.summary IS 'One English sentence built from the numbers only (never from vendor-controlled text).';
COMMENT ON COLUMN marts.alerts.evidence IS 'Up to 5 messages behind the alert, most important first: breached responses of D, longest first (vendor_sla_breaches); overdue items, longest-waiting first (overdue rules); recent signal messages, newest first (misunderstanding_spike); slowest recent vendor responses (latency_drift). message_key = the request message (the signal message for a spike); label = its email subject, else the first ~80 characters of its body_text (Slack; whitespace folded, cut at a word boundary with an ellipsis), prefixed with the matched phrases for a spike; link = Slack permalink {slack_workspace_url}/archives/{slack_channel_id}/p{ts without the dot} when slack_workspace_url is configured, else NULL; waited_business_minutes = business minutes of the response or of the wait so far (NULL for signals).';

-- Dismissed by users ------------------------------------------------------------------------------------------
-- The alerts of D that a dismissal in force covers (marts.dismissals: same vendor and rule, no worse than when
-- dismissed unless it has an end date) leave marts.alerts, and with the overdue items dismissed above they are
-- listed here: they do not alert, and the digest counts them.
CREATE OR REPLACE TABLE marts.dismissed_alerts AS
WITH
dismissed_rules AS (
    SELECT
        a.day,
        a.vendor_id,
        a.rule,
        'alert' AS target,
        a.severity,
        a.value,
        a.summary,
        NULL::VARCHAR AS conversation_key,
        NULL::VARCHAR AS request_message_key,
        NULL::DOUBLE AS business_minutes_waiting,
        max(d.feedback_id) AS feedback_id
    FROM marts.alerts AS a
    INNER JOIN marts.dismissals AS d ON d.target = 'alert' AND d.vendor_id = a.vendor_id AND d.rule = a.rule
    WHERE (d.max_severity IS NULL OR d.max_severity = 'critical' OR a.severity = 'warning')
      AND (d.max_value IS NULL OR a.value <= d.max_value)
    GROUP BY ALL
),

dismissed_items AS (
    SELECT
        getvariable('report_day')::DATE AS day,
        vendor_id,
        rule,
        'item' AS target,
        NULL::VARCHAR AS severity,
        NULL::DOUBLE AS value,
        NULL::VARCHAR AS summary,
        conversation_key,
        request_message_key,
        business_minutes_waiting,
        dismissed_by AS feedback_id
    FROM overdue_candidates
    WHERE dismissed_by IS NOT NULL
)

SELECT * FROM dismissed_rules
UNION ALL BY NAME
SELECT * FROM dismissed_items;

DELETE FROM marts.alerts
USING marts.dismissed_alerts AS d
WHERE d.target = 'alert' AND d.vendor_id = alerts.vendor_id AND d.rule = alerts.rule;

COMMENT ON TABLE marts.dismissed_alerts IS 'What users dismissed on the report day D, so it did not alert: alerts that a dismissal in force covered (target alert; left out of marts.alerts) and overdue items past SLA that an item dismissal covered (target item; left out of the overdue rules, their alert, value and evidence). Grain: (vendor_id, rule, target, request_message_key).';
COMMENT ON COLUMN marts.dismissed_alerts.day IS 'The report day D.';
COMMENT ON COLUMN marts.dismissed_alerts.vendor_id IS 'The vendor of the alert or item.';
COMMENT ON COLUMN marts.dismissed_alerts.rule IS 'The alert rule; for an item, the overdue rule it would have counted in (vendor_overdue or company_overdue).';
COMMENT ON COLUMN marts.dismissed_alerts.target IS 'alert (a whole alert of marts.alerts) or item (one overdue item).';
COMMENT ON COLUMN marts.dismissed_alerts.severity IS 'target alert: its severity (see marts.alerts.severity); NULL for an item.';
COMMENT ON COLUMN marts.dismissed_alerts.value IS 'target alert: its value (see marts.alerts.value); NULL for an item.';
COMMENT ON COLUMN marts.dismissed_alerts.summary IS 'target alert: its summary (see marts.alerts.summary); NULL for an item.';
COMMENT ON COLUMN marts.dismissed_alerts.conversation_key IS 'target item: the measured conversation (marts.awaiting.conversation_key); NULL for an alert.';
COMMENT ON COLUMN marts.dismissed_alerts.request_message_key IS 'target item: the message that asked (marts.awaiting.request_message_key); NULL for an alert.';
COMMENT ON COLUMN marts.dismissed_alerts.business_minutes_waiting IS 'target item: how long it has waited (marts.awaiting.business_minutes_waiting); NULL for an alert.';
COMMENT ON COLUMN marts.dismissed_alerts.feedback_id IS 'The decision that dismissed it (meta.feedback.id; the newest when several apply).';

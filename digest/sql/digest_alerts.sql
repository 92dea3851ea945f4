-- The alerts of the report day $1 for the digest, each evidence message labelled with what it shows: an answer
-- that came late, a request still waiting, or a misunderstanding / chasing signal.
WITH
alerts AS (
    SELECT * FROM marts.alerts WHERE day = $1
),

evidence AS (
    SELECT
        a.vendor_id,
        a.rule,
        list(
            {
                'label': coalesce(e.label, e.message_key),
                'link': e.link,
                'waited_business_minutes': e.waited_business_minutes,
                'kind': CASE
                    WHEN a.rule IN ('misunderstanding_spike', 'chasing') THEN 'signal'
                    WHEN r.request_message_key IS NOT NULL THEN 'answered late'
                    ELSE 'waiting'
                END
            }
            ORDER BY t.position
        ) AS evidence
    FROM alerts AS a
    CROSS JOIN range(1, len(a.evidence) + 1) AS t(position)
    CROSS JOIN LATERAL (SELECT a.evidence[t.position] AS e) AS item
    LEFT JOIN (SELECT DISTINCT request_message_key FROM marts.responses WHERE day <= $1) AS r
        ON r.request_message_key = e.message_key
    GROUP BY a.vendor_id, a.rule
)

SELECT
    a.vendor_id,
    a.rule,
    a.subject,
    a.state,
    a.severity,
    a.summary,
    a.first_seen,
    a.new_items,
    a.worse_items,
    a.ongoing_items,
    a.resolved_items,
    coalesce(e.evidence, []) AS evidence
FROM alerts AS a
LEFT JOIN evidence AS e ON e.vendor_id = a.vendor_id AND e.rule = a.rule
ORDER BY a.vendor_id, CASE a.severity WHEN 'critical' THEN 0 ELSE 1 END, a.rule;

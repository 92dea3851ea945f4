-- The digest's "Waiting" lists of the report day $1: every overdue item still waiting at the end of the day (the
-- items counted by marts.alerts as new, worse or ongoing), who waits on whom and since when. The owner of an item
-- waiting on us is the last company person who wrote in the conversation up to the request (they hold the thread),
-- else the request's first recipient. Ordered like the alert evidence (worse, new, ongoing, oldest first), whose
-- links it reuses.
WITH
evidence_links AS (
    SELECT a.vendor_id, a.rule, e.message_key, e.link
    FROM marts.alerts AS a, unnest(a.evidence) AS t(e)
    WHERE a.day = $1
)

SELECT
    i.vendor_id,
    i.rule,
    i.subject,
    i.state,
    i.requested_at,
    i.item_key AS message_key,
    coalesce(
        CASE WHEN m.channel = 'email' THEN nullif(trim(m.subject), '') END,
        nullif(trim(regexp_replace(m.body_text, '\s+', ' ', 'g')), ''),
        i.item_key
    ) AS label,
    coalesce(m.sender_name, m.sender) AS requester,
    CASE
        WHEN i.subject = 'company' THEN coalesce(
            (
                SELECT arg_max(coalesce(c.sender_name, c.sender), c.sent_at)
                FROM core.messages AS c
                INNER JOIN staging.stg_message_parties AS p ON p.message_key = c.message_key
                WHERE c.conversation_key = m.conversation_key
                  AND p.side = 'company'
                  AND c.sent_at <= m.sent_at
            ),
            m.recipients[1]
        )
    END AS owner,
    l.link
FROM intermediate.int_alert_items AS i
LEFT JOIN core.messages AS m ON m.message_key = i.item_key
LEFT JOIN evidence_links AS l ON l.vendor_id = i.vendor_id AND l.rule = i.rule AND l.message_key = i.item_key
WHERE i.day = $1 AND i.state <> 'resolved'
ORDER BY
    i.vendor_id,
    i.rule,
    CASE i.state WHEN 'worse' THEN 0 WHEN 'new' THEN 1 ELSE 2 END,
    i.requested_at,
    i.item_key;

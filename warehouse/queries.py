"""The query surface as examples: what the README, `commhealth status` and the demo show analysts."""

from __future__ import annotations

# Queries shown to newcomers; each runs against the published copy, so the printed numbers are what they will get.
STATUS_QUERIES: list[tuple[str, str]] = [
    (
        "Messages by channel and source",
        """SELECT channel, source, count(*) AS messages, count_if(is_automated) AS automated,
       min(sent_at)::DATE AS first_day, max(sent_at)::DATE AS last_day
FROM core.messages GROUP BY ALL ORDER BY ALL""",
    ),
    (
        "Quarantined inputs by reason",
        "SELECT source, reason, count(*) AS inputs FROM core.quarantine GROUP BY ALL ORDER BY ALL",
    ),
]

METRIC_QUERIES: list[tuple[str, str]] = [
    (
        "Messages by channel, side and vendor (who is who as of the last build)",
        """SELECT m.channel, p.side, coalesce(p.vendor_id, '-') AS vendor_id, count(*) AS messages,
       count_if(m.is_automated) AS automated, count_if(p.is_internal) AS internal
FROM core.messages AS m JOIN staging.stg_message_parties AS p USING (message_key)
GROUP BY ALL ORDER BY ALL""",
    ),
    (
        "Response time per vendor and direction, in business hours",
        """SELECT vendor_id, direction, count(*) AS responses,
       round(median(business_minutes) / 60, 1) AS median_hours,
       round(quantile_cont(business_minutes, 0.9) / 60, 1) AS p90_hours,
       count_if(sla_breached) AS sla_breaches
FROM marts.responses GROUP BY ALL ORDER BY ALL""",
    ),
    (
        "Awaiting a reply now",
        """SELECT vendor_id, waiting_on, count(*) AS items, count_if(sla_breached) AS past_sla,
       round(max(business_minutes_waiting) / 60, 1) AS longest_wait_hours
FROM marts.awaiting GROUP BY ALL ORDER BY ALL""",
    ),
    (
        "Misunderstanding signals per vendor",
        """SELECT vendor_id, signal, count(*) AS messages
FROM marts.message_signals GROUP BY ALL ORDER BY ALL""",
    ),
]

VENDOR_SUMMARY: tuple[str, str] = (
    "Per vendor: response time in business hours both ways, SLA breaches, awaiting items, signals",
    """WITH r AS (
    SELECT vendor_id,
           median(business_minutes) FILTER (direction = 'vendor_response') / 60 AS vendor_median_h,
           quantile_cont(business_minutes, 0.9) FILTER (direction = 'vendor_response') / 60 AS vendor_p90_h,
           median(business_minutes) FILTER (direction = 'company_response') / 60 AS company_median_h,
           quantile_cont(business_minutes, 0.9) FILTER (direction = 'company_response') / 60 AS company_p90_h,
           count_if(sla_breached AND direction = 'vendor_response') AS vendor_breaches,
           count_if(sla_breached AND direction = 'company_response') AS company_breaches
    FROM marts.responses GROUP BY vendor_id
), a AS (
    SELECT vendor_id, count_if(waiting_on = 'vendor') AS awaiting_vendor,
           count_if(waiting_on = 'company') AS awaiting_company, count_if(sla_breached) AS awaiting_past_sla
    FROM marts.awaiting GROUP BY vendor_id
), s AS (
    SELECT vendor_id, count(*) AS signals,
           count(*) FILTER (signal = 'nudge') AS nudges,
           count(*) FILTER (signal = 'clarification') AS clarifications
    FROM marts.message_signals GROUP BY vendor_id
)
SELECT p.party_id AS vendor_id,
       round(vendor_median_h, 1) AS "vendor→us median h", round(vendor_p90_h, 1) AS "p90 h",
       round(company_median_h, 1) AS "us→vendor median h", round(company_p90_h, 1) AS "p90 h ",
       coalesce(vendor_breaches, 0) AS "vendor breaches", coalesce(company_breaches, 0) AS "our breaches",
       coalesce(awaiting_vendor, 0) AS "waiting on vendor", coalesce(awaiting_company, 0) AS "waiting on us",
       coalesce(signals, 0) AS signals, coalesce(nudges, 0) AS nudges, coalesce(clarifications, 0) AS clarifications
FROM marts.parties AS p
LEFT JOIN r ON r.vendor_id = p.party_id
LEFT JOIN a ON a.vendor_id = p.party_id
LEFT JOIN s ON s.vendor_id = p.party_id
WHERE p.kind = 'vendor'
ORDER BY p.party_id""",
)

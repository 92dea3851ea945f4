"""The query surface as examples: what the README, `commhealth status` and the demo show analysts."""

from __future__ import annotations

# Queries shown to newcomers; each runs against the published copy, so the printed numbers are what they will get.
STATUS_QUERIES: list[tuple[str, str]] = [
    (
        "Messages by channel, side and vendor",
        """SELECT channel, side, coalesce(vendor_id, '-') AS vendor_id, count(*) AS messages,
       count_if(is_automated) AS automated, count_if(is_internal) AS internal
FROM core.messages GROUP BY ALL ORDER BY ALL""",
    ),
    (
        "Quarantined inputs by reason",
        "SELECT source, reason, count(*) AS inputs FROM core.quarantine GROUP BY ALL ORDER BY ALL",
    ),
]

METRIC_QUERIES: list[tuple[str, str]] = [
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

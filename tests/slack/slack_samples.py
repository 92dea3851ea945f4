"""Digest builders shared by the Slack tests."""

from __future__ import annotations

import datetime as dt

from digest.model import AlertLine, Digest, EvidenceItem, VendorDigest, WaitingItem

DAY = dt.date(2026, 3, 10)
PREVIOUS_DAY = dt.date(2026, 3, 9)


def vendor(
    vendor_id: str,
    name: str | None = None,
    status: str = "ok",
    *,
    alerts: list[AlertLine] | None = None,
    evidence: list[EvidenceItem] | None = None,
    waiting: list[WaitingItem] | None = None,
    alert_channel: str | None = None,
) -> VendorDigest:
    """A vendor; `evidence` becomes that of an ongoing latency_drift alert (a vendor rule with messages)."""
    alerts = list(alerts or [])
    if evidence:
        drift = AlertLine("latency_drift", "warning", "Answers take 9.0 business hours against 3.0 usually")
        drift.state, drift.first_seen, drift.evidence = "ongoing", PREVIOUS_DAY, evidence
        alerts.append(drift)
    return VendorDigest(
        vendor_id=vendor_id,
        vendor_name=name or vendor_id.title(),
        status=status,
        vendor_median_minutes=210.0,
        vendor_p90_minutes=540.0,
        company_median_minutes=72.0,
        company_p90_minutes=None,
        vendor_responses=12,
        company_responses=1,
        sla_breaches=3 if status == "critical" else 0,
        overdue_on_vendor=2,
        overdue_on_company=1,
        signals_recent=4,
        signals_per_100_recent=2.125,
        signals_per_100_baseline=0.8,
        alerts=alerts,
        waiting=waiting or [],
        alert_channel=alert_channel,
    )


def sample_digest() -> Digest:
    """Kappa critical (a rule turned critical, items newly past 3x the SLA, one item waiting on us), Mira warning
    (an ongoing rule, one resolved), Nova ok but slow on our side, Lumen ok."""
    return Digest(
        day=DAY,
        previous_day=PREVIOUS_DAY,
        vendors=[
            vendor("lumen", "Lumen Nearshore", "ok"),
            vendor(
                "kappa",
                "Kappa Offshore",
                "critical",
                alerts=[
                    AlertLine(
                        "latency_drift",
                        "critical",
                        "Answers take 12.5 business hours against 3.0 usually",
                        state="worse",
                        first_seen=dt.date(2026, 3, 6),
                        evidence=[
                            EvidenceItem(
                                "Invoice 42 clarification",
                                link="https://fake-workspace.slack.com/archives/C0KAPPA/p1767225601000001",
                                waited_business_minutes=750.0,
                                kind="waiting",
                            ),
                            EvidenceItem(
                                "Re: release plan",
                                waited_business_minutes=90.0,
                                detail="email",
                                kind="answered late",
                            ),
                        ],
                    ),
                    AlertLine(
                        "vendor_overdue",
                        "critical",
                        "2 waiting on the vendor past the 8 h SLA (1 new today, 1 newly past 3x); 1 answered today",
                        state="worse",
                        first_seen=dt.date(2026, 3, 2),
                        new_items=1,
                        worse_items=1,
                        resolved_items=1,
                    ),
                    AlertLine(
                        "company_overdue",
                        "warning",
                        "1 waiting on us past the 8 h SLA (0 new today, 0 newly past 3x); 0 answered today",
                        state="ongoing",
                        subject="company",
                        first_seen=dt.date(2026, 3, 5),
                        ongoing_items=1,
                    ),
                ],
                waiting=[
                    WaitingItem("Access request", "Alice Martin", "Kappa Offshore", dt.date(2026, 3, 2)),
                    WaitingItem("Spec review", "Bob Durand", "Kappa Offshore", dt.date(2026, 3, 9)),
                    WaitingItem(
                        "Can you sign the NDA?",
                        "Kappa Offshore (Priya)",
                        "Claire Petit",
                        dt.date(2026, 3, 5),
                        on_us=True,
                    ),
                ],
                alert_channel="#vendor-kappa",
            ),
            vendor(
                "mira",
                "Mira Labs",
                "warning",
                alerts=[
                    AlertLine(
                        "silence",
                        "warning",
                        "3 requests have waited longer than twice its usual",
                        state="ongoing",
                        first_seen=dt.date(2026, 3, 4),
                    ),
                    AlertLine(
                        "chasing",
                        "warning",
                        "No longer fires (it did from 2026-03-03 to 2026-03-09)",
                        state="resolved",
                        first_seen=dt.date(2026, 3, 3),
                    ),
                ],
            ),
            vendor(
                "nova",
                "Nova Systems",
                "ok",
                alerts=[
                    AlertLine(
                        "company_latency_drift",
                        "warning",
                        "We answer in 6.0 business hours against 2.0 usually",
                        state="new",
                        subject="company",
                        first_seen=DAY,
                    )
                ],
            ),
        ],
    )

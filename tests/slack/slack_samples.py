"""Digest builders shared by the Slack tests."""

from __future__ import annotations

import datetime as dt

from connectors.slack.digest import AlertLine, Digest, EvidenceItem, VendorDigest

DAY = dt.date(2026, 3, 10)


def vendor(
    vendor_id: str,
    name: str | None = None,
    status: str = "ok",
    *,
    alerts: list[AlertLine] | None = None,
    evidence: list[EvidenceItem] | None = None,
    alert_channel: str | None = None,
) -> VendorDigest:
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
        alerts=alerts or [],
        evidence=evidence or [],
        alert_channel=alert_channel,
    )


def sample_digest() -> Digest:
    return Digest(
        day=DAY,
        vendors=[
            vendor("lumen", "Lumen Nearshore", "ok"),
            vendor(
                "kappa",
                "Kappa Offshore",
                "critical",
                alerts=[
                    AlertLine("vendor_sla_breaches", "critical", "3 vendor responses over SLA today"),
                    AlertLine("company_overdue", "warning", "1 item waiting on us past SLA"),
                ],
                evidence=[
                    EvidenceItem(
                        "Invoice 42 clarification",
                        link="https://fake-workspace.slack.com/archives/C0KAPPA/p1767225601000001",
                        waited_business_minutes=750.0,
                    ),
                    EvidenceItem("Re: release plan", waited_business_minutes=90.0, detail="email"),
                ],
                alert_channel="#vendor-kappa",
            ),
            vendor(
                "mira",
                "Mira Labs",
                "warning",
                alerts=[AlertLine("latency_drift", "warning", "median response 1.8× the 28-day median")],
            ),
        ],
    )

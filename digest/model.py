"""The daily digest as data: each vendor's status, alerts, evidence and waiting items on a report day, read from
the marts (digest.queries) and rendered for Slack, markdown and the terminal (digest.render).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from ground.rules import ITEM_RULES

STATUSES = ("ok", "warning", "critical", "no_data")
SEVERITIES = ("warning", "critical")
STATES = ("new", "worse", "ongoing", "resolved")
RANK = {"critical": 0, "warning": 1, "no_data": 2, "ok": 3}
STATUS_EMOJI = {
    "critical": ":red_circle:",
    "warning": ":large_yellow_circle:",
    "no_data": ":white_circle:",
    "ok": ":large_green_circle:",
}
STATUS_TAG = {"critical": "[CRITICAL]", "warning": "[WARNING]", "no_data": "[NO DATA]", "ok": "[OK]"}
RULE_NAMES = {
    "latency_drift": "slower than usual",
    "silence": "unusually silent",
    "misunderstanding_spike": "misunderstandings up",
    "chasing": "we chase them more",
    "company_latency_drift": "we answer slower than usual",
    "vendor_overdue": "overdue, waiting on the vendor",
    "company_overdue": "overdue, waiting on us",
}
# What `commhealth sql` lists for the "Still open" counts.
STILL_OPEN_SQL = (
    "SELECT vendor_id, rule, item_key, first_seen, last_severity FROM marts.alert_history "
    "WHERE state = 'ongoing' ORDER BY vendor_id, rule, first_seen"
)


@dataclass
class EvidenceItem:
    """A message behind an alert: ``label`` is an email subject or a Slack text snippet, ``link`` a permalink.

    ``kind`` says what it shows ('answered late', 'waiting', 'signal'), printed before it so an answered breach is
    never read as something still waiting.
    """

    label: str
    link: str | None = None
    waited_business_minutes: float | None = None
    detail: str | None = None
    kind: str | None = None


@dataclass
class WaitingItem:
    """An overdue request still waiting at the end of the day: ``waiter`` waits on ``waited_on`` since ``since``."""

    label: str
    waiter: str
    waited_on: str
    since: dt.date
    link: str | None = None
    on_us: bool = False  # waits on the company (shown under "Waiting on us")


@dataclass
class AlertLine:
    """One row of marts.alerts: a vendor rule, or the overdue items of one side with their counts by state."""

    rule: str
    severity: str  # 'warning' | 'critical'
    summary: str
    state: str = "new"  # new | worse | ongoing | resolved on the report day
    subject: str = "vendor"  # vendor | company (waiting on us: never colours the vendor)
    first_seen: dt.date | None = None
    new_items: int = 0
    worse_items: int = 0
    ongoing_items: int = 0
    resolved_items: int = 0
    evidence: list[EvidenceItem] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.severity not in SEVERITIES:
            raise ValueError(f"alert severity must be one of {SEVERITIES}, not {self.severity!r}")
        if self.state not in STATES:
            raise ValueError(f"alert state must be one of {STATES}, not {self.state!r}")

    @property
    def is_items(self) -> bool:
        return self.rule in ITEM_RULES

    @property
    def is_new_or_worse(self) -> bool:
        """Announced today: a rule that started or turned critical, or items that crossed their SLA or 3x it."""
        if self.is_items:
            return self.new_items + self.worse_items > 0
        return self.state in ("new", "worse")

    @property
    def is_critical_today(self) -> bool:
        """Act today about the vendor: a rule newly critical, or items newly past the critical factor of the SLA."""
        if self.subject != "vendor":
            return False
        if self.is_items:
            return self.worse_items > 0
        return self.severity == "critical" and self.state in ("new", "worse")

    @property
    def identity(self) -> str:
        """The episode this alert belongs to (marts.alert_history): one announcement per episode and state."""
        return f"{self.rule}:{self.first_seen}:{self.state}"


@dataclass
class VendorDigest:
    vendor_id: str
    vendor_name: str
    status: str  # 'ok' | 'warning' | 'critical'
    vendor_median_minutes: float | None  # business minutes, vendor responses, over the digest's recent window
    vendor_p90_minutes: float | None
    company_median_minutes: float | None
    company_p90_minutes: float | None
    vendor_responses: int
    company_responses: int
    sla_breaches: int  # vendor responses over SLA answered on the day
    overdue_on_vendor: int
    overdue_on_company: int
    signals_recent: int
    signals_per_100_recent: float | None
    signals_per_100_baseline: float | None
    alerts: list[AlertLine] = field(default_factory=list)
    waiting: list[WaitingItem] = field(default_factory=list)  # overdue items still waiting, both sides
    alert_channel: str | None = None
    data_reason: str | None = None  # why status is no_data (sources failed, silent, data ended)
    dismissed: int = 0  # alerts and overdue items users dismissed (marts.digest_vendors.dismissed)

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"vendor status must be one of {STATUSES}, not {self.status!r}")

    def alerts_about(self, subject: str) -> list[AlertLine]:
        return [a for a in self.alerts if a.subject == subject]


@dataclass
class Digest:
    day: dt.date
    vendors: list[VendorDigest]
    title: str = "Vendor communication health"
    recent_days: int = 7  # [alerts] recent_days: the window the response times and signals cover
    previous_day: dt.date | None = None  # the report day before: "new or worse since" it
    data_problems: list[str] = field(default_factory=list)  # shown first (sources failed, silent, ended)

    @property
    def since(self) -> str:
        return f"since {self.previous_day.isoformat()}" if self.previous_day else "today"

    @property
    def window(self) -> str:
        """The recent window in words, as every label names it."""
        return "the last day" if self.recent_days == 1 else f"the last {self.recent_days} days"

    @property
    def status(self) -> str:
        """The worst vendor status ('ok' when there are no vendors)."""
        return min((v.status for v in self.vendors), key=RANK.__getitem__, default="ok")

    @property
    def dismissed_note(self) -> str | None:
        """One line saying how many alerts and items users dismissed, and where to see them; None without any."""
        count = sum(v.dismissed for v in self.vendors)
        if not count:
            return None
        return (
            f"{plural(count, 'alert')} dismissed (left out of the statuses); "
            "`commhealth dismiss list` shows them."
        )


def plural(count: int, word: str) -> str:
    """ "1 alert", "2 alerts"."""
    return f"{count} {word}" + ("" if count == 1 else "s")

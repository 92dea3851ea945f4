"""Dismissing a vendor rule (meta.feedback, as `commhealth dismiss alert` records it) over consecutive report days:
the alert leaves marts.alerts and the vendor's status while it does not change, and comes back when it turns
critical; with an end date it stays dismissed through that date whatever it does. Scenario: zeta's latency_drift of
test_transforms_alert_rules (new warning on 17 Nov, worse critical on 19 Nov, ongoing on 20 Nov)."""

from __future__ import annotations

import datetime as dt

from test_transforms_alert_rules import (
    FIRST_DAY,
    ONSET,
    Traffic,
    alerts,
    status_by_day,
    steady_traffic,
    vendor_status,
    working_days,
)
from transforms_testlib import insert_feedback


def drifting_zeta() -> Traffic:
    traffic = Traffic()
    steady_traffic(traffic, "zeta", working_days(FIRST_DAY, ONSET - dt.timedelta(days=1)), 60)
    steady_traffic(traffic, "zeta", working_days(ONSET, ONSET + dt.timedelta(days=1)), 120)
    steady_traffic(
        traffic, "zeta", working_days(ONSET + dt.timedelta(days=2), ONSET + dt.timedelta(days=3)), 300
    )
    steady_traffic(
        traffic, "zeta", working_days(ONSET + dt.timedelta(days=4), ONSET + dt.timedelta(days=9)), 60
    )
    return traffic


def dismissed(con) -> list[tuple[str, str, str]]:
    return con.execute("SELECT vendor_id, rule, state FROM marts.dismissed_alerts").fetchall()


def digest_counts(con) -> tuple[int, int]:
    return con.execute(
        "SELECT alerts, dismissed FROM marts.digest_vendors WHERE vendor_id = 'zeta'"
    ).fetchone()


def test_a_dismissed_rule_stays_quiet_until_it_turns_critical() -> None:
    days = [dt.date(2026, 11, 17), dt.date(2026, 11, 18), dt.date(2026, 11, 19)]
    for day, con in status_by_day(drifting_zeta(), days):
        if day == dt.date(2026, 11, 17):
            assert alerts(con, "zeta") == {"latency_drift": ("vendor", "new", "warning")}
            # what `commhealth dismiss alert zeta latency_drift` records: the alert as it is on the built day
            insert_feedback(
                con,
                [
                    {
                        "kind": "dismiss",
                        "vendor_id": "zeta",
                        "rule": "latency_drift",
                        "alert_day": day,
                        "alert_severity": "warning",
                    }
                ],
            )
        elif day == dt.date(2026, 11, 18):
            assert alerts(con, "zeta") == {}
            assert vendor_status(con, "zeta") == ("ok", False)
            assert dismissed(con) == [("zeta", "latency_drift", "ongoing")]
            assert digest_counts(con) == (0, 1)
        else:  # it turned critical: the dismissal no longer covers it
            assert alerts(con, "zeta") == {"latency_drift": ("vendor", "worse", "critical")}
            assert vendor_status(con, "zeta") == ("critical", False)
            assert dismissed(con) == []


def test_a_rule_dismissed_through_a_date_stays_quiet_through_it() -> None:
    days = [dt.date(2026, 11, 17), dt.date(2026, 11, 19), dt.date(2026, 11, 20)]
    for day, con in status_by_day(drifting_zeta(), days):
        if day == dt.date(2026, 11, 17):
            insert_feedback(
                con,
                [{"kind": "dismiss", "vendor_id": "zeta", "rule": "latency_drift", "until": "2026-11-19"}],
            )
        elif day == dt.date(2026, 11, 19):
            assert alerts(con, "zeta") == {}
            assert vendor_status(con, "zeta") == ("ok", False)
            assert dismissed(con) == [("zeta", "latency_drift", "worse")]
        else:
            assert alerts(con, "zeta") == {"latency_drift": ("vendor", "ongoing", "critical")}
            assert digest_counts(con) == (1, 0)

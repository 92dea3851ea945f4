"""The alert rules over report days, data in and data out: each scenario writes four weeks of normal traffic and a
change with a known onset, builds the marts as of several consecutive report days on the same warehouse, and
checks marts.alerts (rule, subject, state, severity) and the vendor's status day by day: new on the day a rule
starts firing, ongoing while it does, worse when it turns critical, resolved the day it stops, gone after.

Calendar: the company and zeta work 09:00-18:00 Paris; sigma 09:00-17:00 London (UTC in November), Mon-Sat.
11 Nov is a French holiday. The onset is Monday 16 Nov 2026; the detection window is the last 3 report days (set
here; the default is 2) and the baseline the 28 days before it.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterator
from typing import Any
from zoneinfo import ZoneInfo

import duckdb
import holidays
import pytest
from transforms_testlib import insert_messages, make_config

from transforms.build import build_marts, parse_as_of
from warehouse.db import open_writer

PARIS = ZoneInfo("Europe/Paris")
LONDON = ZoneInfo("Europe/London")
FRENCH_HOLIDAYS = holidays.country_holidays("FR", years=2026)
ONSET = dt.date(2026, 11, 16)
FIRST_DAY = dt.date(2026, 10, 12)
ASK = "Can you send the updated export file?"
ANSWER = "Here is the updated export file."


def working_days(first: dt.date, last: dt.date) -> list[dt.date]:
    days = (first + dt.timedelta(days=i) for i in range((last - first).days + 1))
    return [d for d in days if d.weekday() < 5 and d not in FRENCH_HOLIDAYS]


class Traffic:
    """Message rows of core.messages: exchanges between the company and one vendor, one conversation each."""

    def __init__(self) -> None:
        self.rows: list[dict[str, Any]] = []
        self._ids = itertools.count(1)

    def say(self, conversation: str, at: dt.datetime, side: str, vendor: str, text: str) -> str:
        key = f"{conversation}-{len(self.rows)}"
        row = {
            "message_key": key,
            "conversation_key": conversation,
            "sent_at": at,
            "side": side,
            "body_text": text,
        }
        if side == "vendor":
            row["vendor_id"] = vendor
        else:
            row["recipient_vendor_ids"] = [vendor]
        self.rows.append(row)
        return key

    def exchange(
        self,
        vendor: str,
        asked_at: dt.datetime,
        answer_minutes: float | None,
        *,
        asker: str = "company",
        middle: list[tuple[str, str]] = (),
    ) -> str:
        """A request and, unless answer_minutes is None, its answer that many wall-clock minutes later; `middle`
        holds (side, text) messages sent a minute apart right after the request."""
        conversation = f"{vendor}{next(self._ids)}"
        answerer = "vendor" if asker == "company" else "company"
        request = self.say(conversation, asked_at, asker, vendor, ASK)
        for i, (side, text) in enumerate(middle, start=1):
            self.say(conversation, asked_at + dt.timedelta(minutes=i), side, vendor, text)
        if answer_minutes is not None:
            self.say(conversation, asked_at + dt.timedelta(minutes=answer_minutes), answerer, vendor, ANSWER)
        return request


def paris(day: dt.date, hour: int) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour), PARIS)


def status_by_day(
    traffic: Traffic, days: list[dt.date], config_override: dict[str, Any] | None = None
) -> Iterator[tuple[dt.date, duckdb.DuckDBPyConnection]]:
    """Build the same warehouse as of the end of each of `days`, in order, yielding it after each build. The
    scenarios are written for a detection window of 3 report days."""
    override = dict(config_override or {})
    override["alerts"] = {"window_days": 3, **override.get("alerts", {})}
    config = make_config(override)
    with open_writer(":memory:", threads=2) as con:
        insert_messages(con, traffic.rows)
        for day in days:
            build_marts(con, config, parse_as_of(day.isoformat(), config))
            assert_alert_grain(con)
            yield day, con


def assert_alert_grain(con: duckdb.DuckDBPyConnection) -> None:
    duplicates = con.sql(
        "SELECT vendor_id, rule FROM marts.alerts GROUP BY ALL HAVING count(*) > 1"
    ).fetchall()
    assert not duplicates, f"marts.alerts grain (vendor_id, rule) broken: {duplicates}"


def alerts(con: duckdb.DuckDBPyConnection, vendor: str) -> dict[str, tuple[str, str, str]]:
    rows = con.execute(
        "SELECT rule, subject, state, severity FROM marts.alerts WHERE vendor_id = ?", [vendor]
    ).fetchall()
    return {rule: (subject, state, severity) for rule, subject, state, severity in rows}


def vendor_status(con: duckdb.DuckDBPyConnection, vendor: str) -> tuple[str, bool]:
    return con.execute(
        "SELECT status, waiting_on_us FROM marts.digest_vendors WHERE vendor_id = ?", [vendor]
    ).fetchone()


def steady_traffic(traffic: Traffic, vendor: str, days: list[dt.date], minutes: float, hours=(9, 13)) -> None:
    for day in days:
        for hour in hours:
            traffic.exchange(vendor, paris(day, hour), minutes)


def test_latency_drift_goes_new_ongoing_worse_resolved_and_a_slow_but_steady_vendor_stays_ok() -> None:
    traffic = Traffic()
    steady_traffic(traffic, "zeta", working_days(FIRST_DAY, ONSET - dt.timedelta(days=1)), 60)
    # zeta answers in 2 business hours from the onset, 5 from Wednesday, and is back to 1 from Friday
    steady_traffic(traffic, "zeta", working_days(ONSET, ONSET + dt.timedelta(days=1)), 120)
    steady_traffic(
        traffic, "zeta", working_days(ONSET + dt.timedelta(days=2), ONSET + dt.timedelta(days=3)), 300
    )
    steady_traffic(
        traffic, "zeta", working_days(ONSET + dt.timedelta(days=4), ONSET + dt.timedelta(days=9)), 60
    )
    # sigma always takes 6 business hours (10:00 Paris = 09:00 London): slow, but its own normal
    steady_traffic(traffic, "sigma", working_days(FIRST_DAY, ONSET + dt.timedelta(days=9)), 360, hours=(10,))

    expected = {
        dt.date(2026, 11, 16): ({}, "ok"),  # the window's median is still at the baseline
        dt.date(2026, 11, 17): ({"latency_drift": ("vendor", "new", "warning")}, "warning"),
        dt.date(2026, 11, 18): ({"latency_drift": ("vendor", "ongoing", "warning")}, "warning"),
        dt.date(2026, 11, 19): ({"latency_drift": ("vendor", "worse", "critical")}, "critical"),
        dt.date(2026, 11, 20): ({"latency_drift": ("vendor", "ongoing", "critical")}, "warning"),
        dt.date(2026, 11, 23): ({"latency_drift": ("vendor", "resolved", "critical")}, "ok"),
        dt.date(2026, 11, 24): ({}, "ok"),
    }
    for day, con in status_by_day(traffic, list(expected)):
        rules, status = expected[day]
        assert alerts(con, "zeta") == rules, day
        assert vendor_status(con, "zeta") == (status, False), day
        assert alerts(con, "sigma") == {}, day
        assert vendor_status(con, "sigma") == ("ok", False), day


def test_silence_and_overdue_items_are_announced_once_then_counted() -> None:
    traffic = Traffic()
    steady_traffic(traffic, "zeta", working_days(FIRST_DAY, ONSET - dt.timedelta(days=1)), 60)
    # from the onset zeta answers nothing; on Thursday it answers Monday's 09:00 request
    monday_request = traffic.exchange("zeta", paris(ONSET, 9), 3 * 24 * 60 + 60)
    traffic.exchange("zeta", paris(ONSET, 13), None)
    for day in working_days(ONSET + dt.timedelta(days=1), ONSET + dt.timedelta(days=3)):
        traffic.exchange("zeta", paris(day, 9), None)
        traffic.exchange("zeta", paris(day, 13), None)

    days = [dt.date(2026, 11, d) for d in (16, 17, 18, 19)]
    seen = {}
    for day, con in status_by_day(traffic, days):
        seen[day] = alerts(con, "zeta")
        overdue = con.execute(
            "SELECT new_items, worse_items, ongoing_items, resolved_items FROM marts.alerts "
            "WHERE vendor_id = 'zeta' AND rule = 'vendor_overdue'"
        ).fetchone()
        seen[day, "items"] = overdue
        seen[day, "status"] = vendor_status(con, "zeta")[0]
        if day == days[-1]:
            history = con.execute(
                "SELECT first_seen, last_seen, state FROM marts.alert_history WHERE item_key = ?",
                [monday_request],
            ).fetchone()

    # Each day's two requests cross the 4 h SLA that day (new) and 3x the SLA, 12 business hours, the next day
    # (worse: announced once more); after that they are counted as still open, not announced again.
    assert seen[days[0], "items"] == (2, 0, 0, 0)
    assert seen[days[1], "items"] == (2, 2, 0, 0)
    assert seen[days[1], "status"] == "critical"
    assert seen[days[2], "items"] == (2, 2, 2, 0)
    assert seen[days[3], "items"] == (2, 2, 3, 1)  # Monday's 09:00 request was answered on Thursday
    assert history == (days[0], days[2], "resolved")
    # both of Monday's requests are still unanswered past zeta's usual hour, where its baseline left none: silence
    # on Monday already, still on Thursday
    assert seen[days[0]]["silence"] == ("vendor", "new", "warning")
    assert seen[days[3]]["silence"][1] == "ongoing"


def test_requests_left_unanswered_past_the_usual_answer_time_are_silence_the_next_day() -> None:
    """zeta answers its requests in an hour and, from the onset, never its 13:00 one: two requests late past its
    usual answer time (the baseline's 95th percentile) where its baseline leaves none is silence on Tuesday, before
    its answers have dried up or three requests have piled up past the SLA (Wednesday). One is not: it could be
    chance."""
    traffic = Traffic()
    for day in working_days(FIRST_DAY, ONSET + dt.timedelta(days=2)):
        traffic.exchange("zeta", paris(day, 9), 60)
        traffic.exchange("zeta", paris(day, 13), None if day >= ONSET else 60)

    days = working_days(ONSET, ONSET + dt.timedelta(days=1))
    seen = {day: alerts(con, "zeta") for day, con in status_by_day(traffic, days)}
    assert "silence" not in seen[days[0]]
    assert seen[days[1]]["silence"] == ("vendor", "new", "warning")
    assert "latency_drift" not in seen[days[1]]


@pytest.mark.parametrize("level", [0.05, 0.001])
def test_the_late_requests_level_comes_from_config(level: float) -> None:
    """The same two late requests as above (about 0.2 % likely at zeta's normal): silence at the default 5 % level,
    not at 0.1 %, where only answers drying up or requests piling up would show it."""
    traffic = Traffic()
    for day in working_days(FIRST_DAY, ONSET + dt.timedelta(days=2)):
        traffic.exchange("zeta", paris(day, 9), 60)
        traffic.exchange("zeta", paris(day, 13), None if day >= ONSET else 60)

    override = {"alerts": {"silence_late_significance": level}}
    for _, con in status_by_day(traffic, [ONSET + dt.timedelta(days=1)], override):
        assert ("silence" in alerts(con, "zeta")) == (level == 0.05)


@pytest.mark.parametrize("level", [0.02, 0.001])
def test_the_answers_dried_up_level_comes_from_config(level: float) -> None:
    """zeta stops answering at the onset: by Wednesday no answer in 3 report days where its pace gives 6 (about
    0.25 % likely): silence at the default 2 % level, not at 0.1 %. The late and piled-up tests are switched off
    here so that only answers drying up can fire."""
    traffic = Traffic()
    for day in working_days(FIRST_DAY, ONSET + dt.timedelta(days=2)):
        for hour in (9, 13):
            traffic.exchange("zeta", paris(day, hour), None if day >= ONSET else 60)

    override = {
        "alerts": {"silence_dried_up_significance": level, "silence_min_late": 100, "silence_min_items": 100}
    }
    for _, con in status_by_day(traffic, [ONSET + dt.timedelta(days=2)], override):
        assert ("silence" in alerts(con, "zeta")) == (level == 0.02)


def test_confusion_spike_turns_critical_when_it_keeps_growing() -> None:
    traffic = Traffic()
    steady_traffic(traffic, "zeta", working_days(FIRST_DAY, ONSET - dt.timedelta(days=1)), 60)
    confused = [("vendor", "Could you clarify which export format you mean?"), ("company", "The CSV one.")]
    for day in working_days(ONSET, ONSET + dt.timedelta(days=2)):
        for hour in (9, 13):
            traffic.exchange("zeta", paris(day, hour), 60, middle=confused)

    expected = {
        dt.date(2026, 11, 16): ({}, "ok"),  # 2 clarifications: under spike_min_signals
        dt.date(2026, 11, 17): ({"misunderstanding_spike": ("vendor", "new", "warning")}, "warning"),
        dt.date(2026, 11, 18): ({"misunderstanding_spike": ("vendor", "worse", "critical")}, "critical"),
    }
    for day, con in status_by_day(traffic, list(expected)):
        rules, status = expected[day]
        assert alerts(con, "zeta") == rules, day
        assert vendor_status(con, "zeta") == (status, False), day


def test_chasing_needs_more_nudges_than_the_floor_allows_by_chance() -> None:
    traffic = Traffic()
    steady_traffic(traffic, "zeta", working_days(FIRST_DAY, ONSET - dt.timedelta(days=1)), 60)
    nudge = [("company", "Any update on this?")]
    for day in working_days(ONSET, ONSET + dt.timedelta(days=1)):
        for hour in (9, 13):
            traffic.exchange("zeta", paris(day, hour), 60, middle=nudge)

    expected = {
        dt.date(2026, 11, 16): {},  # 2 nudges against a floor of 0.5: could be chance
        dt.date(2026, 11, 17): {"chasing": ("vendor", "new", "warning")},
    }
    for day, con in status_by_day(traffic, list(expected)):
        assert alerts(con, "zeta") == expected[day], day


def test_our_own_slowness_is_waiting_on_us_and_never_colours_the_vendor() -> None:
    traffic = Traffic()
    before = working_days(FIRST_DAY, ONSET - dt.timedelta(days=1))
    for day in before:
        traffic.exchange("zeta", paris(day, 9), 60, asker="vendor")
        traffic.exchange("zeta", paris(day, 11), 60, asker="vendor")
        traffic.exchange("zeta", paris(day, 13), 60)
    for day in working_days(ONSET, ONSET + dt.timedelta(days=2)):
        traffic.exchange("zeta", paris(day, 9), 240, asker="vendor")  # we answer in 4 h instead of 1
        traffic.exchange("zeta", paris(day, 11), 240, asker="vendor")
        traffic.exchange("zeta", paris(day, 13), 60)

    for day, con in status_by_day(traffic, [dt.date(2026, 11, 17), dt.date(2026, 11, 18)]):
        rules = alerts(con, "zeta")
        assert set(rules) == {"company_latency_drift"}, day
        assert rules["company_latency_drift"][0] == "company"
        assert vendor_status(con, "zeta") == ("ok", True), day


def test_our_slowness_with_a_vendor_that_asks_once_a_day_shows_on_the_second_day() -> None:
    """zeta asks us once a day; from the onset we answer in 5 business hours instead of 1. On Tuesday the window (3
    report days here) holds three answers, two of them slower than every answer of the baseline: that is waiting
    on us, without waiting for five answers (a week for a vendor that asks little). On Monday one slow answer
    could be chance."""
    traffic = Traffic()
    for day in working_days(FIRST_DAY, ONSET + dt.timedelta(days=1)):
        traffic.exchange("zeta", paris(day, 9), 300 if day >= ONSET else 60, asker="vendor")

    days = working_days(ONSET, ONSET + dt.timedelta(days=1))
    seen = {
        day: (alerts(con, "zeta"), vendor_status(con, "zeta")) for day, con in status_by_day(traffic, days)
    }
    assert "company_latency_drift" not in seen[days[0]][0]
    assert seen[days[1]][0]["company_latency_drift"][:2] == ("company", "new")
    assert seen[days[1]][1] == ("ok", True)


@pytest.mark.parametrize("factor", [1.5, 5.0])
def test_drift_factor_comes_from_config(factor: float) -> None:
    traffic = Traffic()
    steady_traffic(traffic, "zeta", working_days(FIRST_DAY, ONSET - dt.timedelta(days=1)), 60)
    steady_traffic(traffic, "zeta", working_days(ONSET, ONSET + dt.timedelta(days=1)), 150)
    override = {"alerts": {"drift_factor": factor, "drift_critical_factor": factor * 2}}
    for _, con in status_by_day(traffic, [dt.date(2026, 11, 17)], override):
        assert ("latency_drift" in alerts(con, "zeta")) == (factor == 1.5)


def test_a_closure_week_is_not_silence() -> None:
    """zeta is closed the week of the onset (declared in its closures): requests sent that week wait, and its
    answers stop, but in its business time nothing was due, so neither silence nor latency fires."""
    traffic = Traffic()
    steady_traffic(traffic, "zeta", working_days(FIRST_DAY, ONSET - dt.timedelta(days=1)), 60)
    closed = working_days(ONSET, ONSET + dt.timedelta(days=4))
    for day in closed:
        traffic.exchange("zeta", paris(day, 9), None)
    override = {
        "vendors": [
            {"id": "zeta", "closures": [d.isoformat() for d in closed]},
            {"id": "kappa"},
            {"id": "sigma"},
        ]
    }
    for day, con in status_by_day(traffic, [dt.date(2026, 11, 18), dt.date(2026, 11, 20)], override):
        assert alerts(con, "zeta") == {}, day
        assert vendor_status(con, "zeta") == ("ok", False), day

"""Property: under random calendars (weekday hours, night shifts, special dates and ranges, closures, public
holidays, DST changes), the business minutes of the real build equal a brute-force count, minute by minute, of the
minutes the party's wall clock shows working time.

The count knows nothing of the expansion into UTC intervals: it walks UTC minutes, reads the local wall clock
(never letting it go back, so a repeated hour at a DST change keeps showing the last time already shown) and asks
the calendar rules, restated here, whether that wall-clock time is worked on that local date or in the night
shift of the date before.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

import holidays as holidays_lib
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from transforms_testlib import insert_messages, make_config

from ground.config import WEEKDAYS
from transforms.build import build_marts
from warehouse.db import open_writer

QUARTER = 15  # minutes: every generated time is on a quarter hour
SPAN_DAYS = 10
MAX_WAIT_MINUTES = 3 * 1440
# Time zones with their holidays code and the first days of windows holding their DST changes (Europe and the US
# change on different dates, Sydney the other way round, Casablanca leaves UTC+1 for UTC+0 during Ramadan) and
# public holidays; Kolkata never changes.
ZONES = {
    "Europe/Paris": ("FR", [dt.date(2026, 3, 24), dt.date(2026, 10, 21), dt.date(2026, 11, 4)]),
    "America/New_York": ("US", [dt.date(2026, 3, 3), dt.date(2026, 10, 27)]),
    "Australia/Sydney": ("AU", [dt.date(2026, 3, 31), dt.date(2026, 9, 29)]),
    "Africa/Casablanca": ("MA", [dt.date(2027, 2, 3), dt.date(2027, 3, 8)]),
    "Asia/Kolkata": ("IN", [dt.date(2026, 10, 15)]),
}
Case = tuple[dict[str, Any], dt.date, list[tuple[dt.datetime, dt.datetime]]]


def _hhmm(quarters: int) -> str:
    return f"{quarters * QUARTER // 60:02d}:{quarters * QUARTER % 60:02d}"


@st.composite
def day_hours(draw: st.DrawFn, dawn: int) -> list[str]:
    """One day's intervals, all starting at or after `dawn` (quarters), maybe a night shift ending by `dawn`:
    a night shift can then never run into the next day's intervals."""
    points = sorted(draw(st.lists(st.integers(dawn, 96), min_size=2, max_size=4, unique=True)))
    hours = [f"{_hhmm(a)}-{_hhmm(b)}" for a, b in zip(points[::2], points[1::2], strict=False)]
    last_end = points[1] if len(points) < 4 else points[3]
    if last_end < 96 and draw(st.booleans()):
        start = draw(st.integers(max(last_end, 1), 95))
        end = draw(st.integers(0, min(dawn, start - 1)))
        hours.append(f"{_hhmm(start)}-{_hhmm(end)}")
    return hours


@st.composite
def cases(draw: st.DrawFn) -> Case:
    """A vendor's calendar settings, the first day of the window they are tested on, and (asked, answered) pairs."""
    zone = draw(st.sampled_from(sorted(ZONES)))
    country, windows = ZONES[zone]
    first = draw(st.sampled_from(windows))
    dawn = draw(st.integers(0, 40))
    window = [first + dt.timedelta(days=i) for i in range(SPAN_DAYS)]
    calendar = {
        "id": "zeta",
        "timezone": zone,
        "holidays": draw(st.sampled_from([country, None])),
        "business_hours": draw(day_hours(dawn)),
        "workdays": draw(st.lists(st.sampled_from(WEEKDAYS), unique=True, max_size=7)),
        "hours_by_weekday": draw(st.dictionaries(st.sampled_from(WEEKDAYS), day_hours(dawn), max_size=3)),
    }
    special: list[dict[str, Any]] = []
    if draw(st.booleans()):
        start = draw(st.integers(0, SPAN_DAYS - 1))
        end = draw(st.integers(start, SPAN_DAYS - 1))
        special.append({"from": window[start], "to": window[end], "business_hours": draw(day_hours(dawn))})
    dates = draw(st.lists(st.sampled_from(window), unique=True, max_size=2))
    special += [{"date": day, "business_hours": draw(day_hours(dawn))} for day in dates]
    calendar["special_hours"] = special
    calendar["closures"] = draw(st.lists(st.sampled_from([d for d in window if d not in dates]), max_size=2))
    begin = dt.datetime.combine(first, dt.time(0), tzinfo=dt.UTC)
    asked = st.integers(0, SPAN_DAYS * 1440 - 1).map(lambda m: begin + dt.timedelta(minutes=m))
    waited = st.integers(1, MAX_WAIT_MINUTES).map(lambda m: dt.timedelta(minutes=m))
    pairs = [(a, a + w) for a, w in draw(st.lists(st.tuples(asked, waited), min_size=1, max_size=8))]
    return calendar, first, pairs


def _minutes(text: str) -> tuple[int, int]:
    start, end = ((int(t[:2]) * 60 + int(t[3:])) for t in text.split("-"))
    return start, end + 1440 if end <= start else end


def worked_intervals(calendar: dict[str, Any], day: dt.date, public: set[dt.date]) -> list[tuple[int, int]]:
    """The calendar rules, restated: the wall-clock minutes past the local midnight starting `day` it works."""
    dates = {s["date"]: s for s in calendar["special_hours"] if "date" in s}
    if day in dates:
        hours = dates[day]["business_hours"]
    elif day in public or day in calendar["closures"]:
        hours = []
    else:
        weekday = WEEKDAYS[day.weekday()]
        if weekday in calendar["hours_by_weekday"]:
            hours = calendar["hours_by_weekday"][weekday]
        elif weekday in calendar["workdays"]:
            hours = calendar["business_hours"]
        else:
            hours = []
        ranges = [s for s in calendar["special_hours"] if "from" in s and s["from"] <= day <= s["to"]]
        if hours and ranges:
            hours = ranges[0]["business_hours"]
    return [_minutes(h) for h in hours]


def brute_force_minutes(case: Case) -> list[int]:
    calendar, first, pairs = case
    zone = ZoneInfo(calendar["timezone"])
    public: set[dt.date] = set()
    if calendar["holidays"]:
        public = set(holidays_lib.country_holidays(calendar["holidays"], years=[first.year, first.year + 1]))
    begin = dt.datetime.combine(first - dt.timedelta(days=2), dt.time(0), tzinfo=dt.UTC)
    end = max(answered for _, answered in pairs)
    by_day: dict[dt.date, list[tuple[int, int]]] = {}
    worked: list[bool] = []
    shown = dt.datetime.min  # the wall clock never goes back: a repeated hour keeps the last time shown
    for minute in range((end - begin) // dt.timedelta(minutes=1)):
        shown = max(shown, (begin + dt.timedelta(minutes=minute)).astimezone(zone).replace(tzinfo=None))
        working = False
        for back in (0, 1):  # this local date's hours, or the night shift of the date before
            day = shown.date() - dt.timedelta(days=back)
            past_midnight = (shown - dt.datetime.combine(day, dt.time(0))) // dt.timedelta(minutes=1)
            if day not in by_day:
                by_day[day] = worked_intervals(calendar, day, public)
            working |= any(s <= past_midnight < e for s, e in by_day[day])
        worked.append(working)

    def index(t: dt.datetime) -> int:
        return (t - begin) // dt.timedelta(minutes=1)

    return [sum(worked[index(a) : index(b)]) for a, b in pairs]


def _night_across_dst(first: dt.date, hours: str) -> Case:
    """Europe/Paris, Saturday nights only, asked on Saturday 20:00 UTC and answered on Sunday 05:00 UTC."""
    calendar = {
        "id": "zeta",
        "timezone": "Europe/Paris",
        "holidays": None,
        "business_hours": ["09:00-17:00"],
        "workdays": [],
        "hours_by_weekday": {"sat": [hours]},
        "special_hours": [],
        "closures": [],
    }
    saturday = dt.datetime.combine(first + dt.timedelta(days=4), dt.time(20), tzinfo=dt.UTC)
    return calendar, first, [(saturday, saturday + dt.timedelta(hours=9))]


@settings(
    max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)
@given(cases())
# The clock skips 02:30 (it ends the shift at 03:00 CEST) and shows it twice (the first one ends it).
@example(_night_across_dst(dt.date(2026, 3, 24), "22:00-02:30"))
@example(_night_across_dst(dt.date(2026, 10, 20), "22:00-02:30"))
def test_business_minutes_equal_a_minute_by_minute_count(case: Case) -> None:
    calendar, _, pairs = case
    rows = []
    for i, (asked, answered) in enumerate(pairs):
        conversation = {"conversation_key": f"c{i}"}
        rows.append(
            {
                **conversation,
                "message_key": f"{i}-q",
                "sent_at": asked,
                "side": "company",
                "recipient_vendor_ids": ["zeta"],
            }
        )
        rows.append(
            {
                **conversation,
                "message_key": f"{i}-a",
                "sent_at": answered,
                "side": "vendor",
                "vendor_id": "zeta",
            }
        )
    with open_writer(":memory:", threads=2) as con:
        insert_messages(con, rows)
        as_of = max(answered for _, answered in pairs) + dt.timedelta(minutes=1)
        build_marts(con, make_config({"vendors": [calendar]}), as_of)
        got = dict(con.execute("SELECT conversation_key, business_minutes FROM marts.responses").fetchall())
    for i, minutes in enumerate(brute_force_minutes(case)):
        assert got[f"c{i}"] == minutes, (i, pairs[i], calendar)

"""Property: business minutes never exceed wall minutes, are additive over split intervals, and equal the
overlap with the calendar computed independently in Python. Computed through the real build."""

from __future__ import annotations

import datetime as dt

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from transforms_testlib import insert_messages, make_config

from transforms import calendar
from transforms.build import build_marts
from warehouse.db import open_writer

START = dt.datetime(2026, 10, 20, tzinfo=dt.UTC)  # spans the 2026-10-25 DST change and Armistice Day
SPAN_MINUTES = 24 * 60 * 24
CONFIG = make_config({"vendors": [{"id": "zeta", "business_hours": ["08:30-12:00", "13:00-17:45"]}]})
INTERVALS = [
    (s, e)
    for _, s, e in calendar.expand_party(
        CONFIG.vendor("zeta"), START.date() - dt.timedelta(days=3), START.date() + dt.timedelta(days=30)
    )
]


def overlap_minutes(a: dt.datetime, b: dt.datetime) -> float:
    total = sum(max(0.0, (min(b, e) - max(a, s)).total_seconds()) for s, e in INTERVALS)
    return total / 60


instants = st.integers(min_value=0, max_value=SPAN_MINUTES * 60).map(
    lambda s: START + dt.timedelta(seconds=s)
)
triples = st.lists(st.tuples(instants, instants, instants).map(sorted), min_size=1, max_size=6)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(triples)
def test_business_minutes_properties(points: list[list[dt.datetime]]) -> None:
    rows = []
    for i, (a, b, c) in enumerate(points):
        for name, start, end in (("ac", a, c), ("ab", a, b), ("bc", b, c)):
            conv = f"{i}-{name}"
            rows.append(
                {
                    "message_key": f"{conv}-1",
                    "conversation_key": conv,
                    "sent_at": start,
                    "side": "company",
                    "recipient_vendor_ids": ["zeta"],
                }
            )
            rows.append(
                {
                    "message_key": f"{conv}-2",
                    "conversation_key": conv,
                    "sent_at": end,
                    "side": "vendor",
                    "vendor_id": "zeta",
                }
            )
    with open_writer(":memory:", threads=2) as con:
        insert_messages(con, rows)
        build_marts(con, CONFIG, START + dt.timedelta(days=30))
        got = {
            key: (wall, business)
            for key, wall, business in con.execute(
                "SELECT conversation_key, wall_minutes, business_minutes FROM marts.responses"
            ).fetchall()
        }
    for i, (a, _b, c) in enumerate(points):
        wall, business = got[f"{i}-ac"]
        assert 0 <= business <= wall + 1e-9
        assert abs(business - (got[f"{i}-ab"][1] + got[f"{i}-bc"][1])) < 1e-6
        assert abs(business - overlap_minutes(a, c)) < 1e-6
        assert abs(wall - (c - a).total_seconds() / 60) < 1e-9

"""The report day bound for the alert and digest marts, and the shape of marts.alerts (the digest's contract)."""

from __future__ import annotations

import datetime as dt

import duckdb
import pytest
from transforms_testlib import make_config

from transforms.build import build_marts, parse_as_of, report_day

EVIDENCE_TYPE = (
    "STRUCT(message_key VARCHAR, conversation_key VARCHAR, channel VARCHAR, label VARCHAR, link VARCHAR, "
    "waited_business_minutes DOUBLE)[]"
)


@pytest.mark.parametrize(
    ("as_of", "expected"),
    [
        ("2026-11-20", dt.date(2026, 11, 20)),  # the start of 11-21 in Paris
        ("2026-11-20T18:00+01:00", dt.date(2026, 11, 20)),
        ("2026-11-21T00:00:00+01:00", dt.date(2026, 11, 20)),  # midnight belongs to the day before
        ("2026-11-21T00:00:00.000001+01:00", dt.date(2026, 11, 21)),
        ("2026-11-20T23:30:00+00:00", dt.date(2026, 11, 21)),  # 00:30 in Paris
    ],
)
def test_report_day(as_of: str, expected: dt.date) -> None:
    config = make_config()
    assert report_day(config, parse_as_of(as_of, config)) == expected


def test_alert_and_digest_columns(warehouse: duckdb.DuckDBPyConnection) -> None:
    counts = build_marts(warehouse, make_config(), parse_as_of("2026-11-20", make_config()))
    assert counts["alerts"] == 0 and counts["digest_vendors"] == 3 and counts["digest_latency"] == 0
    types = dict(
        warehouse.execute(
            "SELECT column_name, data_type FROM duckdb_columns() WHERE schema_name = 'marts' AND table_name = 'alerts'"
        ).fetchall()
    )
    assert list(types) == [
        "day",
        "vendor_id",
        "rule",
        "subject",
        "state",
        "severity",
        "metric",
        "value",
        "threshold",
        "baseline",
        "summary",
        "first_seen",
        "new_items",
        "worse_items",
        "ongoing_items",
        "resolved_items",
        "evidence",
    ]
    assert types["day"] == "DATE" and types["value"] == types["threshold"] == types["baseline"] == "DOUBLE"
    assert types["evidence"].replace('"', "") == EVIDENCE_TYPE
    days = warehouse.execute("SELECT DISTINCT day, status FROM marts.digest_vendors").fetchall()
    assert days == [(dt.date(2026, 11, 20), "no_data")]  # no message at all: nothing to judge

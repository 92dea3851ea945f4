"""build_marts as a whole: parse_as_of, one transaction, comments everywhere, calendar expansion."""

from __future__ import annotations

import datetime as dt

import duckdb
import pytest
from transforms_testlib import insert_messages, make_config

from transforms import build, calendar
from transforms.build import build_marts, parse_as_of

PARIS = dt.timezone(dt.timedelta(hours=1))
MESSAGES = [
    {
        "message_key": "m1",
        "sent_at": "2026-11-04T09:00:00+00:00",
        "side": "company",
        "recipient_vendor_ids": ["zeta"],
    },
    {"message_key": "v1", "sent_at": "2026-11-04T10:00:00+00:00", "side": "vendor", "vendor_id": "zeta"},
]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-11-20T16:00:00+00:00", dt.datetime(2026, 11, 20, 16, tzinfo=dt.UTC)),
        ("2026-11-20T16:00:00Z", dt.datetime(2026, 11, 20, 16, tzinfo=dt.UTC)),
        ("2026-11-20T16:00", dt.datetime(2026, 11, 20, 15, tzinfo=dt.UTC)),  # company time (CET)
        ("2026-07-01 12:00:00", dt.datetime(2026, 7, 1, 10, tzinfo=dt.UTC)),  # CEST
        ("2026-11-20", dt.datetime(2026, 11, 20, 23, tzinfo=dt.UTC)),  # start of the next Paris day
        ("2026-10-24", dt.datetime(2026, 10, 24, 22, tzinfo=dt.UTC)),
    ],
)
def test_parse_as_of(text: str, expected: dt.datetime) -> None:
    assert parse_as_of(text, make_config()) == expected


@pytest.mark.parametrize("text", ["yesterday", "2026-13-01", "20/11/2026", "2026-11-20T25:00"])
def test_parse_as_of_rejects(text: str) -> None:
    with pytest.raises(ValueError, match="--as-of"):
        parse_as_of(text, make_config())


def test_parse_as_of_default_is_now() -> None:
    before = dt.datetime.now(dt.UTC)
    value = parse_as_of(None, make_config())
    assert before <= value <= dt.datetime.now(dt.UTC)


def test_every_mart_table_and_column_has_a_comment(warehouse: duckdb.DuckDBPyConnection) -> None:
    insert_messages(warehouse, MESSAGES)
    counts = build_marts(warehouse, make_config(), dt.datetime(2026, 11, 5, tzinfo=dt.UTC))
    assert counts["responses"] == 1 and counts["awaiting"] == 1
    for table in ("responses", "awaiting", "message_signals", "vendor_daily"):
        assert table in counts
    built = warehouse.execute(
        "SELECT schema_name, count(*) FROM duckdb_tables() "
        "WHERE schema_name IN ('marts', 'staging', 'intermediate') GROUP BY ALL ORDER BY ALL"
    ).fetchall()
    assert [schema for schema, count in built if count] == ["intermediate", "marts", "staging"]
    tables = warehouse.execute(
        "SELECT table_name FROM duckdb_tables() "
        "WHERE schema_name IN ('marts', 'staging', 'intermediate') AND (comment IS NULL OR comment = '')"
    ).fetchall()
    columns = warehouse.execute(
        "SELECT table_name, column_name FROM duckdb_columns() "
        "WHERE schema_name IN ('marts', 'staging', 'intermediate') AND (comment IS NULL OR comment = '')"
    ).fetchall()
    assert tables == [] and columns == []
    # the analysts' schema holds the marts and the seeds only
    assert (
        warehouse.execute(
            "SELECT table_name FROM duckdb_tables() WHERE schema_name = 'marts' "
            "AND (table_name LIKE 'stg!_%' ESCAPE '!' OR table_name LIKE 'int!_%' ESCAPE '!')"
        ).fetchall()
        == []
    )


def test_failure_keeps_previous_marts(warehouse: duckdb.DuckDBPyConnection, monkeypatch) -> None:
    insert_messages(warehouse, MESSAGES)
    config = make_config()
    build_marts(warehouse, config, dt.datetime(2026, 11, 5, tzinfo=dt.UTC))
    good = warehouse.execute("SELECT * FROM marts.responses").fetchall()
    models = build.model_files()
    monkeypatch.setattr(build, "model_files", lambda: [*models[:3], ("broken", "SELECT * FROM nowhere;")])
    warehouse.execute("DELETE FROM core.messages WHERE message_key = 'v1'")
    with pytest.raises(duckdb.CatalogException):
        build_marts(warehouse, config, dt.datetime(2026, 11, 5, tzinfo=dt.UTC))
    assert warehouse.execute("SELECT * FROM marts.responses").fetchall() == good
    monkeypatch.undo()
    counts = build_marts(warehouse, config, dt.datetime(2026, 11, 5, tzinfo=dt.UTC))
    assert counts["responses"] == 0


def test_every_model_declares_its_grain() -> None:
    missing = [table for table, sql in build.model_files() if build.declared_grain(table, sql) is None]
    assert missing == []


def test_a_model_that_breaks_its_grain_fails_the_build_and_keeps_the_previous_marts(
    warehouse: duckdb.DuckDBPyConnection, monkeypatch
) -> None:
    insert_messages(warehouse, MESSAGES)
    config = make_config()
    build_marts(warehouse, config, dt.datetime(2026, 11, 5, tzinfo=dt.UTC))
    good = warehouse.execute("SELECT * FROM marts.responses").fetchall()
    doubled_sql = (
        "CREATE OR REPLACE TABLE marts.doubled AS SELECT * FROM (VALUES ('v', 1), ('v', 2)) AS t(vendor_id, n);\n"
        "COMMENT ON TABLE marts.doubled IS 'Two rows per vendor. Grain: (vendor_id).';"
    )
    doubled = ("doubled", doubled_sql)
    models = build.model_files()
    monkeypatch.setattr(build, "model_files", lambda: [*models, doubled])
    with pytest.raises(
        build.GrainError,
        match=r"marts\.doubled breaks its declared grain \(vendor_id\): "
        r"vendor_id='v' is on 2 rows",
    ):
        build_marts(warehouse, config, dt.datetime(2026, 11, 5, tzinfo=dt.UTC), full=True)
    assert warehouse.execute("SELECT * FROM marts.responses").fetchall() == good


def test_an_incremental_grain_check_reads_only_the_conversations_in_scope(
    warehouse: duckdb.DuckDBPyConnection,
) -> None:
    warehouse.execute(
        "CREATE TABLE marts.twice AS SELECT * FROM (VALUES ('c1', 'k'), ('c1', 'k'), ('c2', 'j')) "
        "AS t(core_conversation_key, message_key)"
    )
    warehouse.execute("DELETE FROM meta.build_scope")
    warehouse.execute("INSERT INTO meta.build_scope (conversation_key) VALUES ('c2')")
    build.check_grain(warehouse, "twice", ("message_key",), scope_only=True)  # c1 was not rebuilt
    with pytest.raises(build.GrainError, match="message_key='k' is on 2 rows"):
        build.check_grain(warehouse, "twice", ("message_key",), scope_only=False)


def test_messages_after_as_of_are_ignored(warehouse: duckdb.DuckDBPyConnection) -> None:
    insert_messages(warehouse, MESSAGES)
    counts = build_marts(warehouse, make_config(), dt.datetime(2026, 11, 4, 9, 30, tzinfo=dt.UTC))
    assert counts["responses"] == 0 and counts["awaiting"] == 1


def test_empty_warehouse_builds(warehouse: duckdb.DuckDBPyConnection) -> None:
    counts = build_marts(warehouse, make_config(), dt.datetime(2026, 11, 4, tzinfo=dt.UTC))
    assert counts["responses"] == counts["awaiting"] == counts["vendor_daily"] == 0
    assert counts["calendar_intervals"] > 0


def test_models_are_ordered_and_named() -> None:
    names = [name for name, _ in build.model_files()]
    assert names.index("int_counted_messages") < names.index("int_turns") < names.index("responses")
    assert names.index("message_signals") < names.index("vendor_daily")
    assert names.index("awaiting") < names.index("vendor_daily")


def test_calendar_dst_and_closures() -> None:
    config = make_config({"vendors": [{"id": "zeta", "closures": ["2026-10-27"]}]})
    rows = list(calendar.expand_party(config.vendor("zeta"), dt.date(2026, 10, 23), dt.date(2026, 10, 28)))
    assert [r[0] for r in rows] == [dt.date(2026, 10, 23), dt.date(2026, 10, 26), dt.date(2026, 10, 28)]
    assert rows[0][1] == dt.datetime(2026, 10, 23, 7, tzinfo=dt.UTC)  # 09:00 CEST
    assert rows[1][1] == dt.datetime(2026, 10, 26, 8, tzinfo=dt.UTC)  # 09:00 CET


def test_calendar_night_shift_rows_belong_to_their_start_day() -> None:
    """One row per shift, day_local = the day it starts; Armistice Day (Wed 11 Nov) removes only its own shift."""
    config = make_config({"vendors": [{"id": "zeta", "business_hours": ["22:00-06:00"]}]})
    rows = list(calendar.expand_party(config.vendor("zeta"), dt.date(2026, 11, 10), dt.date(2026, 11, 12)))
    utc = dt.UTC
    assert rows == [
        (
            dt.date(2026, 11, 10),
            dt.datetime(2026, 11, 10, 21, tzinfo=utc),
            dt.datetime(2026, 11, 11, 5, tzinfo=utc),
        ),
        (
            dt.date(2026, 11, 12),
            dt.datetime(2026, 11, 12, 21, tzinfo=utc),
            dt.datetime(2026, 11, 13, 5, tzinfo=utc),
        ),
    ]


def test_calendar_time_the_clock_skips_is_the_change() -> None:
    """Paris springs from 02:00 to 03:00 on 2026-03-29: 02:30 is never shown, so hours from 02:30 start at 03:00."""
    config = make_config(
        {"vendors": [{"id": "zeta", "workdays": ["sun"], "business_hours": ["02:30-04:00"]}]}
    )
    rows = list(calendar.expand_party(config.vendor("zeta"), dt.date(2026, 3, 29), dt.date(2026, 3, 29)))
    assert rows == [
        (
            dt.date(2026, 3, 29),
            dt.datetime(2026, 3, 29, 1, tzinfo=dt.UTC),  # 03:00 CEST, when the clock jumps past 02:30
            dt.datetime(2026, 3, 29, 2, tzinfo=dt.UTC),  # 04:00 CEST
        )
    ]


def test_calendar_subdivision_and_midnight_end() -> None:
    config = make_config(
        {"company": {"holidays": "FR-57", "business_hours": ["00:00-24:00"], "timezone": "Europe/Paris"}}
    )
    days = {r[0] for r in calendar.expand_party(config.company, dt.date(2026, 12, 24), dt.date(2026, 12, 28))}
    assert dt.date(2026, 12, 26) not in days  # Saint Stephen's Day in Moselle (a Saturday anyway)
    rows = list(calendar.expand_party(config.company, dt.date(2026, 12, 28), dt.date(2026, 12, 28)))
    assert rows == [
        (
            dt.date(2026, 12, 28),
            dt.datetime(2026, 12, 27, 23, tzinfo=dt.UTC),
            dt.datetime(2026, 12, 28, 23, tzinfo=dt.UTC),
        )
    ]
    good_friday = {
        r[0] for r in calendar.expand_party(config.company, dt.date(2026, 4, 3), dt.date(2026, 4, 3))
    }
    assert good_friday == set()  # Good Friday is a holiday in FR-57 only

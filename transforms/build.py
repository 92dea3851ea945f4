"""Rebuild the marts from core.messages: `build_marts(con, config, as_of)`.

Python only loads data (parties, calendars, lexicon), binds parameters as DuckDB variables and runs the model
files of `transforms/models/` in file-name order (numeric prefixes give the dependency order). It never builds
SQL text. Everything runs in one transaction: a failure leaves the previous marts untouched.

Variables read by the models with getvariable():
  as_of (TIMESTAMPTZ), company_timezone (VARCHAR), awaiting_lookback_days (INTEGER),
  signal_pattern_<signal> (VARCHAR, RE2 alternation of the lexicon entries of that signal),
  acknowledgement_pattern (VARCHAR),
  report_day (DATE): the company-local date of (as_of - 1 microsecond), the day the alerts and the digest are about
    (a date-only ``--as-of 2026-11-20`` and ``2026-11-20T18:00+01:00`` both give 2026-11-20),
  and the [alerts] settings:
  alert_sla_critical_count (INTEGER), alert_sla_critical_share (DOUBLE), alert_overdue_critical_factor (DOUBLE),
  alert_spike_factor (DOUBLE), alert_spike_min_signals (INTEGER), alert_drift_factor (DOUBLE),
  alert_drift_min_responses (INTEGER), alert_recent_days (INTEGER), alert_baseline_days (INTEGER),
  alert_chart_days (INTEGER), slack_workspace_url (VARCHAR, NULL when not configured).
"""

from __future__ import annotations

import datetime as dt
import re
from importlib import resources

import duckdb

from commhealth.config import Config
from transforms import calendar, lexicon

UTC = dt.UTC
CALENDAR_MARGIN_DAYS = 3
_DATE_ONLY = re.compile(r"^\d{4}-?\d{2}-?\d{2}$")
_MODEL = re.compile(r"^(\d+)_([a-z][a-z0-9_]*)\.sql$")
SEEDS = ("parties", "calendar_intervals", "signal_lexicon")


def parse_as_of(text: str | None, config: Config) -> dt.datetime:
    """The build instant, as an aware UTC datetime.

    - None or blank: now.
    - ISO 8601 date-time with an offset (``2026-11-20T16:00:00+00:00``, ``...Z``): that instant.
    - ISO 8601 date-time without an offset: wall-clock time in the company's time zone.
    - A date alone (``2026-11-20``): the start of the NEXT local day in the company's time zone, so that the
      whole named day is included (messages sent that day up to 23:59:59.999999 count).

    Raises ValueError with a readable message otherwise.
    """
    if text is None or not text.strip():
        return dt.datetime.now(UTC)
    value = text.strip()
    zone = config.company.zone
    if _DATE_ONLY.match(value):
        try:
            day = dt.date.fromisoformat(value)
        except ValueError:
            raise ValueError(f"--as-of {text!r}: not a valid date (expected YYYY-MM-DD)") from None
        return dt.datetime.combine(day + dt.timedelta(days=1), dt.time(0), tzinfo=zone).astimezone(UTC)
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(
            f"--as-of {text!r}: not an ISO 8601 date or date-time "
            "(e.g. 2026-11-20, 2026-11-20T16:00 or 2026-11-20T16:00:00+00:00)"
        ) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=zone)
    return parsed.astimezone(UTC)


def report_day(config: Config, as_of: dt.datetime) -> dt.date:
    """The company-local day a build as of `as_of` reports on: the date of (as_of - 1 microsecond).

    A date-only ``--as-of 2026-11-20`` (the start of 11-21) and ``2026-11-20T18:00+01:00`` both give 2026-11-20.
    A naive `as_of` is read in the company's time zone.
    """
    if as_of.tzinfo is None:
        as_of = as_of.replace(tzinfo=config.company.zone)
    return (as_of - dt.timedelta(microseconds=1)).astimezone(config.company.zone).date()


def model_files() -> list[tuple[str, str]]:
    """(table name, SQL) of every model, in dependency (file-name) order."""
    models = []
    for entry in resources.files("transforms").joinpath("models").iterdir():
        match = _MODEL.match(entry.name)
        if match:
            models.append(
                (int(match.group(1)), entry.name, match.group(2), entry.read_text(encoding="utf-8"))
            )
    return [(table, sql) for _, _, table, sql in sorted(models)]


def _calendar_range(
    con: duckdb.DuckDBPyConnection, as_of: dt.datetime, lookback_days: int
) -> tuple[dt.date, dt.date]:
    (earliest,) = con.execute(
        "SELECT min(sent_at) FROM core.messages WHERE sent_at <= CAST(? AS TIMESTAMPTZ) "
        "AND NOT is_automated AND NOT is_internal AND side IN ('company', 'vendor')",
        [as_of.isoformat()],
    ).fetchall()[0]
    start = as_of - dt.timedelta(days=lookback_days)
    if earliest is not None:
        start = min(start, earliest.astimezone(UTC))
    margin = dt.timedelta(days=CALENDAR_MARGIN_DAYS)
    return (start - margin).date(), (as_of + margin).date()


def _set_variables(
    con: duckdb.DuckDBPyConnection, config: Config, as_of: dt.datetime, patterns: dict[str, str]
) -> None:
    con.execute("SET VARIABLE as_of = CAST(? AS TIMESTAMPTZ)", [as_of.isoformat()])
    con.execute("SET VARIABLE company_timezone = CAST(? AS VARCHAR)", [config.company.timezone])
    con.execute(
        "SET VARIABLE awaiting_lookback_days = CAST(? AS INTEGER)", [config.metrics.awaiting_lookback_days]
    )
    con.execute("SET VARIABLE signal_pattern_clarification = CAST(? AS VARCHAR)", [patterns["clarification"]])
    con.execute("SET VARIABLE signal_pattern_nudge = CAST(? AS VARCHAR)", [patterns["nudge"]])
    con.execute("SET VARIABLE signal_pattern_repetition = CAST(? AS VARCHAR)", [patterns["repetition"]])
    con.execute("SET VARIABLE signal_pattern_rework = CAST(? AS VARCHAR)", [patterns["rework"]])
    con.execute("SET VARIABLE signal_pattern_escalation = CAST(? AS VARCHAR)", [patterns["escalation"]])
    con.execute(
        "SET VARIABLE acknowledgement_pattern = CAST(? AS VARCHAR)", [patterns[lexicon.ACKNOWLEDGEMENT]]
    )
    con.execute("SET VARIABLE report_day = CAST(? AS DATE)", [report_day(config, as_of).isoformat()])
    alerts = config.alerts
    con.execute(
        "SET VARIABLE alert_sla_critical_count = CAST(? AS INTEGER)", [alerts.sla_breach_critical_count]
    )
    con.execute(
        "SET VARIABLE alert_sla_critical_share = CAST(? AS DOUBLE)", [alerts.sla_breach_critical_share]
    )
    con.execute(
        "SET VARIABLE alert_overdue_critical_factor = CAST(? AS DOUBLE)", [alerts.overdue_critical_factor]
    )
    con.execute("SET VARIABLE alert_spike_factor = CAST(? AS DOUBLE)", [alerts.spike_factor])
    con.execute("SET VARIABLE alert_spike_min_signals = CAST(? AS INTEGER)", [alerts.spike_min_signals])
    con.execute("SET VARIABLE alert_drift_factor = CAST(? AS DOUBLE)", [alerts.drift_factor])
    con.execute("SET VARIABLE alert_drift_min_responses = CAST(? AS INTEGER)", [alerts.drift_min_responses])
    con.execute("SET VARIABLE alert_recent_days = CAST(? AS INTEGER)", [alerts.recent_days])
    con.execute("SET VARIABLE alert_baseline_days = CAST(? AS INTEGER)", [alerts.baseline_days])
    con.execute("SET VARIABLE alert_chart_days = CAST(? AS INTEGER)", [alerts.chart_days])
    con.execute("SET VARIABLE slack_workspace_url = CAST(? AS VARCHAR)", [alerts.slack_workspace_url])


def _count(con: duckdb.DuckDBPyConnection, table: str) -> int:
    (rows,) = con.table(f"marts.{table}").aggregate("count(*)").fetchall()[0]
    return int(rows)


def build_marts(con: duckdb.DuckDBPyConnection, config: Config, as_of: dt.datetime) -> dict[str, int]:
    """Rebuild every marts table from core.messages as of `as_of`; return row counts per table.

    `as_of` should be aware; a naive value is read in the company's time zone. One transaction: on any error the
    previous marts stay as they were and the error propagates.
    """
    if as_of.tzinfo is None:
        as_of = as_of.replace(tzinfo=config.company.zone)
    as_of = as_of.astimezone(UTC)
    entries = lexicon.load_entries(config, con)
    patterns = lexicon.combined_patterns(entries)
    seeds_sql = resources.files("transforms").joinpath("seeds.sql").read_text(encoding="utf-8")
    models = model_files()

    counts: dict[str, int] = {}
    con.execute("BEGIN TRANSACTION")
    try:
        con.execute(seeds_sql)
        counts["parties"] = calendar.load_parties(con, config)
        start, end = _calendar_range(con, as_of, config.metrics.awaiting_lookback_days)
        counts["calendar_intervals"] = calendar.load_calendar(con, config, start, end)
        counts["signal_lexicon"] = lexicon.load_lexicon(con, entries)
        _set_variables(con, config, as_of, patterns)
        for table, sql in models:
            con.execute(sql)
            counts[table] = _count(con, table)
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return counts

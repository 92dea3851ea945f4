"""Rebuild the marts from core.messages: `build_marts(con, config, as_of)`.

Python only loads data (parties and their Slack identifiers, calendars, lexicon), binds parameters as DuckDB
variables and runs the model files of `transforms/models/` in file-name order (numeric prefixes give the dependency
order). It never builds SQL text from data. Everything runs in one transaction: a failure leaves the previous marts untouched.

Full or incremental. A full build drops the seeds and the per-conversation marts (transforms/reset.sql) and
recomputes everything. An incremental build recomputes only the conversations listed in meta.build_scope
(transforms/scope.sql: messages stored or changed since the last build, conversations that lost messages, messages
sent in (previous as_of, as_of]), to which stg_slack_conversations and stg_teams_conversations, recomputed whole
in both modes, add the conversations of the Slack channels and Teams chats or channels whose scope (measured or
not, for which vendor, why) changed since the last build (a directory change, a message that makes a DM a
vendor's): the per-conversation models
(int_counted_messages, int_turns, responses, message_signals) delete the rows of those conversations and insert
them again, filtering their input with
``getvariable('full_build') OR conversation_key IN meta.build_scope``; the other models (awaiting, vendor_daily,
alerts, digests) are recomputed whole in both modes. The result equals a full build as of the same as_of. A build
is full when asked (`full=True`), on the first build, when the fingerprint of the settings the marts depend on
changed (`build_fingerprint`), when as_of goes back, or when core.messages lost rows. meta.build_state records what
the last build covered. The calendar is reloaded on a full build and when an incremental build needs days it does
not cover; it always reaches CALENDAR_AHEAD_DAYS past the needed end, so a daily build rarely reloads it.

Variables read by the models with getvariable():
  as_of (TIMESTAMPTZ), company_timezone (VARCHAR), awaiting_lookback_days (INTEGER),
  signal_pattern_<signal> (VARCHAR, RE2 alternation of the lexicon entries of that signal),
  acknowledgement_pattern, request_pattern, courtesy_pattern (VARCHAR, RE2 alternations of those lexicon kinds),
  slack_segment_gap_hours (DOUBLE): wall-clock silence that ends a segment of unthreaded Slack messages,
  report_day (DATE): the company-local date of (as_of - 1 microsecond), the day the alerts and the digest are about
    (a date-only ``--as-of 2026-11-20`` and ``2026-11-20T18:00+01:00`` both give 2026-11-20),
  and the [alerts] settings as alert_<name> (ALERT_VARIABLES: window_days, baseline_days, history_days,
  overdue_critical_factor, drift_*, silence_*, spike_*, chase_*, recent_days, chart_days, source_silent_*,
  data_ended_business_days),
  slack_workspace_url (VARCHAR, NULL when not configured),
  full_build (BOOLEAN), and for transforms/scope.sql change_watermark and previous_as_of (TIMESTAMPTZ).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import re
from importlib import resources
from importlib.metadata import version

import duckdb

from ground.config import Config
from transforms import calendar, lexicon
from transforms.seeding import SEEDS
from warehouse.db import transaction
from warehouse.session import writing

UTC = dt.UTC
CALENDAR_MARGIN_DAYS = 3
CALENDAR_AHEAD_DAYS = 31  # loaded past the needed end, so that daily builds do not reload the calendar
INCREMENTAL_TABLES = (
    "stg_message_parties",
    "int_counted_messages",
    "stg_message_requests",
    "int_turns",
    "responses",
    "message_signals",
)
_DATE_ONLY = re.compile(r"^\d{4}-?\d{2}-?\d{2}$")
_MODEL = re.compile(r"^(\d+)_([a-z][a-z0-9_]*)\.sql$")
# The grain a model declares in its table comment: "... Grain: (column, column) ...".
_GRAIN = re.compile(
    r"COMMENT ON TABLE (?:marts|staging|intermediate)\.([a-z0-9_]+) IS '(?:[^']|'')*?Grain: \(([^)]*)\)"
)


def qualified(table: str) -> str:
    """A model's or seed's table with its schema: `stg_` models (one row per message or Slack conversation,
    classified) in staging, `int_` models (steps towards the marts) in intermediate, the rest (what analysts
    read) in marts."""
    if table.startswith("stg_"):
        return f"staging.{table}"
    if table.startswith("int_"):
        return f"intermediate.{table}"
    return f"marts.{table}"


class GrainError(RuntimeError):
    """A model's rows break the grain it declares: a bug in the model, reported instead of built on."""


def declared_grain(table: str, sql: str) -> tuple[str, ...] | None:
    """The columns of the grain the model of `table` declares in its table comment, if any."""
    for name, columns in _GRAIN.findall(sql):
        if name == table:
            return tuple(column.strip() for column in columns.split(","))
    return None


def check_grain(
    con: duckdb.DuckDBPyConnection, table: str, grain: tuple[str, ...], *, scope_only: bool
) -> None:
    """Raise GrainError when two rows of `table` share their grain columns. `scope_only`: only the rows of
    the conversations an incremental build recomputed (the others were checked when they were built)."""
    columns = ", ".join(grain)
    where = (
        " WHERE core_conversation_key IN (SELECT conversation_key FROM meta.build_scope)"
        if scope_only
        else ""
    )
    duplicate = con.execute(
        f"SELECT {columns}, count(*) FROM {qualified(table)}{where} GROUP BY ALL HAVING count(*) > 1 LIMIT 1"
    ).fetchone()
    if duplicate is not None:
        key = ", ".join(f"{column}={value!r}" for column, value in zip(grain, duplicate, strict=False))
        raise GrainError(
            f"{qualified(table)} breaks its declared grain ({columns}): {key} is on {duplicate[-1]} rows"
        )


# Party keys the fingerprint does not take from the parties: the identifiers are fingerprinted as the build seeds
# them (marts.party_identifiers), alert_channel acts only on delivery. Every other key is fingerprinted, so that a
# new calendar setting forces a full build without a change here.
PARTY_IDENTITY_KEYS = frozenset(
    {
        "id",
        "email_domains",
        "email_addresses",
        "slack_team_ids",
        "slack_user_ids",
        "slack_channels",
        "teams_tenant_ids",
        "teams_channels",
        "alert_channel",
    }
)


# [alerts] settings the alert models read, as DuckDB variables alert_<name> of these types.
ALERT_VARIABLES = {
    "window_days": "INTEGER",
    "baseline_days": "INTEGER",
    "history_days": "INTEGER",
    "overdue_critical_factor": "DOUBLE",
    "drift_factor": "DOUBLE",
    "drift_critical_factor": "DOUBLE",
    "drift_min_minutes": "DOUBLE",
    "drift_min_responses": "INTEGER",
    "silence_share": "DOUBLE",
    "silence_min_expected": "DOUBLE",
    "silence_min_items": "INTEGER",
    "silence_late_quantile": "DOUBLE",
    "silence_min_late": "INTEGER",
    "silence_dried_up_significance": "DOUBLE",
    "silence_late_significance": "DOUBLE",
    "spike_factor": "DOUBLE",
    "spike_critical_factor": "DOUBLE",
    "spike_min_signals": "INTEGER",
    "spike_floor_per_100": "DOUBLE",
    "chase_factor": "DOUBLE",
    "chase_min": "INTEGER",
    "chase_floor": "DOUBLE",
    "significance": "DOUBLE",
    "recent_days": "INTEGER",
    "chart_days": "INTEGER",
    "source_silent_business_days": "INTEGER",
    "source_silent_gap_factor": "DOUBLE",
    "data_ended_business_days": "INTEGER",
}


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


def _sql(name: str) -> str:
    return resources.files("transforms").joinpath(name).read_text(encoding="utf-8")


def build_fingerprint(config: Config, entries: list[lexicon.Entry]) -> str:
    """SHA-256 of everything the marts depend on besides the messages, the Slack directory and as_of: the parties
    (names, time zones, SLAs), their calendars (business hours by weekday and by date, workdays, holidays and the
    holidays package version, closures), the configured Slack identifiers, the lexicon entries, the metrics and
    alerts settings, and the SQL of the seeds and models. A change forces a full build. The identifiers (email
    domains and addresses, Slack teams, users and channels, Teams tenants and channels) decide who is who and which
    conversations are measured at build time, so a domain or channel added to a vendor applies to all history."""
    parties = [
        {
            "kind": ref.kind,
            "id": ref.party_id,
            **ref.party.model_dump(mode="json", by_alias=True, exclude=set(PARTY_IDENTITY_KEYS)),
        }
        for ref in calendar.parties(config)
    ]
    payload = {
        "parties": parties,
        "identifiers": sorted(calendar.identifiers(config)),
        "holidays": version("holidays"),
        "lexicon": [dataclasses.asdict(e) for e in entries],
        "metrics": config.metrics.model_dump(mode="json"),
        "alerts": config.alerts.model_dump(mode="json", exclude={"token_env", "token_secret_block"}),
        "sql": [
            _sql("seeds.sql"),
            _sql("macros.sql"),
            _sql("reset.sql"),
            _sql("scope.sql"),
            *(sql for _, sql in model_files()),
        ],
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode("utf-8")).hexdigest()


@dataclasses.dataclass(frozen=True)
class BuildState:
    """meta.build_state: what the last successful build covered."""

    as_of: dt.datetime
    fingerprint: str
    change_watermark: dt.datetime | None
    calendar_start: dt.date
    calendar_end: dt.date
    message_count: int


def _read_state(con: duckdb.DuckDBPyConnection) -> BuildState | None:
    rows = con.execute(
        "SELECT as_of, fingerprint, change_watermark, calendar_start, calendar_end, message_count "
        "FROM meta.build_state"
    ).fetchall()
    return BuildState(*rows[0]) if len(rows) == 1 else None


def _marts_exist(con: duckdb.DuckDBPyConnection) -> bool:
    """The seeds and every per-conversation mart are there (an incremental build updates them in place)."""
    expected = [qualified(table) for table in (*SEEDS, *INCREMENTAL_TABLES)]
    (present,) = con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE NOT temporary AND list_contains(?, schema_name || '.' || table_name)",
        [expected],
    ).fetchall()[0]
    return int(present) == len(expected)


def _message_count_and_watermark(con: duckdb.DuckDBPyConnection) -> tuple[int, dt.datetime]:
    """Rows of core.messages, and the start of this build's transaction: the next build rebuilds what was stamped
    from then on (one writer at a time, so every change this build cannot see is stamped later)."""
    count, started = con.execute("SELECT count(*), current_timestamp FROM core.messages").fetchall()[0]
    return int(count), started


def _full_reason(
    state: BuildState | None, fingerprint: str, as_of: dt.datetime, message_count: int, marts_exist: bool
) -> str | None:
    """Why this build must be full, or None when an incremental build gives the same marts."""
    if state is None or not marts_exist:
        return "first build"
    if state.fingerprint != fingerprint:
        return "settings or models changed"
    if as_of < state.as_of:
        return "as_of earlier than the last build's"
    if message_count < state.message_count:
        return "messages were deleted"
    return None


def _calendar_range(
    con: duckdb.DuckDBPyConnection, as_of: dt.datetime, lookback_days: int
) -> tuple[dt.date, dt.date]:
    (earliest,) = con.execute(
        # every human message: who is who is only known once the models run, and a few more days cost little
        "SELECT min(sent_at) FROM core.messages WHERE sent_at <= CAST(? AS TIMESTAMPTZ) AND NOT is_automated",
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
    con.execute("SET VARIABLE signal_pattern_info_request = CAST(? AS VARCHAR)", [patterns["info_request"]])
    con.execute("SET VARIABLE signal_pattern_nudge = CAST(? AS VARCHAR)", [patterns["nudge"]])
    con.execute("SET VARIABLE signal_pattern_repetition = CAST(? AS VARCHAR)", [patterns["repetition"]])
    con.execute("SET VARIABLE signal_pattern_rework = CAST(? AS VARCHAR)", [patterns["rework"]])
    con.execute("SET VARIABLE signal_pattern_escalation = CAST(? AS VARCHAR)", [patterns["escalation"]])
    con.execute("SET VARIABLE follow_up_pattern = CAST(? AS VARCHAR)", [patterns[lexicon.FOLLOW_UP]])
    con.execute(
        "SET VARIABLE acknowledgement_pattern = CAST(? AS VARCHAR)", [patterns[lexicon.ACKNOWLEDGEMENT]]
    )
    con.execute("SET VARIABLE request_pattern = CAST(? AS VARCHAR)", [patterns[lexicon.REQUEST]])
    con.execute("SET VARIABLE courtesy_pattern = CAST(? AS VARCHAR)", [patterns[lexicon.COURTESY]])
    con.execute(
        "SET VARIABLE slack_segment_gap_hours = CAST(? AS DOUBLE)", [config.metrics.slack_segment_gap_hours]
    )
    con.execute("SET VARIABLE report_day = CAST(? AS DATE)", [report_day(config, as_of).isoformat()])
    alerts = config.alerts
    for name, kind in ALERT_VARIABLES.items():
        con.execute(f"SET VARIABLE alert_{name} = CAST(? AS {kind})", [getattr(alerts, name)])
    con.execute("SET VARIABLE slack_workspace_url = CAST(? AS VARCHAR)", [alerts.slack_workspace_url])


def _count(con: duckdb.DuckDBPyConnection, table: str) -> int:
    (rows,) = con.table(qualified(table)).aggregate("count(*)").fetchall()[0]
    return int(rows)


def build_marts(
    con: duckdb.DuckDBPyConnection, config: Config, as_of: dt.datetime, *, full: bool = False
) -> dict[str, int]:
    """Bring every marts table up to date with core.messages as of `as_of`; return row counts per table.

    Incremental when it can be (see the module docstring), full when `full` is true or it must be. The counts
    also hold ``messages`` (in core.messages), ``full_build`` (1 or 0) and ``scope_conversations``
    (conversations recomputed by an incremental build, 0 for a full one). `as_of` should be aware; a naive
    value is read in the company's time zone. One transaction: on any error the previous marts and build state
    stay as they were and the error propagates.
    """
    if as_of.tzinfo is None:
        as_of = as_of.replace(tzinfo=config.company.zone)
    as_of = as_of.astimezone(UTC)
    entries = lexicon.load_entries(config, con, validated=False)
    patterns = lexicon.combined_patterns(entries)
    fingerprint = build_fingerprint(config, entries)
    models = model_files()

    counts: dict[str, int] = {}
    with transaction(con):
        state = _read_state(con)
        if state is None or state.fingerprint != fingerprint:
            # The same fingerprint means the same entries, validated by the build that stored it.
            lexicon.validate(entries, con)
        message_count, watermark = _message_count_and_watermark(con)
        reason = (
            "asked" if full else _full_reason(state, fingerprint, as_of, message_count, _marts_exist(con))
        )
        incremental = reason is None and state is not None
        start, end = _calendar_range(con, as_of, config.metrics.awaiting_lookback_days)
        if not incremental:
            con.execute(_sql("reset.sql"))
        con.execute(_sql("seeds.sql"))
        con.execute(_sql("macros.sql"))
        # The models read tables this transaction just rebuilt, which have no statistics yet: DuckDB then guesses
        # a handful of rows and runs an ASOF join as a nested loop. On the business clock (tens of thousands of
        # intervals) that took 16 of the 20 s of a daily build at 300k messages; the sorting ASOF join takes 0.2 s.
        con.execute("SET asof_loop_join_threshold = 0")
        counts["parties"] = calendar.load_parties(con, config)
        counts["party_identifiers"] = calendar.load_identifiers(con, config)
        if incremental and state is not None and state.calendar_start <= start and end <= state.calendar_end:
            start, end = state.calendar_start, state.calendar_end
            counts["calendar_intervals"] = _count(con, "calendar_intervals")
        else:
            if incremental and state is not None:
                start = min(start, state.calendar_start)
            end += dt.timedelta(days=CALENDAR_AHEAD_DAYS)
            counts["calendar_intervals"] = calendar.load_calendar(con, config, start, end)
        counts["signal_lexicon"] = lexicon.load_lexicon(con, entries)
        _set_variables(con, config, as_of, patterns)
        con.execute("SET VARIABLE full_build = ?", [not incremental])
        if incremental and state is not None:
            con.execute(
                "SET VARIABLE change_watermark = CAST(? AS TIMESTAMPTZ)",
                [(state.change_watermark or dt.datetime(1, 1, 1, tzinfo=UTC)).isoformat()],
            )
            con.execute("SET VARIABLE previous_as_of = CAST(? AS TIMESTAMPTZ)", [state.as_of.isoformat()])
            con.execute(_sql("scope.sql"))
        for table, sql in models:
            con.execute(sql)
            counts[table] = _count(con, table)
            grain = declared_grain(table, sql)
            if grain is not None:
                check_grain(con, table, grain, scope_only=incremental and table in INCREMENTAL_TABLES)
        counts["messages"] = message_count
        # Read after the models: stg_slack_conversations and stg_teams_conversations add the conversations of
        # channels and chats whose scope moved.
        (scope,) = con.execute("SELECT count(*) FROM meta.build_scope").fetchall()[0]
        counts["full_build"] = 0 if incremental else 1
        counts["scope_conversations"] = int(scope)
        _write_state(con, as_of, fingerprint, watermark, (start, end), message_count, incremental, int(scope))
    return counts


def _write_state(
    con: duckdb.DuckDBPyConnection,
    as_of: dt.datetime,
    fingerprint: str,
    watermark: dt.datetime,
    calendar_range: tuple[dt.date, dt.date],
    message_count: int,
    incremental: bool,
    scope: int,
) -> None:
    con.execute("DELETE FROM meta.build_state")
    con.execute(
        "INSERT INTO meta.build_state VALUES (CAST(? AS TIMESTAMPTZ), ?, CAST(? AS TIMESTAMPTZ), ?, ?, ?, ?, ?, "
        "current_timestamp)",
        [
            as_of.isoformat(),
            fingerprint,
            watermark.isoformat(),
            calendar_range[0],
            calendar_range[1],
            message_count,
            "incremental" if incremental else "full",
            scope,
        ],
    )
    con.execute(  # conversation changes before the watermark are covered from now on
        "DELETE FROM meta.conversation_changes WHERE changed_at < CAST(? AS TIMESTAMPTZ)",
        [watermark.isoformat()],
    )


def run_build(
    config: Config, as_of: dt.datetime, *, full: bool = False, publish: bool = True
) -> dict[str, int]:
    """`commhealth build`: update every mart as of `as_of` in a writing session (incrementally when possible,
    fully when `full` or when it must be), record the run and publish the read-only copy unless the caller
    publishes later. counts["full_build"] tells which it was."""
    with writing(config, "build", publish=publish) as (con, run):
        counts = build_marts(con, config, as_of, full=full)
        run.detail = {"as_of": as_of.isoformat(), "full": bool(counts["full_build"]), "rows": counts}
    return counts

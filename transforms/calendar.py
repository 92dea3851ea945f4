"""The parties as data: who they are (names, SLAs, Slack identifiers) and each one's working time expanded into
UTC intervals.

The company (party_id 'company') and every vendor (party_id = vendor id) get, for each local calendar date
in their own time zone, one row per working interval of that date (`Party.hours_on`): the hours of a
`special_hours` date, else nothing on a public holiday of `holidays` ("FR", or "FR-67" with a subdivision) or a
closure, else on a working weekday the hours of the `special_hours` range it falls in, else of
`hours_by_weekday`, else `business_hours` on `workdays`. A night shift ("22:00-06:00") belongs to the date it
starts on. Local wall-clock times are converted to UTC with zoneinfo, so DST changes (Europe: 2026-03-29 and
2026-10-25) are exact: a time the clock skips (02:30 on 2026-03-29 in Paris) is taken as the moment of the change,
a time it shows twice as its first occurrence. The result is loaded into `marts.calendar_intervals` as data
(pyarrow), never as SQL text.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import duckdb
import holidays as holidays_lib
import pyarrow as pa

from ground.config import Config, Party, channel_key
from transforms.seeding import replace_seed

UTC = dt.UTC
_IDENTIFIER_COLUMNS = ("party_id", "kind", "identifier")


@dataclass(frozen=True)
class PartyRef:
    """A party of the configuration as the marts see it."""

    kind: str  # 'company' or 'vendor'
    party_id: str  # 'company' or the vendor id
    party: Party


def parties(config: Config) -> list[PartyRef]:
    """The company first, then the vendors in config order."""
    refs = [PartyRef("company", "company", config.company)]
    refs += [PartyRef("vendor", v.id, v) for v in config.vendors]
    return refs


def holiday_dates(party: Party, start: dt.date, end: dt.date) -> set[dt.date]:
    """Public holidays of the party's `holidays` setting between start and end (inclusive)."""
    if not party.holidays:
        return set()
    country, _, subdiv = party.holidays.partition("-")
    years = range(start.year, end.year + 1)
    table = holidays_lib.country_holidays(country, subdiv=subdiv or None, years=years)
    return {d for d in table if start <= d <= end}


def _to_utc(day: dt.date, offset: dt.timedelta, zone: dt.tzinfo) -> dt.datetime:
    """The first instant the local wall clock reads `offset` past the midnight that starts `day`."""
    # Aware arithmetic is wall-clock arithmetic: 30 hours past Monday's midnight is Tuesday 06:00, DST or not.
    wall = dt.datetime.combine(day, dt.time(0), tzinfo=zone) + offset
    instant = wall.astimezone(UTC)  # fold=0: the first of two readings when the clock goes back
    if instant.astimezone(zone).replace(tzinfo=None) == wall.replace(tzinfo=None):
        return instant
    # The clock skips this time (it springs forward): the first instant it reads at least this is the change.
    return _offset_change(wall.replace(fold=1).astimezone(UTC), instant, zone)


def _offset_change(before: dt.datetime, after: dt.datetime, zone: dt.tzinfo) -> dt.datetime:
    """The instant in (before, after] where the zone's UTC offset changes, by bisection to the second."""
    offset_before = before.astimezone(zone).utcoffset()
    while after - before > dt.timedelta(seconds=1):
        middle = before + dt.timedelta(seconds=(after - before).total_seconds() // 2)
        if middle.astimezone(zone).utcoffset() == offset_before:
            before = middle
        else:
            after = middle
    return after


def expand_party(
    party: Party, start: dt.date, end: dt.date
) -> Iterator[tuple[dt.date, dt.datetime, dt.datetime]]:
    """(local day, start UTC, end UTC) of every working interval of the party from start to end (local dates).

    Intervals never overlap: validation refuses overlapping wall-clock intervals, also across midnight, and
    `_to_utc` never goes back in time as the wall clock moves forward.
    """
    off = holiday_dates(party, start, end)
    zone = party.zone
    day = start
    while day <= end:
        for interval in party.hours_on(day, off):
            start_utc = _to_utc(day, interval.start, zone)
            end_utc = _to_utc(day, interval.end, zone)
            if end_utc > start_utc:  # an interval inside a skipped DST hour is empty
                yield day, start_utc, end_utc
        day += dt.timedelta(days=1)


def calendar_table(refs: Iterable[PartyRef], start: dt.date, end: dt.date) -> pa.Table:
    """Arrow table (party_kind, party_id, day_local, start_utc, end_utc) for the local dates start..end."""
    kinds: list[str] = []
    ids: list[str] = []
    days: list[dt.date] = []
    starts: list[dt.datetime] = []
    ends: list[dt.datetime] = []
    for ref in refs:
        for day, start_utc, end_utc in expand_party(ref.party, start, end):
            kinds.append(ref.kind)
            ids.append(ref.party_id)
            days.append(day)
            starts.append(start_utc)
            ends.append(end_utc)
    ts = pa.timestamp("us", tz="UTC")
    return pa.table(
        {
            "party_kind": pa.array(kinds, pa.string()),
            "party_id": pa.array(ids, pa.string()),
            "day_local": pa.array(days, pa.date32()),
            "start_utc": pa.array(starts, ts),
            "end_utc": pa.array(ends, ts),
        }
    )


def parties_table(config: Config) -> pa.Table:
    """Arrow table (party_id, kind, name, timezone, sla_hours) of the configured parties."""
    refs = parties(config)
    return pa.table(
        {
            "party_id": pa.array([r.party_id for r in refs], pa.string()),
            "kind": pa.array([r.kind for r in refs], pa.string()),
            "name": pa.array([r.party.name for r in refs], pa.string()),
            "timezone": pa.array([r.party.timezone for r in refs], pa.string()),
            "sla_hours": pa.array([float(r.party.sla_hours) for r in refs], pa.float64()),
        }
    )


def identifiers(config: Config) -> list[tuple[str, str, str]]:
    """(party_id, kind, identifier) of every configured identifier, once each: the parties' email addresses and
    domains (lower case), Slack team and user ids, Microsoft Entra tenant ids (Teams, lower case), the vendors'
    Slack channels (by name or id, in the form channel_key gives them) and Teams channels (ids, lower case)."""
    owners: dict[tuple[str, str], str] = {}
    for ref in parties(config):
        for kind, values in (
            ("address", ref.party.email_addresses),
            ("domain", ref.party.email_domains),
            ("team", ref.party.slack_team_ids),
            ("user", ref.party.slack_user_ids),
            ("tenant", ref.party.teams_tenant_ids),
        ):
            for value in values:
                owners.setdefault((kind, value), ref.party_id)
    for vendor in config.vendors:
        for channel in vendor.slack_channels:
            owners.setdefault(("channel", channel_key(channel)), vendor.id)
        for channel in vendor.teams_channels:
            owners.setdefault(("teams_channel", channel_key(channel)), vendor.id)
    return [(party_id, kind, identifier) for (kind, identifier), party_id in owners.items()]


def load_parties(con: duckdb.DuckDBPyConnection, config: Config) -> int:
    """Fill marts.parties (created by transforms/seeds.sql) from the config."""
    return replace_seed(con, "parties", parties_table(config))


def load_identifiers(con: duckdb.DuckDBPyConnection, config: Config) -> int:
    """Fill marts.party_identifiers (created by transforms/seeds.sql) from the config."""
    rows = identifiers(config)
    table = pa.table(
        {name: pa.array([row[i] for row in rows], pa.string()) for i, name in enumerate(_IDENTIFIER_COLUMNS)}
    )
    return replace_seed(con, "party_identifiers", table)


def load_calendar(con: duckdb.DuckDBPyConnection, config: Config, start: dt.date, end: dt.date) -> int:
    """Fill marts.calendar_intervals (created by transforms/seeds.sql) for the local dates start..end."""
    return replace_seed(con, "calendar_intervals", calendar_table(parties(config), start, end))

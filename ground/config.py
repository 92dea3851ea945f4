"""The `commhealth.toml` model: loading, validation and one-line error reporting."""

from __future__ import annotations

import datetime as dt
import itertools
import os
import re
import tomllib
from collections.abc import Container
from functools import cached_property
from pathlib import Path
from typing import Annotated, Any, Literal, NamedTuple
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import fsspec
import holidays as holidays_lib
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

CONFIG_ENV = "COMMHEALTH_CONFIG"
DEFAULT_CONFIG_NAME = "commhealth.toml"
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_WEEKDAY_NAMES = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_INTERVAL = re.compile(r"^(\d{2}):(\d{2})-(\d{2}):(\d{2})$")


class ConfigError(Exception):
    """A configuration problem, reported to users as one line: file, key path, problem."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _check_timezone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown IANA time zone {value!r}") from exc
    return value


def _check_holidays(value: str | None) -> str | None:
    if value is None:
        return None
    country, _, subdiv = value.partition("-")
    supported = holidays_lib.list_supported_countries()
    if country.upper() not in supported:
        raise ValueError(f"unknown holidays country code {country!r}")
    if subdiv and subdiv.upper() not in {s.upper() for s in supported[country.upper()]}:
        raise ValueError(f"unknown holidays subdivision {subdiv!r} for {country.upper()}")
    return value.upper()


class Interval(NamedTuple):
    """A working interval of one working day, as offsets from that day's local midnight: a night shift
    ("22:00-06:00") ends the next day, so its end is past 24 hours."""

    start: dt.timedelta
    end: dt.timedelta
    text: str  # as written in the config, for error messages


_DAY = dt.timedelta(days=1)


def _parse_interval(text: str) -> Interval:
    match = _INTERVAL.match(text.strip())
    if not match:
        raise ValueError(f"business hours interval {text!r} is not like '09:00-18:00'")
    h1, m1, h2, m2 = (int(g) for g in match.groups())
    if h1 > 23 or h2 > 24 or m1 > 59 or m2 > 59 or (h2 == 24 and m2):
        raise ValueError(f"business hours interval {text!r} has an invalid time")
    start = dt.timedelta(hours=h1, minutes=m1)
    end = dt.timedelta(hours=h2, minutes=m2)
    if end == start:
        raise ValueError(f"business hours interval {text!r} ends when it starts")
    if end < start:  # a night shift: it ends on the next day
        end += _DAY
    return Interval(start, end, text.strip())


def _parse_hours(values: list[str]) -> tuple[Interval, ...]:
    return tuple(sorted(_parse_interval(v) for v in values))


def _check_hours(values: list[str]) -> list[str]:
    if not values:
        raise ValueError("at least one business hours interval is needed")
    for before, after in itertools.pairwise(_parse_hours(values)):
        if after.start < before.end:
            raise ValueError(f"business hours intervals overlap: {before.text!r} and {after.text!r}")
    return values


def _check_weekday(value: str) -> str:
    """'mon', 'Monday', 'thurs'... (at least three letters of the English name) → 'mon'."""
    text = value.strip().lower()
    for short, full in zip(WEEKDAYS, _WEEKDAY_NAMES, strict=True):
        if len(text) >= 3 and full.startswith(text):
            return short
    raise ValueError(f"unknown weekday {value!r}; use mon, tue, wed, thu, fri, sat, sun")


BusinessHours = Annotated[list[str], AfterValidator(_check_hours)]
Weekday = Annotated[str, AfterValidator(_check_weekday)]


class SpecialHours(_Strict):
    """Business hours for one date (`date`) or for the dates `from`..`to` (inclusive)."""

    date: dt.date | None = None
    first: dt.date | None = Field(default=None, alias="from")
    last: dt.date | None = Field(default=None, alias="to")
    business_hours: BusinessHours

    @model_validator(mode="after")
    def _one_date_or_a_range(self) -> SpecialHours:
        if (self.date is None) == (self.first is None and self.last is None):
            raise ValueError("give either date, or from and to")
        if self.date is None and (self.first is None or self.last is None):
            raise ValueError("a range needs both from and to")
        if self.first is not None and self.last is not None and self.last < self.first:
            raise ValueError(f"to ({self.last}) is before from ({self.first})")
        return self

    @property
    def days(self) -> tuple[dt.date, dt.date]:
        """First and last date covered."""
        if self.date is not None:
            return self.date, self.date
        assert self.first is not None and self.last is not None  # checked by the validator
        return self.first, self.last

    @cached_property
    def intervals(self) -> tuple[Interval, ...]:
        return _parse_hours(self.business_hours)


def channel_key(ref: str) -> str:
    """How a configured Slack channel (a name, with or without #, or an id) is compared: lower case, no #."""
    return ref.strip().lstrip("#").lower()


class Party(_Strict):
    """What the company and each vendor share: who they are and when they work."""

    name: str
    email_domains: list[str] = Field(default_factory=list)
    email_addresses: list[str] = Field(default_factory=list)
    slack_team_ids: list[str] = Field(default_factory=list)
    slack_user_ids: list[str] = Field(default_factory=list)
    teams_tenant_ids: list[str] = Field(default_factory=list)  # Microsoft Entra tenants of its Teams users
    timezone: str = "UTC"
    holidays: str | None = None
    closures: list[dt.date] = Field(default_factory=list)
    business_hours: BusinessHours = Field(default_factory=lambda: ["09:00-18:00"])
    workdays: list[Weekday] = Field(default_factory=lambda: list(WEEKDAYS[:5]))
    hours_by_weekday: dict[Weekday, BusinessHours] = Field(default_factory=dict)
    special_hours: list[SpecialHours] = Field(default_factory=list)
    sla_hours: float = Field(default=8, gt=0)

    _tz = field_validator("timezone")(_check_timezone)
    _hol = field_validator("holidays")(_check_holidays)

    @field_validator("email_domains", "email_addresses")
    @classmethod
    def _lower(cls, values: list[str]) -> list[str]:
        return [v.strip().lower().lstrip("@") for v in values]

    @field_validator("teams_tenant_ids")
    @classmethod
    def _lower_ids(cls, values: list[str]) -> list[str]:
        return [v.strip().lower() for v in values]

    @field_validator("hours_by_weekday", mode="before")
    @classmethod
    def _weekday_listed_once(cls, value: Any) -> Any:
        """'fri' and 'Friday' are one key once read: refuse the pair rather than silently keep one of them."""
        if isinstance(value, dict):
            seen: dict[str, str] = {}
            for key in value:
                try:
                    day = _check_weekday(str(key))
                except ValueError:
                    continue  # reported with its key by the field's own validation
                first = seen.setdefault(day, key)
                if first != key:
                    raise ValueError(f"{key!r} is the same weekday as {first!r}")
        return value

    @model_validator(mode="after")
    def _calendar_is_consistent(self) -> Party:
        """Special dates neither repeat nor contradict closures, and no interval runs into the next day's."""
        dates: dict[dt.date, int] = {}
        ranges: list[tuple[dt.date, dt.date, int]] = []
        for i, entry in enumerate(self.special_hours):
            if entry.date is None:
                ranges.append((*entry.days, i))
                continue
            if entry.date in self.closures:
                raise _KeyedError(f"special_hours.{i}.date", f"{entry.date} is also in closures")
            if entry.date in dates:
                raise _KeyedError(
                    f"special_hours.{i}.date", f"{entry.date} is also special_hours[{dates[entry.date]}]"
                )
            dates[entry.date] = i
        for (_, end, i), (start, _, j) in itertools.pairwise(sorted(ranges)):
            if start <= end:
                raise _KeyedError(f"special_hours.{j}", f"its dates overlap special_hours[{i}]")
        for weekday in range(7):
            tomorrow = (weekday + 1) % 7
            self._check_night(
                self._weekly.get(weekday, ()),
                self._weekly.get(tomorrow, ()),
                self._weekday_key(weekday),
                (WEEKDAYS[weekday], WEEKDAYS[tomorrow]),
            )
        for i, entry in enumerate(self.special_hours):
            first, last = entry.days
            day = first - _DAY
            while day <= last:
                nxt = day + _DAY
                self._check_night(self.hours_on(day), self.hours_on(nxt), f"special_hours.{i}", (day, nxt))
                day = nxt
        return self

    @staticmethod
    def _check_night(
        today: tuple[Interval, ...], tomorrow: tuple[Interval, ...], key: str, days: tuple[object, object]
    ) -> None:
        if today and tomorrow and today[-1].end - _DAY > tomorrow[0].start:
            raise _KeyedError(
                key,
                f"{today[-1].text!r} on {days[0]} runs into {tomorrow[0].text!r} on {days[1]}",
            )

    def _weekday_key(self, weekday: int) -> str:
        name = WEEKDAYS[weekday]
        return f"hours_by_weekday.{name}" if name in self.hours_by_weekday else "business_hours"

    @cached_property
    def _weekly(self) -> dict[int, tuple[Interval, ...]]:
        """Working weekday (0 = Monday) → its intervals: `hours_by_weekday`, else `business_hours` on `workdays`."""
        default = _parse_hours(self.business_hours)
        weekly = {WEEKDAYS.index(d): default for d in self.workdays}
        weekly.update({WEEKDAYS.index(d): _parse_hours(hours) for d, hours in self.hours_by_weekday.items()})
        return weekly

    @cached_property
    def _special_dates(self) -> dict[dt.date, SpecialHours]:
        return {e.date: e for e in self.special_hours if e.date is not None}

    def hours_on(self, day: dt.date, public_holidays: Container[dt.date] = ()) -> tuple[Interval, ...]:
        """The working intervals of a local date, sorted; none when the date is not worked.

        A `special_hours` date is worked with its hours whatever its weekday, also on a public holiday: it is
        the most specific thing a user can say about a day. Otherwise a public holiday or a closure is off, and a
        working weekday has the hours of the `special_hours` range it falls in, else its weekly hours.
        """
        if day in self._special_dates:
            return self._special_dates[day].intervals
        if day in public_holidays or day in self.closures or day.weekday() not in self._weekly:
            return ()
        for entry in self.special_hours:
            first, last = entry.days
            if first <= day <= last:
                return entry.intervals
        return self._weekly[day.weekday()]

    @cached_property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


class Company(Party):
    pass


class Vendor(Party):
    id: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]*$")]
    slack_channels: list[str] = Field(default_factory=list)
    teams_channels: list[str] = Field(default_factory=list)  # Teams channel ids ("19:…@thread.tacv2")
    alert_channel: str | None = None


class Metrics(_Strict):
    awaiting_lookback_days: int = Field(default=14, gt=0)
    # Unthreaded Slack messages form one conversation until the channel's top level is silent this long.
    slack_segment_gap_hours: float = Field(default=8, gt=0)


_MEMORY_SIZE = re.compile(r"(\d+(?:\.\d+)?)\s*((?:[KMGT]i?)?B)", re.IGNORECASE)
_MEMORY_UNITS = {"B": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}
_MIN_MEMORY_BYTES = 64 << 20


class Warehouse(_Strict):
    path: Path = Path("warehouse.duckdb")
    store_bodies: bool = True
    memory_limit: str = "2GB"
    # Merging staged parts streams batch by batch; a small limit keeps a big backfill's memory flat.
    merge_memory_limit: str = "128MB"
    threads: int | None = None
    batch_size: int = Field(default=5000, gt=0)
    # Processes that parse mail files (mbox, maildir, .eml) beside the one that stages: the machine's cores
    # unless set; 1 parses in the ingesting process itself.
    parse_processes: int | None = Field(default=None, ge=1)

    staging_dir: Path | str | None = None  # a local folder, or an fsspec URL such as s3://bucket/prefix
    temp_dir: Path | None = None  # where DuckDB spills beyond its memory limit; default beside the warehouse

    @field_validator("memory_limit", "merge_memory_limit")
    @classmethod
    def _memory_size(cls, value: str) -> str:
        """A size DuckDB accepts, and enough for it to work at all (below ~64 MB even migrations fail)."""
        found = _MEMORY_SIZE.fullmatch(value.strip())
        if found is None:
            raise ValueError(f"{value!r} is not a memory size such as '512MB' or '2GB'")
        number, unit = float(found[1]), found[2].upper()
        size = number * _MEMORY_UNITS[unit.removesuffix("IB").removesuffix("B") or "B"]
        if size < _MIN_MEMORY_BYTES:
            raise ValueError(f"{value!r} is too small for DuckDB; use at least 64MB")
        return value.strip()

    @field_validator("staging_dir")
    @classmethod
    def _staging_location(cls, value: Path | str | None) -> Path | str | None:
        """A URL stays a string, checked here (protocol known, its package installed); the rest is a folder."""
        if not isinstance(value, str):
            return value
        protocol, _ = fsspec.core.split_protocol(value)
        if protocol is None:
            return Path(value)
        # The class only: instantiating it could reach for cloud credentials while loading the config.
        try:
            fsspec.get_filesystem_class(protocol)
        except ValueError:
            raise ValueError(f"unknown protocol {protocol!r} in staging URL {value!r}") from None
        except ImportError as exc:
            raise ValueError(f"staging URL {value!r}: {exc}") from None
        return value

    @property
    def staging_path(self) -> Path | str:
        """Where extraction stages Parquet parts for the writer: a folder (default: beside the warehouse) or URL."""
        return self.staging_dir or self.path.with_name(self.path.stem + ".staging")

    @property
    def temp_path(self) -> Path:
        """Where DuckDB spills what does not fit under its memory limit (a fast local disk is best)."""
        return self.temp_dir or self.path.with_suffix(".tmp")

    @property
    def published_path(self) -> Path:
        """The read-only copy analysts open; the writer never holds it."""
        return self.path.with_name(self.path.stem + ".published" + self.path.suffix)


class Signals(_Strict):
    extra_lexicon: Path | None = None


class FileSource(_Strict):
    """A file source re-read each run; stored messages are skipped."""

    paths: list[Path] = Field(default_factory=list)


class SlackSource(_Strict):
    """Slack Web API, incrementally: the vendor channels named in [[vendors]] slack_channels, the Slack Connect
    channels shared with a vendor's team, and with `read_dms` the DMs and group DMs with a vendor's people."""

    token_env: str = "SLACK_BOT_TOKEN"
    token_secret_block: str | None = None
    api_url: str = "https://slack.com/api/"
    thread_lookback_days: int = Field(default=14, ge=0)
    max_retries: int = Field(default=5, ge=0)
    page_size: int = Field(default=200, ge=1, le=999)
    read_dms: bool = False

    @field_validator("api_url")
    @classmethod
    def _trailing_slash(cls, value: str) -> str:
        return value if value.endswith("/") else value + "/"


class ExchangeSource(_Strict):
    """Exchange Server (on-prem) through EWS with exchangelib."""

    endpoint: str | None = None
    autodiscover: bool = False
    auth: Literal["ntlm", "basic", "oauth2"] = "ntlm"
    username: str | None = None
    password_env: str | None = "EXCHANGE_PASSWORD"
    password_secret_block: str | None = None
    tenant_id: str | None = None  # oauth2 client credentials
    client_id: str | None = None
    client_secret_env: str | None = "EXCHANGE_CLIENT_SECRET"
    client_secret_secret_block: str | None = None
    mailboxes: list[str] = Field(default_factory=list)
    folders: list[str] = Field(default_factory=lambda: ["inbox", "sent"])
    max_wait_seconds: int = Field(default=600, ge=0)
    page_size: int = Field(default=100, ge=1, le=512)

    @model_validator(mode="after")
    def _reachable(self) -> ExchangeSource:
        if not self.endpoint and not self.autodiscover:
            raise ValueError("set endpoint (https://…/EWS/Exchange.asmx) or autodiscover = true")
        if self.auth in ("ntlm", "basic") and not self.username:
            raise ValueError(f"auth = {self.auth!r} needs username")
        if self.auth == "oauth2" and not (self.tenant_id and self.client_id):
            raise ValueError("auth = 'oauth2' needs tenant_id and client_id")
        if not self.mailboxes:
            raise ValueError("mailboxes is empty")
        return self


class GraphApp(_Strict):
    """An app registration in Microsoft Entra ID that reads Microsoft Graph app-only (client credentials)."""

    tenant_id: str
    client_id: str
    client_secret_env: str | None = "GRAPH_CLIENT_SECRET"
    client_secret_secret_block: str | None = None
    authority: str = "https://login.microsoftonline.com"
    api_url: str = "https://graph.microsoft.com/v1.0"
    max_retries: int = Field(default=5, ge=0)


class GraphSource(GraphApp):
    """Exchange Online through Microsoft Graph (app-only), with per-folder delta queries."""

    mailboxes: list[str] = Field(min_length=1)
    folders: list[str] = Field(default_factory=lambda: ["inbox", "sentitems"])
    page_size: int = Field(default=50, ge=1, le=1000)


class TeamsSource(GraphApp):
    """Microsoft Teams through the Teams export APIs (app-only): the chats of `users` and the channels of
    `teams`. Without its own tenant_id and client_id it signs in as [sources.graph] does."""

    users: list[str] = Field(default_factory=list)  # Entra user ids or user principal names
    teams: list[str] = Field(default_factory=list)  # team (Microsoft 365 group) ids
    channels: list[str] = Field(
        default_factory=list
    )  # channel ids of those teams to read; empty: every channel
    backfill_days: int = Field(default=90, ge=0)  # how far back the first round reads; 0: everything
    page_size: int = Field(default=50, ge=1, le=50)  # $top; the chats export API takes at most 50

    @model_validator(mode="after")
    def _something_to_read(self) -> TeamsSource:
        if not self.users and not self.teams:
            raise ValueError("set users (whose chats to read) or teams (whose channels to read)")
        if self.channels and not self.teams:
            raise ValueError("channels limits the channels of teams, and teams is empty")
        return self


class Sources(_Strict):
    mbox: FileSource | None = None
    slack_export: FileSource | None = None
    teams_export: FileSource | None = None  # saved Teams export answers (Graph chatMessage JSON)
    slack: SlackSource | None = None
    exchange: ExchangeSource | None = None
    graph: GraphSource | None = None
    teams: TeamsSource | None = None

    @model_validator(mode="before")
    @classmethod
    def _teams_signs_in_as_graph(cls, data: Any) -> Any:
        """[sources.teams] without its own app registration uses the one of [sources.graph]."""
        if not isinstance(data, dict):
            return data
        teams, graph = data.get("teams"), data.get("graph")
        if (
            isinstance(teams, dict)
            and isinstance(graph, dict)
            and not {"tenant_id", "client_id"} & teams.keys()
        ):
            inherited = {key: graph[key] for key in GraphApp.model_fields if key in graph}
            data = {**data, "teams": {**inherited, **teams}}
        return data


RETIRED_ALERT_KEYS = ("sla_breach_critical_count", "sla_breach_critical_share")


class Alerts(_Strict):
    """Where the digest goes, how to reach Slack, and the alert thresholds (see README, Alert rules)."""

    channel: str | None = None
    token_env: str = "SLACK_BOT_TOKEN"
    token_secret_block: str | None = None
    slack_api_url: str = "https://slack.com/api/"
    slack_workspace_url: str | None = None  # e.g. https://norelec.slack.com, to link Slack evidence
    # Every rule compares a detection window (the last window_days report days) with the vendor's own baseline
    # (the baseline_days calendar days before it); see README, Alerts.
    window_days: int = Field(default=2, ge=1)
    baseline_days: int = Field(default=28, ge=7)
    history_days: int = Field(default=30, ge=1)
    # How unlikely the window must be at the vendor's own normal for a rule to fire (a change, not noise).
    significance: float = Field(default=0.01, gt=0, lt=0.5)
    overdue_critical_factor: float = Field(default=3, ge=1)
    drift_factor: float = Field(default=1.5, gt=1)
    drift_critical_factor: float = Field(default=3, gt=1)
    drift_min_minutes: float = Field(default=60, ge=0)
    drift_min_responses: int = Field(default=3, ge=1)
    silence_share: float = Field(default=0.35, gt=0, lt=1)
    silence_min_expected: float = Field(default=4, gt=0)
    silence_min_items: int = Field(default=3, ge=1)
    # A request not answered within this quantile of the vendor's baseline answer times is late (see README).
    silence_late_quantile: float = Field(default=0.95, gt=0, lt=1)
    silence_min_late: int = Field(default=2, ge=1)
    # The silence tests' own levels: both are gated by a material size already (answers down to silence_share of
    # the pace, silence_min_late requests still waiting), and a vendor going quiet is what a manager must hear of
    # first. Measured on generated scenarios (README, Alerts).
    silence_dried_up_significance: float = Field(default=0.02, gt=0, lt=0.5)
    silence_late_significance: float = Field(default=0.05, gt=0, lt=0.5)
    spike_factor: float = Field(default=2, gt=1)
    spike_critical_factor: float = Field(default=4, gt=1)
    spike_min_signals: int = Field(default=3, ge=1)
    spike_floor_per_100: float = Field(default=2, ge=0)
    chase_factor: float = Field(default=3, gt=1)
    chase_min: int = Field(default=2, ge=1)
    chase_floor: float = Field(default=0.5, gt=0)
    recent_days: int = Field(default=7, ge=1)  # the digest's "last N days" figures (medians, p90, signals)
    chart_days: int = Field(default=28, ge=1)
    # Whether the data can be trusted (marts.source_freshness): a source partition is silent after more than
    # max(source_silent_business_days, source_silent_gap_factor x its usual gap) company business days without a
    # message; the data has ended when no message at all came in the data_ended_business_days before as_of.
    source_silent_business_days: int = Field(default=3, ge=1)
    source_silent_gap_factor: float = Field(default=3, ge=1)
    data_ended_business_days: int = Field(default=3, ge=1)

    @model_validator(mode="before")
    @classmethod
    def _retired_keys(cls, data: Any) -> Any:
        retired = [key for key in RETIRED_ALERT_KEYS if isinstance(data, dict) and key in data]
        if retired:
            raise ValueError(
                f"{', '.join(retired)}: no longer used (a vendor is judged against its own baseline: "
                "latency_drift, silence, misunderstanding_spike, chasing); remove it"
            )
        return data

    @field_validator("slack_api_url")
    @classmethod
    def _trailing_slash(cls, value: str) -> str:
        return value if value.endswith("/") else value + "/"


class Config(_Strict):
    company: Company
    vendors: list[Vendor] = Field(default_factory=list)
    metrics: Metrics = Field(default_factory=Metrics)
    warehouse: Warehouse = Field(default_factory=Warehouse)
    signals: Signals = Field(default_factory=Signals)
    sources: Sources = Field(default_factory=Sources)
    alerts: Alerts = Field(default_factory=Alerts)

    source_file: Path | None = Field(default=None, exclude=True)

    @model_validator(mode="after")
    def _unique_claims(self) -> Config:
        seen_ids: set[str] = set()
        for i, vendor in enumerate(self.vendors):
            if vendor.id == "company":
                raise _KeyedError(f"vendors.{i}.id", "'company' is reserved for the company itself")
            if vendor.id in seen_ids:
                raise _KeyedError(f"vendors.{i}.id", f"duplicate vendor id {vendor.id!r}")
            seen_ids.add(vendor.id)
        claims: dict[tuple[str, str], str] = {}
        parties: list[tuple[str, Party]] = [("company", self.company)]
        parties += [(f"vendors.{i}", v) for i, v in enumerate(self.vendors)]
        for path, party in parties:
            for kind in (
                "email_domains",
                "email_addresses",
                "slack_team_ids",
                "slack_user_ids",
                "teams_tenant_ids",
            ):
                for j, value in enumerate(getattr(party, kind)):
                    owner = claims.setdefault((kind, value.lower()), path)
                    if owner != path:
                        raise _KeyedError(
                            f"{path}.{kind}.{j}", f"{value!r} is already claimed by {_describe(owner, self)}"
                        )
        for kind in ("slack_channels", "teams_channels"):
            channels: dict[str, str] = {}
            for i, vendor in enumerate(self.vendors):
                for j, channel in enumerate(getattr(vendor, kind)):
                    owner = channels.setdefault(channel_key(channel), vendor.id)
                    if owner != vendor.id:
                        raise _KeyedError(
                            f"vendors.{i}.{kind}.{j}", f"{channel!r} is already claimed by vendor {owner!r}"
                        )
        return self

    def vendor(self, vendor_id: str) -> Vendor:
        return next(v for v in self.vendors if v.id == vendor_id)


def _describe(path: str, config: Config) -> str:
    if path == "company":
        return "the company"
    return f"vendor {config.vendors[int(path.split('.')[1])].id!r}"


class _KeyedError(ValueError):
    """A model-level error that knows which key it is about (key_path is relative to the model raising it)."""

    def __init__(self, key_path: str, message: str) -> None:
        super().__init__(message)
        self.key_path = key_path
        self.message = message


def find_config_path(explicit: Path | str | None = None) -> Path:
    """--config, else $COMMHEALTH_CONFIG, else ./commhealth.toml."""
    if explicit:
        return Path(explicit)
    if os.environ.get(CONFIG_ENV):
        return Path(os.environ[CONFIG_ENV])
    return Path.cwd() / DEFAULT_CONFIG_NAME


def _resolve_paths(config: Config, base: Path) -> Config:
    def rel(p: Path | None) -> Path | None:
        return None if p is None else (p if p.is_absolute() else (base / p).resolve())

    staging = config.warehouse.staging_dir  # a URL (str) is left as written
    updates: dict[str, Any] = {
        "warehouse": config.warehouse.model_copy(
            update={
                "path": rel(config.warehouse.path),
                "staging_dir": rel(staging) if isinstance(staging, Path) else staging,
                "temp_dir": rel(config.warehouse.temp_dir),
            }
        ),
        "signals": config.signals.model_copy(update={"extra_lexicon": rel(config.signals.extra_lexicon)}),
    }
    sources = {}
    for name in Sources.model_fields:
        source = getattr(config.sources, name)
        if isinstance(source, FileSource):
            sources[name] = source.model_copy(update={"paths": [rel(p) for p in source.paths]})
    updates["sources"] = config.sources.model_copy(update=sources)
    return config.model_copy(update=updates)


def _format_loc(loc: tuple[Any, ...]) -> str:
    parts: list[str] = []
    for item in loc:
        if item == "[key]":  # pydantic's marker for a bad dict key: the key itself already ends the path
            continue
        if isinstance(item, int):
            parts.append(f"[{item}]")
        elif parts:
            parts.append(f".{item}")
        else:
            parts.append(str(item))
    return "".join(parts) or "(top level)"


def _keyed_loc(key_path: str) -> tuple[str | int, ...]:
    return tuple(int(p) if p.isdigit() else p for p in key_path.split("."))


def load_config(path: Path | str | None = None) -> Config:
    """Read, validate and resolve a config file; raise ConfigError with one readable line."""
    config_path = find_config_path(path)
    if not config_path.is_file():
        raise ConfigError(f"{config_path}: config file not found (pass --config PATH or set ${CONFIG_ENV})")
    try:
        data = tomllib.loads(config_path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{config_path}: not valid TOML: {exc}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{config_path}: not UTF-8 text") from None
    try:
        config = Config.model_validate(data)
    except ValidationError as exc:
        # An unknown key first: a misspelt key also makes the key it was meant to be look missing.
        err = min(exc.errors(), key=lambda e: e["type"] != "extra_forbidden")
        ctx_error = (err.get("ctx") or {}).get("error")
        if isinstance(ctx_error, _KeyedError):
            # key_path is relative to the model that raised it (a party, or the whole config)
            loc = _format_loc((*err["loc"], *_keyed_loc(ctx_error.key_path)))
            raise ConfigError(f"{config_path}: {loc}: {ctx_error.message}") from None
        message = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            message = "unknown key"
        more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
        raise ConfigError(f"{config_path}: {_format_loc(err['loc'])}: {message}{more}") from None
    config = _resolve_paths(config, config_path.resolve().parent)
    return config.model_copy(update={"source_file": config_path.resolve()})

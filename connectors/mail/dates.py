"""Tolerant Date header parsing to aware UTC datetimes."""

from __future__ import annotations

import datetime as dt
import re
from email._parseaddr import _parsedate_tz  # keeps "no zone" apart from +0000, unlike parsedate_tz

from .settings import EXTRA_ZONES, MAX_FUTURE, MAX_ZONE_OFFSET_SECONDS, MIN_YEAR

_COMMENT = re.compile(r"\([^()]*\)")
_COLON_ZONE = re.compile(r"([+-]\d\d):(\d\d)\s*$")
_ZONE_NAME = re.compile(r"\b(" + "|".join(EXTRA_ZONES) + r")\s*$")
_ZONE_NAMES = tuple(EXTRA_ZONES)
# What separates day, month and year (not ":", which would split times).
_DATE_TOKENS = re.compile(r"[\s,/-]+")


def parse_date(value: str | None) -> tuple[dt.datetime | None, bool]:
    """(UTC datetime or None, True when the date had no zone and was read as UTC).

    An impossible date is None, like an unreadable one: before MIN_YEAR, more than MAX_FUTURE after now, or a
    year that is no year ("0000", which the two-digit-year rule would read as 2000).
    """
    if not value:
        return None, False
    text = _COMMENT.sub(" ", value).strip()
    # The text is stripped, so both zone patterns can only match its end: cheap tests skip the regexes.
    if text[-3:-2] == ":":
        text = _COLON_ZONE.sub(r"\1\2", text)
    if text.endswith(_ZONE_NAMES):
        text = _ZONE_NAME.sub(lambda m: EXTRA_ZONES[m.group(1)], text)
    try:
        parts = _parsedate_tz(text)
    except (ValueError, TypeError, IndexError, OverflowError):
        parts = None
    if parts is None:
        return _parse_iso(text)
    year, month, day, hour, minute, second = parts[:6]
    if _year_not_written(text, year):
        return None, False
    offset = parts[9]
    without_zone = offset is None or abs(offset) > MAX_ZONE_OFFSET_SECONDS
    try:
        zone = dt.UTC if without_zone else dt.timezone(dt.timedelta(seconds=offset))
        when = dt.datetime(year, month, day, hour, minute, min(second, 59), tzinfo=zone)
    except (ValueError, OverflowError, TypeError):
        return None, False
    return _checked(when.astimezone(dt.UTC), without_zone)


def _parse_iso(text: str) -> tuple[dt.datetime | None, bool]:
    try:
        when = dt.datetime.fromisoformat(text.replace(" ", "T", 1) if "T" not in text else text)
    except ValueError:
        return None, False
    if when.tzinfo is None:
        return _checked(when.replace(tzinfo=dt.UTC), True)
    return _checked(when.astimezone(dt.UTC), False)


def _year_not_written(text: str, year: int) -> bool:
    """Whether `year` is written neither in full nor with two digits: _parsedate_tz reads any number below 100
    as a two-digit year, so "0000", "000" or "0" would pass for 2000."""
    tokens = _DATE_TOKENS.split(text)
    return str(year) not in tokens and f"{year % 100:02d}" not in tokens


def _checked(when: dt.datetime, without_zone: bool) -> tuple[dt.datetime | None, bool]:
    if when.year < MIN_YEAR or when > dt.datetime.now(dt.UTC) + MAX_FUTURE:
        return None, False
    return when, without_zone

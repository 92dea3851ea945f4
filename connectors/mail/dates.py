"""Tolerant Date header parsing to aware UTC datetimes."""

from __future__ import annotations

import datetime as dt
import re
from email._parseaddr import _parsedate_tz  # keeps "no zone" apart from +0000, unlike parsedate_tz

from .settings import EXTRA_ZONES, MAX_YEAR, MAX_ZONE_OFFSET_SECONDS, MIN_YEAR

_COMMENT = re.compile(r"\([^()]*\)")
_COLON_ZONE = re.compile(r"([+-]\d\d):(\d\d)\s*$")
_ZONE_NAME = re.compile(r"\b(" + "|".join(EXTRA_ZONES) + r")\s*$")
_ZONE_NAMES = tuple(EXTRA_ZONES)


def parse_date(value: str | None) -> tuple[dt.datetime | None, bool]:
    """(UTC datetime or None, True when the date had no zone and was read as UTC)."""
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


def _checked(when: dt.datetime, without_zone: bool) -> tuple[dt.datetime | None, bool]:
    if not MIN_YEAR <= when.year <= MAX_YEAR:
        return None, False
    return when, without_zone

"""The daily digest read from the marts: each vendor's status, alerts, evidence and waiting items on a report
day (the SQL beside this module, in sql/), what the data itself lacks, and the chart's latency series."""

from __future__ import annotations

import datetime as dt
from importlib import resources

import duckdb

from digest.model import AlertLine, Digest, EvidenceItem, VendorDigest, WaitingItem
from ground.config import Config
from transforms.calendar import expand_party

LOOK_BACK_FOR_WORKDAY = 14


def digest_sql(name: str) -> str:
    """A statement of sql/ beside this module, by file name."""
    return resources.files("digest").joinpath("sql", name).read_text(encoding="utf-8")


def default_as_of(config: Config, now: dt.datetime | None = None) -> dt.datetime:
    """End of the last completed company working day before now, so the scheduled run reports a whole day.

    A Monday-morning run reports Friday (or Thursday when Friday was a holiday), and re-running later the same
    morning reports exactly the same day.
    """
    now = now or dt.datetime.now(dt.UTC)
    zone = config.company.zone
    today = now.astimezone(zone).date()
    start = today - dt.timedelta(days=LOOK_BACK_FOR_WORKDAY)
    workdays = [day for day, _, _ in expand_party(config.company, start, today - dt.timedelta(days=1))]
    last = workdays[-1] if workdays else today - dt.timedelta(days=1)
    return dt.datetime.combine(last + dt.timedelta(days=1), dt.time(0), tzinfo=zone).astimezone(dt.UTC)


def _rows(con: duckdb.DuckDBPyConnection, statement: str, params: list[object]) -> list[dict[str, object]]:
    result = con.execute(statement, params)
    names = [d[0] for d in result.description]
    return [dict(zip(names, row, strict=True)) for row in result.fetchall()]


def load_digest(con: duckdb.DuckDBPyConnection, config: Config, day: dt.date) -> Digest:
    """The digest of `day` from marts.digest_vendors, marts.alerts and the overdue items still waiting."""
    alerts: dict[str, list[AlertLine]] = {}
    for row in _rows(con, digest_sql("digest_alerts.sql"), [day]):
        alerts.setdefault(str(row["vendor_id"]), []).append(
            AlertLine(
                rule=str(row["rule"]),
                severity=str(row["severity"]),
                summary=str(row["summary"]),
                state=str(row["state"]),
                subject=str(row["subject"]),
                first_seen=row["first_seen"],
                new_items=int(row["new_items"] or 0),
                worse_items=int(row["worse_items"] or 0),
                ongoing_items=int(row["ongoing_items"] or 0),
                resolved_items=int(row["resolved_items"] or 0),
                evidence=[
                    EvidenceItem(
                        label=str(item["label"]),
                        link=item["link"],
                        waited_business_minutes=item["waited_business_minutes"],
                        kind=item["kind"],
                    )
                    for item in row["evidence"]
                ],
            )
        )
    rows = _rows(con, digest_sql("digest_vendors.sql"), [day])
    names = {str(row["vendor_id"]): str(row["vendor_name"]) for row in rows}
    waiting: dict[str, list[WaitingItem]] = {}
    for row in _rows(con, digest_sql("digest_waiting.sql"), [day]):
        vendor_name = names.get(str(row["vendor_id"]), str(row["vendor_id"]))
        on_us = row["subject"] == "company"
        someone = str(row["requester"] or "someone")
        waiting.setdefault(str(row["vendor_id"]), []).append(
            WaitingItem(
                label=str(row["label"]),
                # an item waiting on us: the vendor waits on the company person who holds the conversation
                waiter=f"{vendor_name} ({someone})" if on_us else someone,
                waited_on=str(row["owner"] or "us (no owner found)") if on_us else vendor_name,
                since=row["requested_at"].astimezone(config.company.zone).date(),
                link=row["link"],
                on_us=on_us,
            )
        )
    vendors = []
    for row in rows:
        vendor_id = str(row["vendor_id"])
        vendors.append(
            VendorDigest(
                vendor_id=vendor_id,
                vendor_name=str(row["vendor_name"]),
                status=str(row["status"]),
                vendor_median_minutes=row["vendor_median_minutes"],
                vendor_p90_minutes=row["vendor_p90_minutes"],
                company_median_minutes=row["company_median_minutes"],
                company_p90_minutes=row["company_p90_minutes"],
                vendor_responses=int(row["vendor_responses"] or 0),
                company_responses=int(row["company_responses"] or 0),
                sla_breaches=int(row["sla_breaches"] or 0),
                overdue_on_vendor=int(row["overdue_on_vendor"] or 0),
                overdue_on_company=int(row["overdue_on_company"] or 0),
                signals_recent=int(row["signals_recent"] or 0),
                signals_per_100_recent=row["signals_per_100_recent"],
                signals_per_100_baseline=row["signals_per_100_baseline"],
                # a vendor without data is not judged: its alerts would be built on missing data
                alerts=alerts.get(vendor_id, []) if row["has_data"] else [],
                waiting=waiting.get(vendor_id, []),
                alert_channel=config.vendor(vendor_id).alert_channel,
                data_reason=row["data_reason"],
                dismissed=int(row["dismissed"] or 0),
            )
        )
    previous_day = rows[0]["previous_day"] if rows else None
    return Digest(
        day=day,
        vendors=vendors,
        recent_days=config.alerts.recent_days,
        previous_day=previous_day,
        data_problems=data_problems(con, day),
    )


def data_problems(con: duckdb.DuckDBPyConnection, day: dt.date) -> list[str]:
    """What the digest says of the data before any vendor, one line each (marts.source_freshness): first, when
    the report day is past the end of the data, that the figures stop at its newest message."""
    ended, newest_day, lines = con.execute(digest_sql("digest_data_problems.sql"), [day]).fetchone()
    first = []
    if ended and newest_day is not None:
        first = [f"The newest message is from {newest_day}: nothing since; the figures below stop there."]
    return first + list(lines)


def latency_series(con: duckdb.DuckDBPyConnection, day: dt.date) -> dict[str, list[tuple[dt.date, float]]]:
    """Daily median business response time of each vendor, in hours, for the chart."""
    series: dict[str, list[tuple[dt.date, float]]] = {}
    for vendor_id, point_day, minutes in con.execute(digest_sql("digest_latency.sql"), [day]).fetchall():
        series.setdefault(vendor_id, []).append((point_day, minutes / 60.0))
    return series

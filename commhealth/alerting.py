"""The daily digest: read it from the marts, render it, and deliver it to Slack exactly once per report day."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections.abc import Callable
from pathlib import Path

import duckdb

from commhealth.chart import render_latency_chart
from commhealth.config import Config
from commhealth.secrets import resolve_secret
from connectors.slack.client import SlackPublishError, make_client
from connectors.slack.digest import (
    AlertLine,
    Digest,
    EvidenceItem,
    RenderedDigest,
    RenderedMessage,
    VendorDigest,
    WaitingItem,
    render_digest,
    render_markdown,
    render_terminal,
    render_vendor_alert,
)
from connectors.slack.publish import post_message, upload_file
from transforms.calendar import expand_party
from warehouse.db import sql

DIGEST_VENDOR = "*"  # meta.alert_deliveries.vendor_id of the digest message itself and its parts
LOOK_BACK_FOR_WORKDAY = 14


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
    for row in _rows(con, sql("digest_alerts.sql"), [day]):
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
    rows = _rows(con, sql("digest_vendors.sql"), [day])
    names = {str(row["vendor_id"]): str(row["vendor_name"]) for row in rows}
    waiting: dict[str, list[WaitingItem]] = {}
    for row in _rows(con, sql("digest_waiting.sql"), [day]):
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
    ended, newest_day, lines = con.execute(sql("digest_data_problems.sql"), [day]).fetchone()
    first = []
    if ended and newest_day is not None:
        first = [f"The newest message is from {newest_day}: nothing since; the figures below stop there."]
    return first + list(lines)


def latency_series(con: duckdb.DuckDBPyConnection, day: dt.date) -> dict[str, list[tuple[dt.date, float]]]:
    """Daily median business response time of each vendor, in hours, for the chart."""
    series: dict[str, list[tuple[dt.date, float]]] = {}
    for vendor_id, point_day, minutes in con.execute(sql("digest_latency.sql"), [day]).fetchall():
        series.setdefault(vendor_id, []).append((point_day, minutes / 60.0))
    return series


def resolve_token(config: Config) -> str | None:
    """The Slack bot token: the environment variable first, then the Prefect Secret block, else None (dry run)."""
    return resolve_secret(config.alerts.token_env, config.alerts.token_secret_block, "the Slack bot token")


@dataclasses.dataclass
class DigestFiles:
    """What a digest leaves beside the warehouse, posted or not."""

    rendered: RenderedDigest
    json_path: Path
    chart_path: Path
    terminal_text: str


def write_digest_files(con: duckdb.DuckDBPyConnection, config: Config, digest: Digest) -> DigestFiles:
    """Render the digest, save its Block Kit JSON and the latency chart next to the warehouse."""
    rendered = render_digest(digest)
    base = config.warehouse.path
    json_path = base.with_name(f"{base.stem}.digest-{digest.day.isoformat()}.json")
    json_path.write_text(json.dumps(rendered.to_json(), indent=2, ensure_ascii=False), encoding="utf-8")
    chart_path = render_latency_chart(
        latency_series(con, digest.day),
        base.with_name(f"{base.stem}.latency-{digest.day.isoformat()}.png"),
        title=f"Vendor response time (business hours, daily median), {config.alerts.chart_days} days to {digest.day}",
        end=digest.day,
        days=config.alerts.chart_days,
        names={v.vendor_id: v.vendor_name for v in digest.vendors},
        sla_hours={v.vendor_id: config.vendor(v.vendor_id).sla_hours for v in digest.vendors},
        flagged={v.vendor_id for v in digest.vendors if v.status != "ok"},
    )
    return DigestFiles(rendered, json_path, chart_path, render_terminal(rendered))


@dataclasses.dataclass
class Delivery:
    """What a run posted and what it found already posted."""

    dry_run: bool
    posted: list[str] = dataclasses.field(default_factory=list)
    already_posted: list[str] = dataclasses.field(default_factory=list)
    failed: list[str] = dataclasses.field(default_factory=list)


class _Ledger:
    """meta.alert_deliveries for one report day: each successful post is committed at once.

    A forced run posts again what was posted before it started (`forced_since`), and only that: a retry of the
    same run skips what the run has already posted, however many times it is retried.
    """

    def __init__(
        self, con: duckdb.DuckDBPyConnection, day: dt.date, forced_since: dt.datetime | None
    ) -> None:
        self.con, self.day, self.forced_since = con, day, forced_since
        self.done = {
            (channel, vendor, rule): (ts, delivered_at)
            for channel, vendor, rule, ts, delivered_at in con.execute(
                sql("deliveries_of_day.sql"), [day]
            ).fetchall()
        }

    def posted_ts(self, channel: str, vendor: str, rule: str) -> str | None:
        done = self.done.get((channel, vendor, rule))
        return done[0] if done else None

    def needs(self, channel: str, vendor: str, rule: str) -> bool:
        done = self.done.get((channel, vendor, rule))
        if done is None:
            return True
        return self.forced_since is not None and done[1] < self.forced_since

    def record(self, channel: str, vendor: str, rule: str, severity: str | None, ts: str | None) -> None:
        delivered_at = self.con.execute(
            sql("record_delivery.sql"), [self.day, channel, vendor, rule, severity, ts]
        ).fetchone()[0]
        self.done[(channel, vendor, rule)] = (ts, delivered_at)


class _Poster:
    """Posts one thing at a time; a failure is reported and recorded nowhere, so the next run tries again."""

    def __init__(self, client: object, ledger: _Ledger) -> None:
        self.client, self.ledger = client, ledger
        self.delivery = Delivery(dry_run=False)

    def attempt(self, label: str, post: Callable[[], None]) -> bool:
        try:
            post()
        except SlackPublishError as exc:
            self.delivery.failed.append(f"{label}: {exc}")
            return False
        self.delivery.posted.append(label)
        return True

    def message(self, channel: str, message: RenderedMessage, thread_ts: str | None = None) -> str:
        return post_message(self.client, channel, message, thread_ts=thread_ts).ts


def deliver(
    con: duckdb.DuckDBPyConnection,
    config: Config,
    digest: Digest,
    files: DigestFiles,
    *,
    token: str | None,
    forced_since: dt.datetime | None = None,
    client_factory: Callable[..., object] = make_client,
) -> Delivery:
    """Post what has not been posted for this day yet: the digest (main message, thread replies, chart), an update
    in its thread for alerts that appeared since, and critical alerts in each vendor's alert channel.

    `forced_since` (--force) is when the forced run started: what was posted before it is posted again, once.
    """
    channel = config.alerts.channel
    if token is None or not channel:
        return Delivery(dry_run=True)
    ledger = _Ledger(con, digest.day, forced_since)
    poster = _Poster(client_factory(token, config.alerts.slack_api_url), ledger)
    thread_ts = _post_digest(poster, channel, digest, files)
    if thread_ts is not None:
        _post_thread_parts(poster, channel, thread_ts, files)
    for vendor in digest.vendors:
        _post_vendor_alerts(poster, digest, vendor)
    return poster.delivery


def _alerts_needing(
    ledger: _Ledger, channel: str, vendor: VendorDigest, alerts: list[AlertLine]
) -> list[AlertLine]:
    return [a for a in alerts if ledger.needs(channel, vendor.vendor_id, a.identity)]


def _post_digest(poster: _Poster, channel: str, digest: Digest, files: DigestFiles) -> str | None:
    """The main message (first run, or forced), else an update in its thread for alerts new since; its ts."""
    ledger = poster.ledger
    if ledger.needs(channel, DIGEST_VENDOR, "digest"):
        posted: dict[str, str] = {}

        def post_main() -> None:
            ts = posted["ts"] = poster.message(channel, files.rendered.main)
            ledger.record(channel, DIGEST_VENDOR, "digest", digest.status, ts)
            for vendor in digest.vendors:  # the digest carries every alert of the day
                for alert in vendor.alerts:
                    ledger.record(channel, vendor.vendor_id, alert.identity, alert.severity, ts)

        poster.attempt(f"digest of {digest.day} in {channel}", post_main)
        return posted.get("ts")
    thread_ts = ledger.posted_ts(channel, DIGEST_VENDOR, "digest")
    poster.delivery.already_posted.append(f"digest of {digest.day} in {channel}")
    for vendor in digest.vendors:
        new = _alerts_needing(ledger, channel, vendor, vendor.alerts)
        if new:

            def post_update(vendor: VendorDigest = vendor, new: list[AlertLine] = new) -> None:
                ts = poster.message(channel, render_vendor_alert(digest, vendor), thread_ts=thread_ts)
                for alert in new:
                    ledger.record(channel, vendor.vendor_id, alert.identity, alert.severity, ts)

            poster.attempt(f"new alerts of {vendor.vendor_id} in the {digest.day} thread", post_update)
    return thread_ts


def _post_thread_parts(poster: _Poster, channel: str, thread_ts: str, files: DigestFiles) -> None:
    """Folded vendor sections and the chart, each once, in the digest's thread."""
    ledger = poster.ledger
    for index, reply in enumerate(files.rendered.thread_replies, start=1):
        part = f"digest_part_{index}"
        if ledger.needs(channel, DIGEST_VENDOR, part):

            def post_reply(reply: RenderedMessage = reply, part: str = part) -> None:
                ledger.record(channel, DIGEST_VENDOR, part, None, poster.message(channel, reply, thread_ts))

            poster.attempt(f"digest part {index} in the thread", post_reply)
    if ledger.needs(channel, DIGEST_VENDOR, "chart"):

        def post_chart() -> None:
            upload_file(poster.client, channel, thread_ts, files.chart_path, "Vendor response time")
            ledger.record(channel, DIGEST_VENDOR, "chart", None, thread_ts)

        poster.attempt("latency chart in the digest thread", post_chart)


def _post_vendor_alerts(poster: _Poster, digest: Digest, vendor: VendorDigest) -> None:
    """Critical alerts new or worse on the day also go to the vendor's own alert channel, once per episode and
    state (an ongoing alert is never posted again)."""
    channel = vendor.alert_channel
    critical = [a for a in vendor.alerts if a.is_critical_today]
    if not channel or not critical:
        return
    pending = _alerts_needing(poster.ledger, channel, vendor, critical)
    label = f"critical alerts of {vendor.vendor_id} in {channel}"
    if not pending:
        poster.delivery.already_posted.append(label)
        return

    def post_alert() -> None:
        ts = poster.message(channel, render_vendor_alert(digest, vendor))
        for alert in pending:
            poster.ledger.record(channel, vendor.vendor_id, alert.identity, alert.severity, ts)

    poster.attempt(label, post_alert)


def _hours_value(minutes: float | None) -> float | None:
    return None if minutes is None else round(minutes / 60, 2)


def digest_table(digest: Digest) -> list[dict[str, object]]:
    """The day's vendor metrics as rows, for the Prefect table artifact."""
    return [
        {
            "vendor": v.vendor_id,
            "status": v.status,
            "vendor_median_h": _hours_value(v.vendor_median_minutes),
            "vendor_p90_h": _hours_value(v.vendor_p90_minutes),
            "company_median_h": _hours_value(v.company_median_minutes),
            "company_p90_h": _hours_value(v.company_p90_minutes),
            "sla_breaches": v.sla_breaches,
            "overdue_on_vendor": v.overdue_on_vendor,
            "overdue_on_company": v.overdue_on_company,
            "signals": v.signals_recent,
            "signals_per_100": v.signals_per_100_recent,
            "signals_per_100_baseline": v.signals_per_100_baseline,
            "alerts": len(v.alerts),
            "dismissed": v.dismissed,
            "has_data": v.status != "no_data",
            "data_reason": v.data_reason,
        }
        for v in digest.vendors
    ]


def digest_markdown(digest: Digest, files: DigestFiles) -> str:
    """The digest as markdown, for the Prefect artifact: the same sections as the Slack message."""
    return render_markdown(digest) + f"\nBlock Kit JSON: `{files.json_path}`; chart: `{files.chart_path}`\n"

"""Delivering the daily digest: its files beside the warehouse (Block Kit JSON, chart), the Prefect artifact's
markdown, and the Slack messages, each posted exactly once per report day (meta.alert_deliveries)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections.abc import Callable
from pathlib import Path

import duckdb

from connectors.slack.client import SlackPublishError, make_client
from connectors.slack.publish import RenderedMessage, post_message, upload_file
from digest.chart import render_latency_chart
from digest.model import AlertLine, Digest, VendorDigest
from digest.queries import latency_series
from digest.render import (
    RenderedDigest,
    render_digest,
    render_markdown,
    render_terminal,
    render_vendor_alert,
)
from ground.config import Config
from ground.secrets import resolve_secret
from warehouse.db import sql

DIGEST_VENDOR = "*"  # meta.alert_deliveries.vendor_id of the digest message itself and its parts


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


def digest_markdown(digest: Digest, files: DigestFiles) -> str:
    """The digest as markdown, for the Prefect artifact: the same sections as the Slack message."""
    return render_markdown(digest) + f"\nBlock Kit JSON: `{files.json_path}`; chart: `{files.chart_path}`\n"

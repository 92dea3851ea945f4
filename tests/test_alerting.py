"""Delivering the digest: once per day, resumable after failures, critical alerts to vendor channels."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest
from rich.console import Console

from digest import queries
from digest.delivery import (
    Delivery,
    DigestFiles,
    deliver,
    digest_markdown,
    resolve_token,
    write_digest_files,
)
from digest.model import AlertLine, Digest, VendorDigest, WaitingItem
from digest.render import render_digest, render_terminal, render_vendor_alert
from flows.ingest import ingest
from ground.config import Config, load_config
from ground.secrets import SecretUnavailableError
from tests.conftest import EXAMPLE_CONFIG, write_config
from tests.fakes.slack_api import FakeSlackAPI
from tests.transforms.transforms_testlib import insert_feedback, insert_messages
from transforms.build import build_marts, parse_as_of, report_day
from warehouse.db import open_writer

DAY = dt.date(2026, 11, 20)
TOKEN = "xoxb-secret-test-token"


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def slack() -> Iterator[FakeSlackAPI]:
    with FakeSlackAPI() as fake:
        fake.state.add_channel("vendor-health", "C0HEALTH01")
        fake.state.add_channel("vendor-kappa", "C0KAPPA001")
        yield fake


@pytest.fixture
def config(tmp_path: Path, slack: FakeSlackAPI) -> Config:
    text = EXAMPLE_CONFIG + f'\n[alerts]\nchannel = "#vendor-health"\nslack_api_url = "{slack.url}"\n'
    return load_config(write_config(tmp_path, text))


def vendor(vendor_id: str, *alerts: AlertLine, channel: str | None = None) -> VendorDigest:
    status = max((a.severity for a in alerts), key=["warning", "critical"].index, default="ok")
    return VendorDigest(
        vendor_id,
        vendor_id.title(),
        status,
        120.0,
        300.0,
        90.0,
        200.0,
        5,
        4,
        len(alerts),
        1,
        0,
        3,
        4.0,
        2.0,
        alerts=list(alerts),
        waiting=[WaitingItem("Invoice <!channel> export", "Alice", vendor_id.title(), DAY)],
        alert_channel=channel,
    )


def files_for(tmp_path: Path, digest: Digest) -> DigestFiles:
    chart = tmp_path / "chart.png"
    chart.write_bytes(b"\x89PNG\r\n\x1a\nfake")
    return DigestFiles(render_digest(digest), tmp_path / "d.json", chart, "text")


def run(
    con: duckdb.DuckDBPyConnection, config: Config, digest: Digest, tmp_path: Path, **kw: object
) -> Delivery:
    return deliver(con, config, digest, files_for(tmp_path, digest), token=TOKEN, **kw)


def test_posts_once_then_nothing_then_only_new_alerts(
    config: Config, slack: FakeSlackAPI, tmp_path: Path
) -> None:
    breach = AlertLine("silence", "warning", "3 requests have waited longer than usual", first_seen=DAY)
    digest = Digest(DAY, [vendor("kappa", breach), vendor("lumen")])
    with open_writer(":memory:") as con:
        first = run(con, config, digest, tmp_path)
        assert first.failed == [] and not first.dry_run
        main = [m for m in slack.posted("#vendor-health") if m.get("thread_ts", m["ts"]) == m["ts"]]
        assert len(main) == 1
        assert len(slack.calls("files.completeUploadExternal")) == 1
        assert all(c.token == TOKEN for c in slack.calls() if c.method != "upload")

        everything = len(slack.posted("#vendor-health"))
        second = run(con, config, digest, tmp_path)
        assert second.posted == [] and second.failed == []
        assert len(slack.posted("#vendor-health")) == everything

        drift = AlertLine(
            "latency_drift", "warning", "Answers take 9.5 h against 3.0 usually", first_seen=DAY
        )
        later = Digest(DAY, [vendor("kappa", breach, drift), vendor("lumen")])
        third = run(con, config, later, tmp_path)
        assert third.posted == [f"new alerts of kappa in the {DAY} thread"]
        update = slack.posted("#vendor-health")[-1]
        assert update["thread_ts"] == main[0]["ts"]
        rules = con.execute(
            "SELECT vendor_id, rule FROM meta.alert_deliveries WHERE vendor_id <> '*'"
        ).fetchall()
        assert sorted(rules) == [("kappa", f"latency_drift:{DAY}:new"), ("kappa", f"silence:{DAY}:new")]


def test_a_failed_post_is_retried_by_the_next_run_without_duplicates(
    config: Config, slack: FakeSlackAPI, tmp_path: Path
) -> None:
    digest = Digest(DAY, [vendor("kappa", AlertLine("vendor_overdue", "warning", "2 items past SLA"))])
    with open_writer(":memory:") as con:
        # An error that is not retried within the call (Slack's transient ones, like internal_error, are).
        slack.api_error("files.getUploadURLExternal", "invalid_arguments")
        first = run(con, config, digest, tmp_path)
        assert len(first.failed) == 1 and "latency chart" in first.failed[0] and TOKEN not in first.failed[0]
        second = run(con, config, digest, tmp_path)
        assert second.posted == ["latency chart in the digest thread"]
        assert len([m for m in slack.posted("#vendor-health") if m.get("thread_ts", m["ts"]) == m["ts"]]) == 1


def test_force_posts_again_and_critical_alerts_reach_the_vendor_channel(
    config: Config, slack: FakeSlackAPI, tmp_path: Path
) -> None:
    critical = AlertLine(
        "vendor_overdue", "critical", "3 items have waited past 3x SLA", state="worse", worse_items=3
    )
    digest = Digest(DAY, [vendor("kappa", critical, channel="#vendor-kappa")])
    with open_writer(":memory:") as con:
        run(con, config, digest, tmp_path)
        assert len(slack.posted("#vendor-kappa")) == 1
        assert run(con, config, digest, tmp_path).posted == []
        forced = run(con, config, digest, tmp_path, forced_since=dt.datetime.now(dt.UTC))
        assert f"digest of {DAY} in #vendor-health" in forced.posted
        assert len(slack.posted("#vendor-kappa")) == 2


def test_a_forced_run_retried_after_a_failure_posts_each_part_once(
    config: Config, slack: FakeSlackAPI, tmp_path: Path
) -> None:
    critical = AlertLine(
        "vendor_overdue", "critical", "3 items have waited past 3x SLA", state="worse", worse_items=3
    )
    digest = Digest(DAY, [vendor("kappa", critical, channel="#vendor-kappa")])
    with open_writer(":memory:") as con:
        run(con, config, digest, tmp_path)
        forced_since = dt.datetime.now(dt.UTC)
        slack.api_error("files.getUploadURLExternal", "invalid_arguments")  # not retried within the call
        first_try = run(con, config, digest, tmp_path, forced_since=forced_since)
        assert len(first_try.failed) == 1 and "latency chart" in first_try.failed[0]

        retry = run(con, config, digest, tmp_path, forced_since=forced_since)  # the task's retry, same run

        assert retry.posted == ["latency chart in the digest thread"]
        main = [m for m in slack.posted("#vendor-health") if m.get("thread_ts", m["ts"]) == m["ts"]]
        assert len(main) == 2 and len(slack.posted("#vendor-kappa")) == 2  # the first run's, the forced one
        charts = [c for c in slack.calls("files.completeUploadExternal") if c.response and c.response["ok"]]
        assert len(charts) == 2 and charts[-1].params["thread_ts"] == main[-1]["ts"]


def test_the_vendor_channel_gets_a_critical_alert_once_not_while_it_is_ongoing(
    config: Config, slack: FakeSlackAPI, tmp_path: Path
) -> None:
    """Only critical alerts new or worse on the day reach the vendor's channel; the same episode the next report
    day (ongoing) and a warning that is new do not."""
    first_seen = DAY - dt.timedelta(days=1)
    turned_critical = AlertLine(
        "latency_drift", "critical", "Answers take 12 h", state="worse", first_seen=first_seen
    )
    new_warning = AlertLine("chasing", "warning", "We chased 6 times", state="new", first_seen=DAY)
    still_critical = AlertLine(
        "latency_drift", "critical", "Answers take 12 h", state="ongoing", first_seen=first_seen
    )
    on_us = AlertLine(
        "company_overdue", "critical", "2 waiting on us", subject="company", state="worse", worse_items=2
    )
    with open_writer(":memory:") as con:
        day_one = Digest(DAY, [vendor("kappa", turned_critical, new_warning, on_us, channel="#vendor-kappa")])
        run(con, config, day_one, tmp_path)
        run(con, config, day_one, tmp_path)
        day_two = Digest(
            DAY + dt.timedelta(days=1), [vendor("kappa", still_critical, channel="#vendor-kappa")]
        )
        assert "critical alerts of kappa in #vendor-kappa" not in run(con, config, day_two, tmp_path).posted
    posted = slack.posted("#vendor-kappa")
    assert len(posted) == 1 and "Answers take 12 h" in posted[0]["text"]


def test_no_token_is_a_dry_run(config: Config, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SLACK_BOT_TOKEN", raising=False)
    assert resolve_token(config) is None
    monkeypatch.setenv("SLACK_BOT_TOKEN", " xoxb-from-env ")
    assert resolve_token(config) == "xoxb-from-env"
    with open_writer(":memory:") as con:
        digest = Digest(DAY, [vendor("kappa")])
        assert deliver(con, config, digest, files_for(tmp_path, digest), token=None).dry_run


def test_missing_secret_block_is_a_clear_error_without_the_secret(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SLACK_BOT_TOKEN", raising=False)
    monkeypatch.setenv("PREFECT_API_URL", "http://127.0.0.1:9/api")  # nothing listens there
    cfg = load_config(
        write_config(tmp_path, EXAMPLE_CONFIG + '\n[alerts]\ntoken_secret_block = "slack-bot"\n')
    )
    with pytest.raises(SecretUnavailableError, match="'slack-bot'"):
        resolve_token(cfg)


def test_every_label_names_the_configured_window(tmp_path: Path) -> None:
    config = load_config(write_config(tmp_path, EXAMPLE_CONFIG + "\n[alerts]\nrecent_days = 3\n"))
    as_of = parse_as_of("2026-11-20", config)
    # both vendors wrote that day: a vendor without data shows no figures, so no window either
    mbox = tmp_path / "box.mbox"
    mbox.write_bytes(
        b"".join(
            f"From x@{domain} Fri Nov 20 10:00:00 2026\nMessage-ID: <{domain}@x>\n"
            f"Date: Fri, 20 Nov 2026 10:00:00 +0100\nFrom: x@{domain}\nTo: jean@norelec.fr\nSubject: Hi\n\nHi\n\n".encode()
            for domain in ("kappa-offshore.in", "lumen.ro")
        )
    )
    ingest(config, Console(quiet=True), mail=[mbox])
    with open_writer(tmp_path / "warehouse.duckdb") as con:
        build_marts(con, config, as_of)
        digest = queries.load_digest(con, config, report_day(config, as_of))
        files = write_digest_files(con, config, digest)
    alert = render_vendor_alert(digest, digest.vendors[0])
    slack_texts = [json.dumps(files.rendered.to_json(), ensure_ascii=False), json.dumps(alert.blocks)]
    for text in [*slack_texts, files.terminal_text, alert.plain, digest_markdown(digest, files)]:
        assert "over the last 3 days" in text
        assert "7 days" not in text and "7d" not in text
    for text in [json.dumps(alert.blocks), alert.plain]:  # the figures of a vendor's section
        assert "Signals 3d" in text


@pytest.mark.parametrize(
    ("now", "expected_day"),
    [
        ("2026-11-24T06:00:00+00:00", dt.date(2026, 11, 23)),  # Tuesday 07:00 Paris reports Monday
        ("2026-11-23T06:00:00+00:00", dt.date(2026, 11, 20)),  # Monday reports Friday
        ("2026-11-12T06:00:00+00:00", dt.date(2026, 11, 10)),  # Thursday after the 11 November holiday
    ],
)
def test_default_as_of_reports_the_last_company_workday(
    config: Config, now: str, expected_day: dt.date
) -> None:
    as_of = queries.default_as_of(config, dt.datetime.fromisoformat(now))
    assert report_day(config, as_of) == expected_day
    assert as_of.astimezone(config.company.zone).time() == dt.time(0)


def test_waiting_lists_say_who_waits_on_whom_and_who_owns_what_waits_on_us(tmp_path: Path) -> None:
    """On a built warehouse: an item waiting on us is owned by the last company person who wrote in the
    conversation before the request, else by the request's first recipient; one waiting on the vendor is waited
    for by the company person who asked."""
    from tests.transforms.transforms_testlib import insert_messages, make_config

    config = make_config()
    rows = [
        {
            "message_key": "ask",
            "conversation_key": "c1",
            "sent_at": "2026-11-18T08:00:00+00:00",
            "side": "company",
            "sender_name": "Alice Martin",
            "recipient_vendor_ids": ["zeta"],
            "subject": "Access request",
            "body_text": "Can you open our access?",
        },
        {
            "message_key": "draft",
            "conversation_key": "c2",
            "sent_at": "2026-11-18T09:00:00+00:00",
            "side": "company",
            "sender_name": "Bob Durand",
            "recipient_vendor_ids": ["zeta"],
            "subject": "Draft",
            "body_text": "Here it is.",
        },
        {
            "message_key": "budget",
            "conversation_key": "c2",
            "sent_at": "2026-11-19T08:30:00+00:00",
            "side": "vendor",
            "vendor_id": "zeta",
            "sender_name": "Zoe",
            "subject": "Re: Draft",
            "body_text": "Can you confirm the budget?",
        },
        {
            "message_key": "golive",
            "conversation_key": "c3",
            "sent_at": "2026-11-19T08:00:00+00:00",
            "side": "vendor",
            "vendor_id": "zeta",
            "sender_name": "Zoe",
            "recipients": ["claire@company.example"],
            "subject": "Go-live",
            "body_text": "Can you confirm the go-live date?",
        },
    ]
    with open_writer(":memory:") as con:
        insert_messages(con, rows)
        as_of = parse_as_of("2026-11-20", config)
        build_marts(con, config, as_of)
        digest = queries.load_digest(con, config, report_day(config, as_of))
    zeta = next(v for v in digest.vendors if v.vendor_id == "zeta")
    waiting = {(w.label, w.waiter, w.waited_on, w.since.isoformat(), w.on_us) for w in zeta.waiting}
    assert waiting == {
        ("Access request", "Alice Martin", "Zeta", "2026-11-18", False),
        ("Re: Draft", "Zeta (Zoe)", "Bob Durand", "2026-11-19", True),
        ("Go-live", "Zeta (Zoe)", "claire@company.example", "2026-11-19", True),
    }
    assert zeta.status == "ok"  # items merely past the SLA, and ours, do not colour the vendor
    text = render_terminal(render_digest(digest))
    assert (
        "• Go-live — Zeta (Zoe) waits on claire@company.example since 2026-11-19"
        in text.split("Waiting on us")[1]
    )


def test_the_digest_says_how_many_alerts_users_dismissed(tmp_path: Path) -> None:
    config = load_config(write_config(tmp_path))
    as_of = parse_as_of("2026-11-20", config)
    asked = {"message_key": "ask", "conversation_key": "ask", "sent_at": "2026-11-19T05:00:00+00:00"}
    with open_writer(tmp_path / "warehouse.duckdb") as con:
        insert_messages(con, [{**asked, "side": "company", "recipient_vendor_ids": ["kappa"]}], config)
        build_marts(con, config, as_of)
        digest = queries.load_digest(con, config, report_day(config, as_of))
        assert digest.dismissed_note is None
        assert [v.overdue_on_vendor for v in digest.vendors if v.vendor_id == "kappa"] == [1]

        insert_feedback(con, [{"kind": "dismiss", "conversation_key": "ask", "request_message_key": "ask"}])
        build_marts(con, config, as_of)
        digest = queries.load_digest(con, config, report_day(config, as_of))
        files = write_digest_files(con, config, digest)
    kappa = next(v for v in digest.vendors if v.vendor_id == "kappa")
    assert (kappa.dismissed, kappa.overdue_on_vendor, kappa.alerts, kappa.status) == (1, 0, [], "ok")
    slack_text = json.dumps(files.rendered.to_json(), ensure_ascii=False)
    for text in [slack_text, files.terminal_text, digest_markdown(digest, files)]:
        assert "1 alert dismissed (left out of the statuses); `commhealth dismiss list` shows them." in text

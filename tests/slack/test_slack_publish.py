"""Publishing through the real slack_sdk WebClient against the fake Slack Web API on 127.0.0.1.

Whole digests go out the way the product sends them, through ``commhealth.deliver`` (part by part,
each recorded in ``meta.alert_deliveries``); single calls are exercised with ``post_message``/``upload_file``.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import time
from pathlib import Path

import pytest
from slack_samples import DAY, sample_digest, vendor

from connectors.slack.client import SlackPublishError, make_client
from connectors.slack.publish import post_message, resolve_channel_id, upload_file
from digest.chart import render_latency_chart
from digest.delivery import DIGEST_VENDOR, deliver
from digest.model import AlertLine, Digest, EvidenceItem
from digest.render import render_digest, render_vendor_alert
from ground.config import Config
from tests.fakes.slack_api import FakeSlackAPI
from tests.test_alerting import files_for
from warehouse.db import open_writer

TOKEN = "xoxb-test-0000-secret"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def chart(tmp_path: Path) -> Path:
    day = dt.date(2026, 3, 10)
    series = {"Kappa Offshore": [(day - dt.timedelta(days=i), 2.0 + i % 4) for i in range(28)]}
    return render_latency_chart(series, tmp_path / "latency.png", title="Vendor response time")


def test_deliver_posts_main_replies_and_chart_in_thread_and_records_each_part(
    config: Config, slack: FakeSlackAPI, tmp_path: Path
) -> None:
    digest = sample_digest()
    digest.vendors += [
        vendor(
            f"bulk{i:02d}",
            status="warning",
            evidence=[EvidenceItem("Subject " * 40, waited_business_minutes=60.0)] * 3,
        )
        for i in range(40)
    ]
    files = files_for(tmp_path, digest)
    rendered = files.rendered
    assert rendered.thread_replies

    with open_writer(":memory:") as con:
        delivery = deliver(con, config, digest, files, token=TOKEN)
        ledger = dict(
            con.execute(
                "SELECT rule, message_ts FROM meta.alert_deliveries WHERE channel = ? AND vendor_id = ?",
                ["#vendor-health", DIGEST_VENDOR],
            ).fetchall()
        )

    assert delivery.failed == []
    parts = [f"digest part {i} in the thread" for i in range(1, len(rendered.thread_replies) + 1)]
    assert delivery.posted == [
        f"digest of {DAY} in #vendor-health",
        *parts,
        "latency chart in the digest thread",
        "critical alerts of kappa in #vendor-kappa",
    ]
    main = slack.posted("#vendor-health")[0]
    assert main["thread_ts"] == main["ts"]  # a thread parent
    assert main["blocks"] == rendered.main.blocks and main["text"] == rendered.main.text
    replies = slack.state.thread("C0HEALTH01", main["ts"])
    messages = [r for r in replies if r.get("subtype") != "file_share"]
    assert [r["blocks"] for r in messages] == [m.blocks for m in rendered.thread_replies]
    assert ledger == {
        "digest": main["ts"],
        **{f"digest_part_{i}": r["ts"] for i, r in enumerate(messages, start=1)},
        "chart": main["ts"],
    }

    file_share = replies[-1]
    assert file_share["subtype"] == "file_share"
    stored = slack.state.files[file_share["files"][0]["id"]]
    assert stored["data"] == files.chart_path.read_bytes() and stored["data"].startswith(PNG_MAGIC)
    assert stored["title"] == "Vendor response time" and stored["name"] == files.chart_path.name
    assert stored["length"] == len(stored["data"])
    assert stored["shares"] == [{"channel": "C0HEALTH01", "thread_ts": main["ts"]}]

    methods = [c.method for c in slack.calls()]
    expected = ["chat.postMessage"] * len(rendered.messages)
    upload = ["conversations.list", "files.getUploadURLExternal", "upload", "files.completeUploadExternal"]
    assert methods == [*expected, *upload, "chat.postMessage"]  # the critical alert to #vendor-kappa last
    for call in slack.calls():
        assert call.http_method == "POST"
        if call.method != "upload":
            assert call.headers["authorization"] == f"Bearer {TOKEN}"
        else:
            assert "authorization" not in call.headers
    for call in slack.calls("chat.postMessage"):
        assert call.params["unfurl_links"] is False and call.params["unfurl_media"] is False
        assert call.headers["content-type"].startswith("application/json")


def test_vendor_alert_goes_to_private_channel_by_name(fake_slack: FakeSlackAPI) -> None:
    digest = sample_digest()
    kappa = next(v for v in digest.vendors if v.status == "critical")
    client = make_client(TOKEN, fake_slack.url)
    posted = post_message(client, kappa.alert_channel or "", render_vendor_alert(digest, kappa))
    assert posted.channel_id == "G0KAPPA001"
    assert fake_slack.posted("G0KAPPA001")[0]["ts"] == posted.ts


def test_upload_resolves_channel_name_through_paged_conversations_list(
    fake_slack: FakeSlackAPI, tmp_path: Path
):
    for i in range(250):
        fake_slack.state.add_channel(f"noise-{i:03d}")
    fake_slack.state.add_channel("late-private", "G0LATE0001", is_private=True)
    fake_slack.state.add_channel("archived", "C0ARCH0001", is_archived=True)
    client = make_client(TOKEN, fake_slack.url)
    parent = fake_slack.state.add_message("G0LATE0001", "parent")

    upload_file(client, "#late-private", parent["ts"], chart(tmp_path), "Chart")

    listing = fake_slack.calls("conversations.list")
    assert len(listing) == 2 and listing[1].params["cursor"]
    assert listing[0].params["types"] == "public_channel,private_channel"
    complete = fake_slack.calls("files.completeUploadExternal")[0]
    assert complete.params["channel_id"] == "G0LATE0001"
    assert complete.params["thread_ts"] == parent["ts"]
    assert resolve_channel_id(client, "C0HEALTH01") == "C0HEALTH01"
    # a name is compared as the config compares channels: no #, any case, no surrounding spaces
    assert resolve_channel_id(client, " #Late-Private ") == "G0LATE0001"
    with pytest.raises(SlackPublishError, match="channel_not_found"):
        resolve_channel_id(client, "#archived")


def test_rate_limit_is_waited_out(fake_slack: FakeSlackAPI) -> None:
    fake_slack.rate_limit("chat.postMessage", retry_after=1)
    client = make_client(TOKEN, fake_slack.url)
    start = time.monotonic()
    posted = post_message(client, "#vendor-health", render_digest(sample_digest()).main)
    elapsed = time.monotonic() - start

    calls = fake_slack.calls("chat.postMessage")
    assert [c.status for c in calls] == [429, 200]
    assert calls[1].at - calls[0].at >= 1.0
    assert elapsed >= 1.0
    assert [m["ts"] for m in fake_slack.posted("#vendor-health")] == [posted.ts]  # posted exactly once


def test_server_error_is_retried(fake_slack: FakeSlackAPI) -> None:
    fake_slack.server_error("chat.postMessage")
    client = make_client(TOKEN, fake_slack.url)
    posted = post_message(client, "C0HEALTH01", render_digest(sample_digest()).main)
    assert [c.status for c in fake_slack.calls("chat.postMessage")] == [500, 200]
    assert [m["ts"] for m in fake_slack.posted("C0HEALTH01")] == [posted.ts]  # posted exactly once


def test_persistent_server_error_raises_after_retries(fake_slack: FakeSlackAPI) -> None:
    fake_slack.server_error("chat.postMessage", times=None)
    client = make_client(TOKEN, fake_slack.url, max_retries=1)
    with pytest.raises(SlackPublishError) as caught:
        post_message(client, "C0HEALTH01", render_digest(sample_digest()).main)
    assert caught.value.status == 500 and caught.value.method == "chat.postMessage"
    assert len(fake_slack.calls("chat.postMessage")) == 2


def test_invalid_auth_raises_without_the_token() -> None:
    with FakeSlackAPI(tokens={"xoxb-the-right-one"}) as fake:
        fake.state.add_channel("vendor-health", "C0HEALTH01")
        client = make_client(TOKEN, fake.url)
        with pytest.raises(SlackPublishError) as caught:
            post_message(client, "#vendor-health", render_digest(sample_digest()).main)
    error = caught.value
    assert error.error == "invalid_auth"
    assert str(error) == "Slack API chat.postMessage failed: invalid_auth"
    assert error.__cause__ is None and error.__suppress_context__
    assert TOKEN not in str(error) and TOKEN not in repr(error.args)
    assert fake.calls("chat.postMessage")[0].token == TOKEN  # the token only travelled in the header


def test_scripted_api_error_is_wrapped(fake_slack: FakeSlackAPI) -> None:
    fake_slack.api_error("chat.postMessage", "invalid_auth")
    client = make_client(TOKEN, fake_slack.url)
    with pytest.raises(SlackPublishError, match=r"invalid_auth$"):
        post_message(client, "#vendor-health", render_digest(sample_digest()).main)


def test_delivered_json_never_carries_vendor_markup(
    config: Config, slack: FakeSlackAPI, tmp_path: Path
) -> None:
    evil = "<!channel> <!here|here> @here <@U123> <https://evil.example|Click> *bold*"
    permalink = "https://fake-workspace.slack.com/archives/C0KAPPA/p1767225601000001"
    digest = Digest(
        day=DAY,
        vendors=[
            vendor(
                "evil",
                name=f"Evil {evil}",
                status="critical",
                alerts=[
                    AlertLine(
                        "vendor_overdue", "critical", f"Waiting on {evil}", state="worse", worse_items=1
                    )
                ],
                evidence=[EvidenceItem(evil, link=permalink, detail=evil), EvidenceItem(evil)],
                alert_channel="#vendor-kappa",
            )
        ],
    )
    with open_writer(":memory:") as con:
        delivery = deliver(con, config, digest, files_for(tmp_path, digest), token=TOKEN)

    assert delivery.failed == []
    assert "critical alerts of evil in #vendor-kappa" in delivery.posted
    calls = slack.calls("chat.postMessage")
    assert [c.params["channel"] for c in calls] == ["#vendor-health", "#vendor-kappa"]  # no thread replies
    for call in calls:
        payload = json.loads(call.body.decode("utf-8"))
        text = json.dumps(payload, ensure_ascii=False)
        assert "<!" not in text and "<@" not in text
        assert re.findall(r"<(https?://[^|>]*)", text) == [permalink] * text.count("<http")
        assert not re.search(r"@(here|channel|everyone)", text)
        assert "@here" not in text and "&lt;!channel&gt;" in text

"""One message at a time: time, keys, threads, skips, automation, sender and text."""

from __future__ import annotations

import datetime as dt

import pytest

from connectors.slack_export.parse import Directory, SlackUserRecord, parse_ts, render_text, strip_quotes
from connectors.slack_export.settings import SKIPPED_SUBTYPES
from ground.records import MessageRecord

UTC = dt.UTC


def test_message_fields(messages_of) -> None:
    [msg] = messages_of([{"type": "message", "user": "U1", "text": "hello", "ts": "1731751920.000200"}])
    assert msg.raw_ref.endswith("/export0/general/2024-11-16.json#0")  # the export, then the file in it
    msg.raw_ref = "general/2024-11-16.json#0"
    assert msg == MessageRecord(
        message_key="C1:1731751920.000200",
        channel="slack",
        source="slack_export",
        sent_at=dt.datetime(2024, 11, 16, 10, 12, 0, 200, tzinfo=UTC),
        raw_ref="general/2024-11-16.json#0",
        sender="U1",
        sender_name="Alice Company",
        sender_email="alice@co.example",
        sender_team_id="T1",
        recipients=[],
        subject=None,
        body_text="hello",
        body_full="hello",
        in_reply_to=None,
        references=[],
        conversation_key="C1:main",
        is_automated=False,
        automated_reason=None,
        slack_channel_id="C1",
        slack_channel_name="general",
        slack_thread_ts=None,
        flags=[],
    )
    assert msg.sent_at.utcoffset() == dt.timedelta(0)


@pytest.mark.parametrize(
    ("ts", "expected"),
    [
        ("1731751920.000200", dt.datetime(2024, 11, 16, 10, 12, 0, 200, tzinfo=UTC)),
        ("1731751920.999999", dt.datetime(2024, 11, 16, 10, 12, 0, 999999, tzinfo=UTC)),
        ("1731751920.5", dt.datetime(2024, 11, 16, 10, 12, 0, 500000, tzinfo=UTC)),
        ("1731751920", dt.datetime(2024, 11, 16, 10, 12, 0, tzinfo=UTC)),
        ("0.000001", dt.datetime(1970, 1, 1, 0, 0, 0, 1, tzinfo=UTC)),
    ],
)
def test_parse_ts_is_exact(ts: str, expected: dt.datetime) -> None:
    assert parse_ts(ts) == expected


@pytest.mark.parametrize(
    "ts",
    [None, "", "abc", "1.2.3", "-5.000001", "1731751920.0000001", " 1731751920.000200", 1731751920.0002, 1],
)
def test_parse_ts_rejects(ts: object) -> None:
    assert parse_ts(ts) is None


def test_time_comes_from_ts_not_the_file_name(messages_of) -> None:
    # The workspace's zone put this message in the 16th's file; in UTC it was sent on the 15th.
    [msg] = messages_of([{"user": "U1", "text": "late", "ts": "1794785405.123456"}], day="2026-11-16")
    assert msg.sent_at == dt.datetime(2026, 11, 15, 23, 30, 5, 123456, tzinfo=UTC)
    assert msg.raw_ref.endswith("/general/2026-11-16.json#0")


@pytest.mark.parametrize("subtype", sorted(SKIPPED_SUBTYPES))
def test_skipped_subtypes(subtype: str, make_export, read) -> None:
    items = [
        {"subtype": subtype, "user": "U1", "text": "event", "ts": "1731751920.000100"},
        {"user": "U1", "text": "real", "ts": "1731751920.000200"},
    ]
    records, stats = read(make_export({"general/2024-11-16.json": items}))
    assert [r.message_key for r in records] == ["C1:1731751920.000200"]
    assert stats["skipped_events"] == {subtype: 1}


def test_hidden_edit_and_delete_events_are_skipped(make_export, read) -> None:
    items = [
        {
            "type": "message",
            "subtype": "message_changed",
            "hidden": True,
            "message": {"user": "U1", "text": "edited", "ts": "1731751920.000100"},
            "ts": "1731751921.000000",
        },
        {
            "subtype": "message_deleted",
            "hidden": True,
            "deleted_ts": "1731751920.000100",
            "ts": "1731751922.0",
        },
        {"subtype": "some_new_hidden_event", "hidden": True, "ts": "1731751923.000000"},
        {"hidden": True, "ts": "1731751924.000000", "text": "hidden"},
        {"user": "U1", "text": "kept", "ts": "1731751925.000000", "hidden": False},
    ]
    records, stats = read(make_export({"general/2024-11-16.json": items}))
    assert [r.body_full for r in records] == ["kept"]
    assert stats["skipped_events"] == {"message_changed": 1, "message_deleted": 1, "hidden": 2}
    assert stats["messages"] == 1


def test_threads_and_broadcast(messages_of) -> None:
    items = [
        {"user": "U1", "text": "parent", "ts": "1731751920.000100", "thread_ts": "1731751920.000100"},
        {"user": "U2", "text": "reply", "ts": "1731751930.000200", "thread_ts": "1731751920.000100"},
        {
            "subtype": "thread_broadcast",
            "user": "U2",
            "text": "reply also sent to channel",
            "ts": "1731751940.000300",
            "thread_ts": "1731751920.000100",
        },
        {"user": "U1", "text": "unrelated", "ts": "1731751950.000400"},
        {
            "subtype": "message_replied",
            "hidden": True,
            "ts": "1731751930.000200",
            "thread_ts": "1731751920.000100",
        },
    ]
    msgs = messages_of(items)
    assert [(m.message_key, m.conversation_key, m.slack_thread_ts) for m in msgs] == [
        ("C1:1731751920.000100", "C1:1731751920.000100", "1731751920.000100"),
        ("C1:1731751930.000200", "C1:1731751920.000100", "1731751920.000100"),
        ("C1:1731751940.000300", "C1:1731751920.000100", "1731751920.000100"),
        ("C1:1731751950.000400", "C1:main", None),
    ]
    assert msgs[2].sent_at == dt.datetime(2024, 11, 16, 10, 12, 20, 300, tzinfo=UTC)
    assert msgs[2].is_automated is False


def test_bot_message_subtype(messages_of) -> None:
    [msg] = messages_of(
        [
            {
                "subtype": "bot_message",
                "bot_id": "B99",
                "username": "Jira",
                "text": "Ticket",
                "ts": "1731751920.0",
            }
        ]
    )
    assert (msg.sender, msg.sender_name, msg.is_automated, msg.automated_reason) == (
        "B99",
        "Jira",
        True,
        "slack:bot_message",
    )


@pytest.mark.parametrize(
    ("extra", "sender", "reason"),
    [
        ({"user": "U1", "bot_id": "B42"}, "U1", "slack:bot_id"),
        ({"user": "U1", "bot_profile": {"id": "B42", "name": "app"}}, "U1", "slack:bot_id"),
        ({"bot_id": "B42"}, "B42", "slack:bot_id"),
        ({"user": "B1"}, "B1", "slack:bot_user"),
        ({"user": "USLACKBOT"}, "USLACKBOT", "slack:bot_user"),
        ({"user": "U1"}, "U1", None),
    ],
)
def test_automation(extra: dict, sender: str, reason: str | None, messages_of) -> None:
    [msg] = messages_of([{"text": "x", "ts": "1731751920.000000", **extra}])
    assert (msg.sender, msg.is_automated, msg.automated_reason) == (sender, reason is not None, reason)


@pytest.mark.parametrize(
    ("extra", "name", "email", "team"),
    [
        # users.json: real_name, else profile.display_name, else profile.real_name, else name.
        ({"user": "U1"}, "Alice Company", "alice@co.example", "T1"),
        ({"user": "U2"}, "Vic V", "vic@vendor.example", "T2"),
        ({"user": "U3"}, "handle-only", None, "T1"),
        # The message's own team beats users.json: user_team first, then team.
        ({"user": "U2", "user_team": "T9", "team": "T1"}, "Vic V", "vic@vendor.example", "T9"),
        ({"user": "U2", "team": "T8"}, "Vic V", "vic@vendor.example", "T8"),
        # An external user of a shared channel, absent from users.json.
        (
            {
                "user": "UX",
                "user_team": "TEXT",
                "user_profile": {"real_name": "Ext Person", "email": "e@x.example"},
            },
            "Ext Person",
            "e@x.example",
            "TEXT",
        ),
        ({"user": "UX"}, None, None, None),
    ],
)
def test_sender_fields(
    extra: dict, name: str | None, email: str | None, team: str | None, messages_of
) -> None:
    [msg] = messages_of([{"text": "x", "ts": "1731751920.000000", **extra}])
    assert (msg.sender, msg.sender_name, msg.sender_email, msg.sender_team_id) == (
        extra["user"],
        name,
        email,
        team,
    )


DIRECTORY = Directory(
    users={"U1": SlackUserRecord("U1", "T1", "alice", "Alice Company", None, False, "users.json#0")},
    channel_names={"C1": "general"},
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("hi <@U1>", "hi @Alice Company"),
        ("hi <@U1|alice>", "hi @Alice Company"),
        ("hi <@U9|bob>", "hi @bob"),
        ("hi <@U9>", "hi @U9"),
        ("see <#C1|general>", "see #general"),
        ("see <#C1>", "see #general"),
        ("see <#C7|other>", "see #other"),
        ("see <#C7>", "see #C7"),
        ("<!here> <!channel> <!everyone>", "@here @channel @everyone"),
        ("<!here|here> now", "@here now"),
        ("ping <!subteam^S123|@team>", "ping @team"),
        ("<https://x.example/a?b=1&amp;c=2|the doc>", "the doc (https://x.example/a?b=1&c=2)"),
        ("<https://x.example>", "https://x.example"),
        ("<https://x.example|https://x.example>", "https://x.example"),
        ("<mailto:a@b.example|a@b.example>", "a@b.example"),
        ("<mailto:a@b.example>", "a@b.example"),
        ("a &lt;b&gt; &amp; c", "a <b> & c"),
        ("&amp;lt; stays", "&lt; stays"),
        ("R&amp;D <@U1|x&amp;y>", "R&D @Alice Company"),
        ("<!date^1392734382^{date}|Feb 18, 2014>", "Feb 18, 2014"),
        ("", ""),
    ],
)
def test_render_text(text: str, expected: str) -> None:
    assert render_text(text, DIRECTORY) == expected


def test_text_rendered_in_record_and_quotes_stripped(messages_of) -> None:
    text = "&gt; did you ship <@U2>?\n&gt;\nyes, see <https://x.example|log>"
    [msg] = messages_of([{"user": "U1", "text": text, "ts": "1731751920.000000"}])
    assert msg.body_full == "> did you ship @Vic V?\n>\nyes, see log (https://x.example)"
    assert msg.body_text == "yes, see log (https://x.example)"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("> quoted\nanswer", "answer"),
        ("answer\n> quoted", "answer"),
        ("a > b", "a > b"),
        ("new\n>>> all of this\nis quoted", "new"),
        ("> only quote", ""),
    ],
)
def test_strip_quotes(text: str, expected: str) -> None:
    assert strip_quotes(text) == expected


def test_file_titles_when_text_empty(messages_of) -> None:
    items = [
        {"user": "U1", "text": "", "files": [{"title": "report.pdf"}], "ts": "1731751920.000000"},
        {
            "user": "U1",
            "files": [{"name": "a.png"}, {"mode": "tombstone"}, "junk"],
            "ts": "1731751921.000000",
        },
        {"user": "U1", "text": "see file", "files": [{"title": "report.pdf"}], "ts": "1731751922.000000"},
        {"user": "U1", "text": None, "ts": "1731751923.000000"},
    ]
    assert [m.body_full for m in messages_of(items)] == [
        "[file: report.pdf]",
        "[file: a.png] [file]",
        "see file",
        "",
    ]


def test_channel_names_and_ids_by_kind(make_export, read) -> None:
    item = [{"user": "U1", "text": "x", "ts": "1731751920.000000"}]
    files = {
        f"{folder}/2024-11-16.json": item
        for folder in ("vendor-acme", "private-stuff", "D1", "mpdm-alice--vic-1")
    }
    records, stats = read(make_export(files))
    assert [(r.slack_channel_id, r.slack_channel_name, r.message_key, r.flags) for r in records] == [
        ("D1", None, "D1:1731751920.000000", []),
        ("G2", "mpdm-alice--vic-1", "G2:1731751920.000000", []),
        ("G1", "private-stuff", "G1:1731751920.000000", []),
        ("C2", "vendor-acme", "C2:1731751920.000000", []),
    ]
    assert stats["unknown_channel_folders"] == []

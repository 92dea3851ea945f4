"""The Slack Web API connector through slack_sdk against the fake Slack: pages, increments, threads, users."""

from __future__ import annotations

import collections
import json
from pathlib import Path

from rich.console import Console

from connectors.slack_export import SlackExport
from flows.ingest import stage_slack_export
from ground.records import MessageRecord
from tests.fakes.slack_api import FakeSlackAPI
from tests.slack_api.conftest import CHANNEL_ID, at, expected_keys, seed_conversation, ts

DAY = 86400


def _history_params(fake: FakeSlackAPI, since: int = 0) -> list[dict[str, object]]:
    return [c.params for c in fake.calls("conversations.history")[since:]]


def test_first_run_pages_through_history_and_threads(make_env, fake: FakeSlackAPI) -> None:
    seed_conversation(fake, parents=7, replies=(5, 0, 3))
    fake.state.add_channel("random", "C0RANDOM01")  # three channels: two conversations.list pages
    env = make_env(page_size=2)

    notes = env.run()

    history = fake.calls("conversations.history")
    # join event + 7 parents + bot message = 9 items, 2 a page, newest first, by next_cursor.
    assert [c.params.get("cursor") for c in history] == [None, "next:2", "next:4", "next:6", "next:8"]
    assert all(c.params["limit"] == "2" and "oldest" not in c.params for c in history)
    replies = collections.Counter(c.params["ts"] for c in fake.calls("conversations.replies"))
    heads = [m for m in fake.state.messages[CHANNEL_ID] if m.get("text", "").startswith("parent ")]
    assert replies == {heads[0]["ts"]: 3, heads[2]["ts"]: 2}  # parent + 5 replies, parent + 3 replies
    assert [c.params.get("cursor") for c in fake.calls("conversations.list")] == [None, "next:2"]

    stored = env.stored()
    assert set(stored) == expected_keys(fake)
    assert len(stored) == 7 + 5 + 3 + 1
    stats = env.merges[-1]
    assert (stats.new, stats.already_stored, stats.conflicts) == (len(stored), 0, 0)
    assert notes["messages"] == len(stored)
    assert notes["skipped_events"] == {"channel_join": 1}
    assert notes["history_pages"] == 5 and notes["reply_pages"] == 5 and notes["threads_fetched"] == 2

    rows = env.query(
        "SELECT sender, sender_team_id, sender_email, is_automated, slack_channel_name, source FROM core.messages"
    )
    by_sender = {r[0]: r[1:] for r in rows}
    assert by_sender["U0ALICE"] == ("T0NORELEC", "alice@norelec.fr", False, "ext-kappa", "slack_api")
    assert by_sender["U0VIC"] == ("T0KAPPA", "vic@kappa-offshore.in", False, "ext-kappa", "slack_api")
    assert by_sender["B0CI"][2] is True  # the bot message is automated, as in the export

    thread = env.query(
        "SELECT conversation_key, count(*) FROM core.messages WHERE slack_thread_ts = ? GROUP BY 1",
        [heads[0]["ts"]],
    )
    assert thread == [(f"{CHANNEL_ID}:{heads[0]['ts']}", 6)]
    assert env.query(
        "SELECT channel_id, name, kind, is_shared, team_ids, member_ids, source FROM raw.slack_channels"
    ) == [(CHANNEL_ID, "ext-kappa", "public_channel", True, ["T0NORELEC", "T0KAPPA"], None, "slack_api")]
    assert sorted(env.query("SELECT user_id, team_id, email, source FROM raw.slack_users")) == [
        ("U0ALICE", "T0NORELEC", "alice@norelec.fr", "slack_api"),
        ("U0VIC", "T0KAPPA", "vic@kappa-offshore.in", "slack_api"),
    ]


def test_second_run_reads_only_what_is_new(make_env, fake: FakeSlackAPI) -> None:
    seed_conversation(fake, parents=5, replies=(2, 1))
    env = make_env(page_size=2)
    env.run(now=at(DAY))
    first = env.stored()
    watermark = max((m["ts"] for m in fake.state.messages[CHANNEL_ID]), key=float)
    assert json.loads(env.query("SELECT cursor FROM meta.sync_state")[0][0])["watermark"] == watermark

    calls = len(fake.calls())
    question = fake.state.add_message(CHANNEL_ID, "new question", user="U0VIC", team="T0KAPPA")
    answer = fake.state.add_message(CHANNEL_ID, "answer", user="U0ALICE", thread_ts=question["ts"])
    notes = env.run(now=at(DAY))

    second = fake.calls()[calls:]
    history = [c.params for c in second if c.method == "conversations.history"]
    passes = [p for p in history if p["inclusive"] == "0"]
    assert passes == [{"channel": CHANNEL_ID, "limit": "2", "oldest": watermark, "inclusive": "0"}]
    rescans = [p for p in history if p["inclusive"] == "1"]
    assert rescans and all(p["latest"] == watermark for p in rescans)
    assert [c.params["ts"] for c in second if c.method == "conversations.replies"] == [question["ts"]]
    assert not [c for c in second if c.method == "users.info"]  # both known from the warehouse

    stats = env.merges[-1]
    assert (stats.read, stats.new, stats.already_stored) == (2, 2, 0)
    stored = env.stored()
    assert set(stored) == set(first) | {f"{CHANNEL_ID}:{question['ts']}", f"{CHANNEL_ID}:{answer['ts']}"}
    assert {key: stored[key] for key in first} == first
    assert notes["messages"] == 2 and notes["thread_rescans"] == 0

    calls = len(fake.calls())
    env.run(now=at(DAY))  # nothing new: nothing read, nothing staged
    assert env.merges[-1].read == 0
    assert {c.method for c in fake.calls()[calls:]} == {
        "auth.test",
        "conversations.list",
        "conversations.history",
    }


def test_late_reply_on_an_old_parent_within_the_lookback_only(make_env, fake: FakeSlackAPI) -> None:
    state = fake.state
    old = state.add_message(CHANNEL_ID, "old question", user="U0VIC", team="T0KAPPA", ts=ts(1 * DAY))
    state.add_message(CHANNEL_ID, "old answer", user="U0ALICE", thread_ts=old["ts"], ts=ts(1 * DAY + 60))
    recent = state.add_message(CHANNEL_ID, "recent question", user="U0VIC", team="T0KAPPA", ts=ts(20 * DAY))
    state.add_message(
        CHANNEL_ID, "recent answer", user="U0ALICE", thread_ts=recent["ts"], ts=ts(20 * DAY + 60)
    )
    quiet = state.add_message(CHANNEL_ID, "no reply yet", user="U0ALICE", ts=ts(21 * DAY))
    env = make_env(lookback=14)
    env.run(now=at(25 * DAY))
    threads = json.loads(env.query("SELECT cursor FROM meta.sync_state")[0][0])["threads"]
    assert threads == {recent["ts"]: ts(20 * DAY + 60)}  # the old parent is beyond the lookback

    late_old = state.add_message(
        CHANNEL_ID, "late, old", user="U0ALICE", thread_ts=old["ts"], ts=ts(25 * DAY)
    )
    late = state.add_message(
        CHANNEL_ID, "late, recent", user="U0VIC", thread_ts=recent["ts"], ts=ts(25 * DAY + 1)
    )
    first = state.add_message(
        CHANNEL_ID, "first reply", user="U0VIC", thread_ts=quiet["ts"], ts=ts(25 * DAY + 2)
    )
    calls = len(fake.calls())
    notes = env.run(now=at(25 * DAY + 3600))

    stored = env.stored()
    assert f"{CHANNEL_ID}:{late['ts']}" in stored
    assert f"{CHANNEL_ID}:{first['ts']}" in stored
    assert f"{CHANNEL_ID}:{late_old['ts']}" not in stored
    rescan = [c.params for c in fake.calls("conversations.history")[-2:]]
    assert rescan[-1]["oldest"] == ts(11 * DAY + 3600) and rescan[-1]["latest"] == quiet["ts"]
    fetched = [c.params["ts"] for c in fake.calls()[calls:] if c.method == "conversations.replies"]
    assert set(fetched) == {recent["ts"], quiet["ts"]}
    assert notes["thread_rescans"] == 2
    stats = env.merges[-1]
    assert (stats.new, stats.already_stored) == (2, 0)  # replies fetched before are not staged again


def test_mentions_and_senders_named_by_users_info(make_env, fake: FakeSlackAPI) -> None:
    text = "<@U0BOB> please ask <@U0VIC|vic> &amp; team, see <#C0GENERAL1> and <https://x.example|the spec>"
    message = fake.state.add_message(CHANNEL_ID, text, user="U0ALICE", team="T0NORELEC")
    ghost = fake.state.add_message(
        CHANNEL_ID,
        "from a deleted guest",
        user="U0GHOST",
        user_team="T0KAPPA",
        user_profile={"real_name": "Gh"},
    )
    env = make_env()
    notes = env.run()

    assert sorted(c.params["user"] for c in fake.calls("users.info")) == [
        "U0ALICE",
        "U0BOB",
        "U0GHOST",
        "U0VIC",
    ]
    assert notes["users_fetched"] == 3 and notes["users_not_found"] == 1
    query = "SELECT message_key, body_text, sender_name, sender_email, sender_team_id FROM core.messages"
    rows = {key: rest for key, *rest in env.query(query)}
    assert rows[f"{CHANNEL_ID}:{message['ts']}"] == [
        "@Bob please ask @Vic Rao & team, see #general and the spec (https://x.example)",
        "Alice Martin",
        "alice@norelec.fr",
        "T0NORELEC",
    ]
    # a deleted guest: no profile email, but the team the message carries (the build makes it kappa's)
    assert rows[f"{CHANNEL_ID}:{ghost['ts']}"] == ["from a deleted guest", "Gh", None, "T0KAPPA"]

    fake.state.add_message(CHANNEL_ID, "thanks <@U0BOB>", user="U0VIC", team="T0KAPPA")
    calls = len(fake.calls("users.info"))
    env.run()
    assert len(fake.calls("users.info")) == calls  # known users come from the warehouse


def test_same_message_from_the_export_and_the_api_is_one_row(
    make_env, fake: FakeSlackAPI, tmp_path: Path
) -> None:
    seed_conversation(fake, parents=4, replies=(2, 1))
    fake.state.add_message(CHANNEL_ID, "ping <@U0BOB> &lt;3", user="U0VIC", team="T0KAPPA")
    fake.state.add_message(
        CHANNEL_ID, "", user="U0ALICE", subtype="file_share", files=[{"title": "plan.pdf"}]
    )
    env = make_env()
    env.run()
    from_api = env.stored()

    export = tmp_path / "export"
    (export / "ext-kappa").mkdir(parents=True)
    (export / "users.json").write_text(json.dumps(list(fake.state.users.values())), encoding="utf-8")
    (export / "channels.json").write_text(json.dumps(fake.state.channels), encoding="utf-8")
    day = json.dumps(fake.state.messages[CHANNEL_ID])
    (export / "ext-kappa" / "2026-01-01.json").write_text(day, encoding="utf-8")
    with SlackExport(export) as reader:
        records = [r for r in reader.messages() if isinstance(r, MessageRecord)]
    assert {r.message_key: r.content_hash() for r in records} == from_api

    stage_slack_export(env.config, export, Console(quiet=True))
    stats = env.merge()
    assert (stats.new, stats.already_stored, stats.conflicts) == (0, len(from_api), 0)


def test_a_reply_also_sent_to_the_channel_is_stored_once(make_env, fake: FakeSlackAPI) -> None:
    parent = fake.state.add_message(CHANNEL_ID, "question", user="U0ALICE", team="T0NORELEC")
    fake.state.add_message(CHANNEL_ID, "first", user="U0VIC", thread_ts=parent["ts"])
    fake.state.add_message(
        CHANNEL_ID, "also here", user="U0VIC", thread_ts=parent["ts"], subtype="thread_broadcast"
    )
    env = make_env()
    notes = env.run()
    assert notes["messages"] == 3 and env.merges[-1].new == 3

    broadcast = fake.state.add_message(
        CHANNEL_ID, "late, also here", user="U0VIC", thread_ts=parent["ts"], subtype="thread_broadcast"
    )
    notes = env.run()  # seen in the history pass, then again in the re-scanned thread
    assert notes["messages"] == 1 and notes["thread_rescans"] == 1
    stats = env.merges[-1]
    assert (stats.new, stats.already_stored) == (1, 0)
    assert f"{CHANNEL_ID}:{broadcast['ts']}" in env.stored() and len(env.stored()) == 4

"""Incremental builds: after any sequence of message loads and builds, every mart equals a full build as of the
same as_of; an incremental build recomputes only the conversations in meta.build_scope; what forces a full build."""

from __future__ import annotations

import datetime as dt
import math
import random
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pytest
from transforms_testlib import (
    INSERT_MESSAGE,
    insert_feedback,
    insert_messages,
    insert_slack_directory,
    make_config,
    message_row,
    with_addresses,
)

from connectors.mail import read_mail
from ground.config import Config
from tests.test_email_threads import T0 as EMAIL_T0
from tests.test_email_threads import Mailbox, conversations, eml, unknown_ids
from tests.test_warehouse import older_release_warehouse
from transforms.build import build_marts, qualified
from warehouse.db import configure, open_writer
from warehouse.email_threads import resolve_under_current_rule
from warehouse.load import merge_staged
from warehouse.staging import messages_table

# Every table a build writes, except the calendar and the business clock: an incremental build keeps a calendar
# range that covers what it needs (it may start earlier or end later than a fresh full build's), which changes
# no number in the marts.
COMPARED = (
    "parties",
    "party_identifiers",
    "signal_lexicon",
    "stg_message_requests",
    "stg_slack_conversations",
    "int_counted_messages",
    "int_turns",
    "responses",
    "message_signals",
    "awaiting",
    "vendor_daily",
    "alerts",
    "digest_vendors",
    "digest_latency",
)
# Slack conversations are measured by the Slack identifiers of the config: zeta by a listed channel, kappa by
# its team (Slack Connect channels, DM members), sigma by a listed channel and an explicit member.
CONFIG = make_config(
    {
        "vendors": [
            {"id": "kappa", "slack_team_ids": ["T0KAPPA"]},
            {"id": "zeta", "slack_channels": ["#zeta-ops"]},
            {"id": "sigma", "slack_user_ids": ["U0SIGMA"], "slack_channels": ["C1"]},
        ]
    }
)
# Emails go through the real parser and merge: the parties need the addresses of tests.test_email_threads.
MAIL_CONFIG = make_config(
    {
        "company": {"email_domains": ["norelec.fr"]},
        "vendors": [{"id": "kappa", "email_domains": ["kappa-offshore.in"]}],
    }
)
VENDOR_ADDRESS = "support@kappa-offshore.in"
T0 = dt.datetime(2026, 11, 2, 8, tzinfo=dt.UTC)  # a Monday


def at(hours: float) -> dt.datetime:
    return T0 + dt.timedelta(hours=hours)


def _normalised(value: Any) -> Any:
    if isinstance(value, float):
        return round(value, 9)
    if isinstance(value, list):
        return tuple(_normalised(v) for v in value)
    if isinstance(value, dict):
        return tuple(sorted((k, _normalised(v)) for k, v in value.items()))
    return value


def snapshot(con: duckdb.DuckDBPyConnection, table: str) -> list[tuple[Any, ...]]:
    rows = con.table(qualified(table)).fetchall()
    return sorted((tuple(_normalised(v) for v in row) for row in rows), key=repr)


def assert_equals_full_build(con: duckdb.DuckDBPyConnection, config: Config, as_of: dt.datetime) -> None:
    """Every mart of `con` equals a full build of the same messages, Slack directory and user decisions as of
    `as_of` in a fresh warehouse."""
    with open_writer(":memory:", threads=2) as fresh:
        for table in ("core.messages", "raw.slack_channels", "raw.slack_users", "meta.feedback"):
            fresh.register("copied_rows", con.table(table).arrow())
            fresh.execute(f"INSERT INTO {table} BY NAME SELECT * FROM copied_rows")
            fresh.unregister("copied_rows")
        build_marts(fresh, config, as_of, full=True)
        for table in COMPARED:
            got, expected = snapshot(con, table), snapshot(fresh, table)
            assert got == expected, f"{qualified(table)} differs from a full build"
    for table in COMPARED:
        for row in con.table(qualified(table)).fetchall():
            assert not any(isinstance(v, float) and math.isnan(v) for v in row)


def scope(con: duckdb.DuckDBPyConnection) -> set[str]:
    return {key for (key,) in con.execute("SELECT conversation_key FROM meta.build_scope").fetchall()}


def add(con: duckdb.DuckDBPyConnection, rows: list[dict[str, Any]]) -> None:
    """Insert rows with their own keys (message_row numbers hashes and refs by position)."""
    offset = con.execute("SELECT count(*) FROM core.messages").fetchall()[0][0]
    rows = with_addresses(rows)
    con.executemany(INSERT_MESSAGE, [message_row(r, offset + i) for i, r in enumerate(rows, start=1)])


def company(key: str, conversation: str, hours: float, vendor: str = "zeta", **extra: Any) -> dict[str, Any]:
    return {
        "message_key": key,
        "conversation_key": conversation,
        "sent_at": at(hours),
        "side": "company",
        "recipient_vendor_ids": [vendor],
        **extra,
    }


def vendor(
    key: str, conversation: str, hours: float, vendor_id: str = "zeta", **extra: Any
) -> dict[str, Any]:
    return {
        "message_key": key,
        "conversation_key": conversation,
        "sent_at": at(hours),
        "side": "vendor",
        "vendor_id": vendor_id,
        **extra,
    }


def test_incremental_builds_equal_full_builds(warehouse: duckdb.DuckDBPyConnection) -> None:
    con = warehouse
    add(
        con,
        [
            company("a1", "a", 1, body_text="Could you send the invoice?"),
            vendor("a2", "a", 3, body_text="Sorry, what do you mean? Could you clarify?"),
            company("b1", "b", 2, vendor="kappa"),
            vendor("b2", "b", 30, vendor_id="kappa", body_text="Following up on this, any news?"),
            company("s1", "C1:main", 4, vendor="sigma", slack_channel_id="C1"),
            vendor("s2", "C1:main", 5, vendor_id="sigma", slack_channel_id="C1"),
            company("late1", "late", 50),  # after the first as_of
        ],
    )
    as_of = at(24)
    counts = build_marts(con, CONFIG, as_of)
    assert counts["full_build"] == 1 and counts["scope_conversations"] == 0
    assert_equals_full_build(con, CONFIG, as_of)

    # No change, same as_of: incremental, nothing to rebuild.
    counts = build_marts(con, CONFIG, as_of)
    assert counts["full_build"] == 0 and counts["scope_conversations"] == 0
    assert_equals_full_build(con, CONFIG, as_of)

    # New messages in an existing conversation and a new conversation; as_of moves a day: waiting items grow and
    # the message sent after the first as_of enters.
    add(con, [company("a3", "a", 26, body_text="Thanks, received."), vendor("c1", "c", 27)])
    as_of = at(52)
    counts = build_marts(con, CONFIG, as_of)
    assert counts["full_build"] == 0
    assert scope(con) == {"a", "c", "late", "b"}  # b2 and late1 were sent in (previous as_of, as_of]
    assert counts["scope_conversations"] == 4
    assert_equals_full_build(con, CONFIG, as_of)

    # A stored message re-read with the same content changes nothing.
    con.execute("UPDATE core.messages SET changed_at = now() WHERE message_key = 'b1'")
    counts = build_marts(con, CONFIG, at(53))
    assert counts["full_build"] == 0 and "b" in scope(con)
    assert_equals_full_build(con, CONFIG, at(53))

    # Weeks later: every waiting item is past the lookback window.
    counts = build_marts(con, CONFIG, at(24 * 20))
    assert counts["full_build"] == 0
    assert_equals_full_build(con, CONFIG, at(24 * 20))

    # An earlier as_of forces a full build.
    counts = build_marts(con, CONFIG, at(53))
    assert counts["full_build"] == 1 and scope(con) == set()
    assert_equals_full_build(con, CONFIG, at(53))

    # A config change (an SLA) forces a full build; forcing one works too.
    changed = make_config({"vendors": [{"id": "zeta", "sla_hours": 1}]})
    assert build_marts(con, changed, at(54))["full_build"] == 1
    assert_equals_full_build(con, changed, at(54))
    assert build_marts(con, changed, at(54))["full_build"] == 0
    assert build_marts(con, changed, at(54), full=True)["full_build"] == 1


@pytest.mark.parametrize(
    "override",
    [
        {"company": {"business_hours": ["08:00-17:00"]}},
        {"vendors": [{"id": "kappa", "holidays": "FR"}]},
        {"vendors": [{"id": "sigma", "workdays": ["mon", "tue"]}]},
        {"vendors": [{"id": "sigma", "hours_by_weekday": {"sat": ["09:00-12:00"]}}]},
        {
            "vendors": [
                {"id": "zeta", "special_hours": [{"date": "2026-11-02", "business_hours": ["09:00-12:00"]}]}
            ]
        },
        {"metrics": {"awaiting_lookback_days": 3}},
        {"alerts": {"recent_days": 3}},
    ],
)
def test_settings_change_forces_a_full_build(warehouse: duckdb.DuckDBPyConnection, override: dict) -> None:
    insert_messages(warehouse, [company("m1", "c1", 1), vendor("v1", "c1", 2)])
    build_marts(warehouse, CONFIG, at(24))
    assert build_marts(warehouse, CONFIG, at(25))["full_build"] == 0
    assert build_marts(warehouse, make_config(override), at(25))["full_build"] == 1


def test_lexicon_change_forces_a_full_build(warehouse: duckdb.DuckDBPyConnection, tmp_path) -> None:
    from transforms_testlib import write_lexicon

    insert_messages(warehouse, [company("m1", "c1", 1, body_text="where is the pallet?")])
    build_marts(warehouse, CONFIG, at(24))
    extra = write_lexicon(
        tmp_path / "extra.yaml", [{"id": "x.pallet", "signal": "nudge", "lang": "en", "pattern": "pallet"}]
    )
    config = make_config({"signals": {"extra_lexicon": str(extra)}})
    counts = build_marts(warehouse, config, at(24))
    assert counts["full_build"] == 1 and counts["message_signals"] == 1


def test_invalid_lexicon_is_refused_after_a_good_build(
    warehouse: duckdb.DuckDBPyConnection, tmp_path
) -> None:
    from transforms_testlib import write_lexicon

    from transforms import lexicon

    insert_messages(warehouse, [company("m1", "c1", 1, body_text="where is the pallet?")])
    build_marts(warehouse, CONFIG, at(24))
    before = warehouse.execute("SELECT count(*) FROM marts.message_signals").fetchone()
    # The stored fingerprint lets an unchanged lexicon skip validation; a changed one must still be validated.
    extra = write_lexicon(
        tmp_path / "extra.yaml", [{"id": "x.bad", "signal": "nudge", "lang": "en", "pattern": "(unclosed"}]
    )
    with pytest.raises(lexicon.LexiconError, match="not a valid RE2 regex"):
        build_marts(warehouse, make_config({"signals": {"extra_lexicon": str(extra)}}), at(24))
    assert warehouse.execute("SELECT count(*) FROM marts.message_signals").fetchone() == before
    assert build_marts(warehouse, CONFIG, at(24))["full_build"] == 0


def test_calendar_grows_without_a_full_build(warehouse: duckdb.DuckDBPyConnection) -> None:
    insert_messages(warehouse, [company("m1", "c1", 1), vendor("v1", "c1", 2)])
    build_marts(warehouse, CONFIG, at(24))
    (end,) = warehouse.execute("SELECT calendar_end FROM meta.build_state").fetchall()[0]
    later = dt.datetime.combine(end, dt.time(12), tzinfo=dt.UTC)
    add(warehouse, [company("m2", "c2", (later - T0).total_seconds() / 3600 - 30)])
    counts = build_marts(warehouse, CONFIG, later)
    assert counts["full_build"] == 0
    (new_end,) = warehouse.execute("SELECT calendar_end FROM meta.build_state").fetchall()[0]
    assert new_end > end
    assert_equals_full_build(warehouse, CONFIG, later)


def test_deleted_messages_force_a_full_build(warehouse: duckdb.DuckDBPyConnection) -> None:
    insert_messages(warehouse, [company("m1", "c1", 1), vendor("v1", "c1", 2)])
    build_marts(warehouse, CONFIG, at(24))
    warehouse.execute("DELETE FROM core.messages WHERE message_key = 'v1'")
    assert build_marts(warehouse, CONFIG, at(24))["full_build"] == 1
    assert_equals_full_build(warehouse, CONFIG, at(24))


def test_feedback_changes_rebuild_their_conversations(warehouse: duckdb.DuckDBPyConnection) -> None:
    con = warehouse
    add(
        con,
        [
            company("a1", "a", 1, body_text="Could you send the invoice?"),
            company("b1", "b", 2, body_text="Could you send the report?"),
            vendor("v1", "v", 3, body_text="Can you confirm the order?"),
        ],
    )
    build_marts(con, CONFIG, at(30))
    # a1 is marked not a request, v1's item is dismissed: only a's conversation is rebuilt (dismissals are read by
    # the alert models, which every build recomputes), and the marts equal a full build.
    insert_feedback(
        con,
        [
            {"kind": "not_a_request", "message_key": "a1", "note": "a reminder to ourselves"},
            {"kind": "dismiss", "conversation_key": "v", "request_message_key": "v1"},
        ],
    )
    counts = build_marts(con, CONFIG, at(30))
    assert counts["full_build"] == 0 and scope(con) == {"a"}
    assert_equals_full_build(con, CONFIG, at(30))
    assert con.execute("SELECT request_message_key FROM marts.awaiting ORDER BY 1").fetchall() == [
        ("b1",),
        ("v1",),
    ]

    # Undoing the mark puts a back in scope and its item waits again.
    con.execute("UPDATE meta.feedback SET revoked_at = current_timestamp WHERE message_key = 'a1'")
    counts = build_marts(con, CONFIG, at(30))
    assert counts["full_build"] == 0 and scope(con) == {"a"}
    assert_equals_full_build(con, CONFIG, at(30))
    assert ("a1",) in con.execute("SELECT request_message_key FROM marts.awaiting").fetchall()


def test_incremental_build_touches_only_the_scope(warehouse: duckdb.DuckDBPyConnection) -> None:
    add(
        warehouse,
        [m for i in range(20) for m in (company(f"q{i}", f"c{i}", i), vendor(f"r{i}", f"c{i}", i + 1))],
    )
    build_marts(warehouse, CONFIG, at(48))
    before = {
        t: snapshot(warehouse, t)
        for t in ("int_counted_messages", "int_turns", "responses", "message_signals")
    }
    add(warehouse, [company("q3b", "c3", 30), vendor("new1", "new", 31)])
    counts = build_marts(warehouse, CONFIG, at(48))
    assert counts["full_build"] == 0 and counts["scope_conversations"] == 2
    assert scope(warehouse) == {"c3", "new"}
    for table, rows in before.items():
        untouched = [r for r in snapshot(warehouse, table) if "c3" not in r and "new" not in r]
        assert untouched == [r for r in rows if "c3" not in r and "new" not in r]


def test_slack_scope_changes_rebuild_their_conversations(warehouse: duckdb.DuckDBPyConnection) -> None:
    """A change of the Slack directory alone (no message stored or changed) moves a conversation in or out of
    scope: the next incremental build recomputes that channel's conversations, and only those."""
    con = warehouse
    insert_slack_directory(
        con,
        [
            {"channel_id": "C0SHARED", "name": "projects", "kind": "public_channel", "team_ids": ["T0ACME"]},
            {"channel_id": "D0KAPPA", "kind": "im", "member_ids": ["U0ALICE", "U0NEW"]},
        ],
        [{"user_id": "U0ALICE", "team_id": "T0ACME"}, {"user_id": "U0NEW", "team_id": "T0ACME"}],
    )
    add(
        con,
        [
            company("p1", "C0SHARED:main", 1, slack_channel_id="C0SHARED"),
            vendor("p2", "C0SHARED:main", 2, vendor_id="kappa", slack_channel_id="C0SHARED"),
            company("p3", "C0SHARED:1.0", 3, slack_channel_id="C0SHARED"),
            company("d1", "D0KAPPA:main", 4, slack_channel_id="D0KAPPA"),
            company("e1", "e", 1),
            vendor("e2", "e", 2),
        ],
    )
    build_marts(con, CONFIG, at(24))
    assert {
        r[0] for r in con.execute("SELECT message_key FROM intermediate.int_counted_messages").fetchall()
    } == {
        "e1",
        "e2",
    }

    # The channel becomes a Slack Connect channel with kappa's team; U0NEW turns out to be kappa's.
    insert_slack_directory(
        con,
        [
            {
                "channel_id": "C0SHARED",
                "name": "projects",
                "kind": "public_channel",
                "team_ids": ["T0ACME", "T0KAPPA"],
            }
        ],
        [{"user_id": "U0NEW", "team_id": "T0KAPPA"}],
    )
    counts = build_marts(con, CONFIG, at(24))
    assert counts["full_build"] == 0
    assert scope(con) == {"C0SHARED:main", "C0SHARED:1.0", "D0KAPPA:main"}
    assert counts["scope_conversations"] == 3
    assert_equals_full_build(con, CONFIG, at(24))
    assert con.execute(
        "SELECT message_key, attribution FROM intermediate.int_counted_messages WHERE channel = 'slack' ORDER BY 1"
    ).fetchall() == [
        ("d1", "dm_with_vendor_member"),
        ("p1", "shared_with_vendor_team"),
        ("p2", "shared_with_vendor_team"),
        ("p3", "shared_with_vendor_team"),
    ]

    # Nothing moved: nothing is recomputed.
    counts = build_marts(con, CONFIG, at(24))
    assert counts["full_build"] == 0 and counts["scope_conversations"] == 0

    # Unshared again: out of scope, rebuilt again.
    insert_slack_directory(
        con, [{"channel_id": "C0SHARED", "kind": "public_channel", "team_ids": ["T0ACME"]}]
    )
    counts = build_marts(con, CONFIG, at(24))
    assert counts["full_build"] == 0 and scope(con) == {"C0SHARED:main", "C0SHARED:1.0"}
    assert_equals_full_build(con, CONFIG, at(24))

    # A config change (the channel listed for zeta) forces a full build.
    listed = make_config(
        {
            "vendors": [
                {"id": "kappa", "slack_team_ids": ["T0KAPPA"]},
                {"id": "zeta", "slack_channels": ["projects"]},
            ]
        }
    )
    counts = build_marts(con, listed, at(24))
    assert counts["full_build"] == 1
    assert_equals_full_build(con, listed, at(24))


SLACK_CONVERSATIONS = ("C0ZETA", "C0SHARED", "C0GENERAL", "D0SIGMA", "D0KAPPA", "C0MPDM", "C1")
SLACK_SENDERS = {
    "company": ["U0ALICE", "U0BOB"],
    "kappa": ["U0KAPPA"],
    "zeta": ["U0ZETA"],
    "sigma": ["U0SIGMA"],
}


def _random_directory(rng: random.Random) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """One random state of the Slack directory: channels shared or not, DMs with members known or not, a
    user's team."""
    members = ["U0ALICE", "U0BOB", "U0KAPPA", "U0SIGMA", "U0GUEST"]
    channels = [
        {"channel_id": "C0ZETA", "name": rng.choice(["zeta-ops", "zeta-renamed"]), "kind": "private_channel"},
        {
            "channel_id": "C0SHARED",
            "name": "projects",
            "kind": "public_channel",
            "is_shared": True,
            "team_ids": rng.choice([["T0ACME"], ["T0ACME", "T0KAPPA"], None]),
        },
        {"channel_id": "C0GENERAL", "name": "general", "kind": "public_channel", "team_ids": ["T0ACME"]},
        {"channel_id": "D0SIGMA", "kind": "im", "member_ids": rng.choice([None, ["U0ALICE", "U0SIGMA"]])},
        {"channel_id": "C0MPDM", "kind": "mpim", "member_ids": rng.sample(members, rng.randrange(2, 5))},
    ]
    users = [{"user_id": "U0GUEST", "team_id": rng.choice(["T0ACME", "T0KAPPA"])}]
    return rng.sample(channels, rng.randrange(len(channels) + 1)), users


@pytest.mark.parametrize("seed", range(6))
def test_random_batches_equal_full_builds(seed: int) -> None:
    """Random conversations (email, Slack threads and unthreaded Slack channels that split into segments, three
    vendors, bodies that ask, state, acknowledge or carry signals) loaded in batches, each followed by a build at
    a later as_of (sometimes the same one) and by a random change of the Slack directory (which Slack conversations
    are measured moves with it), every build compared."""
    rng = random.Random(seed)
    bodies = [
        None,
        "ok",
        "Thanks, received.",
        "Could you clarify?",
        "Any update on this?",
        "Please redo it.",
        "Deployed to staging.",
        "The fix is live. Let me know if you have any questions.",
        "🙏",
        "Can you check the logs?",
        "Merci de nous renvoyer le fichier.",
    ]
    vendors = ["zeta", "kappa", "sigma"]
    rows: list[dict[str, Any]] = []
    for i in range(120):
        conversation = f"c{rng.randrange(25)}"
        sent_at = at(rng.uniform(0, 24 * 12))
        channel = "slack" if conversation in {"c0", "c1", "c2", "c3", "c4"} else "email"
        key = f"m{i}"
        if conversation in {"c3", "c4"}:  # unthreaded: {channel}:main, keys {channel}:{ts}
            conversation = f"C{conversation[1:]}:main"
            key = f"C{conversation[1]}:{sent_at.timestamp():.6f}"
        side = rng.choice(["company", "vendor", "vendor", "other"])
        row: dict[str, Any] = {
            "message_key": key,
            "conversation_key": conversation,
            "channel": channel,
            "sent_at": sent_at,
            "side": side,
            "body_text": rng.choice(bodies),
            "is_automated": rng.random() < 0.05,
        }
        if side == "vendor":
            row["vendor_id"] = rng.choice(vendors)
        elif side == "company":
            row["recipient_vendor_ids"] = rng.sample(vendors, rng.choice([0, 1, 1, 2]))
        if rng.random() < 0.4:
            channel = rng.choice(SLACK_CONVERSATIONS)
            thread = rng.choice(["main", "main", "1.0", "2.0"])
            row |= {
                "message_key": f"{channel}:{sent_at.timestamp():.6f}",  # Slack keys: {channel}:{ts}
                "channel": "slack",
                "slack_channel_id": channel,
                "conversation_key": f"{channel}:{thread}",
                "recipient_vendor_ids": [],
            }
            row["sender"] = rng.choice(SLACK_SENDERS.get(row.get("vendor_id") or "company", ["U0ALICE"]))
        rows.append(row)
    rng.shuffle(rows)
    with open_writer(":memory:", threads=2) as con:
        as_of = at(24)
        modes = []
        for start in range(0, len(rows), 20):
            add(con, rows[start : start + 20])
            if start:
                insert_slack_directory(con, *_random_directory(rng))
            as_of += dt.timedelta(hours=rng.choice([0, 3, 20, 30]))
            modes.append(build_marts(con, CONFIG, as_of)["full_build"])
            assert_equals_full_build(con, CONFIG, as_of)
        assert modes[0] == 1 and set(modes[1:]) == {0}


def test_conversations_a_merge_joins_are_rebuilt(tmp_path: Path) -> None:
    with open_writer(":memory:", threads=2) as con:
        mailbox = Mailbox(con, tmp_path)
        mailbox.deliver(
            eml("q1@norelec.fr", 0),
            eml("a1@kappa-offshore.in", 3, in_reply_to="q1@norelec.fr", sender=VENDOR_ADDRESS),
            eml("q2@norelec.fr", 1),
            eml(
                "a2@kappa-offshore.in",
                30,
                in_reply_to="q2@norelec.fr",
                references=["RT-Ticket-7@rt.kappa-offshore.in", "q2@norelec.fr"],
                sender=VENDOR_ADDRESS,
            ),
        )
        as_of = EMAIL_T0 + dt.timedelta(days=2)
        assert build_marts(con, MAIL_CONFIG, as_of)["full_build"] == 1
        assert con.execute("SELECT count(*) FROM marts.responses").fetchone() == (2,)

        # A reply to a1 that kept q2's References joins both conversations: q2's rows move to q1's, and the
        # marts rows q2 had must go.
        mailbox.deliver(
            eml("m@norelec.fr", 40, in_reply_to="a1@kappa-offshore.in", references=["q2@norelec.fr"])
        )
        assert set(conversations(con).values()) == {"q1@norelec.fr"}
        counts = build_marts(con, MAIL_CONFIG, as_of)
        assert counts["full_build"] == 0 and scope(con) == {"q1@norelec.fr", "q2@norelec.fr"}
        assert_equals_full_build(con, MAIL_CONFIG, as_of)


def test_a_warehouse_an_older_release_threaded_is_resolved_once_by_the_next_merge(tmp_path: Path) -> None:
    """Keys as the previous release gave them (the earliest ancestor through References[0] or In-Reply-To, ids
    never stored included) and marts built on them; the next merge re-keys them by component, and the next build,
    incremental, equals a full one."""
    ticket = "RT-Ticket-9@rt.kappa-offshore.in"
    emails = {  # message → (email, the key the previous release stored)
        "q1@norelec.fr": (eml("q1@norelec.fr", 1), "q1@norelec.fr"),
        "a1@kappa-offshore.in": (
            eml(
                "a1@kappa-offshore.in",
                3,
                in_reply_to="q1@norelec.fr",
                references=[ticket, "q1@norelec.fr"],
                sender=VENDOR_ADDRESS,
            ),
            ticket,
        ),
        "b1@norelec.fr": (eml("b1@norelec.fr", 2), "b1@norelec.fr"),
        "b2@kappa-offshore.in": (
            eml("b2@kappa-offshore.in", 4, in_reply_to="b1@norelec.fr", sender=VENDOR_ADDRESS),
            "b1@norelec.fr",
        ),
        "m@norelec.fr": (
            eml("m@norelec.fr", 6, in_reply_to="b2@kappa-offshore.in", references=["q1@norelec.fr"]),
            "q1@norelec.fr",
        ),
        "c1@kappa-offshore.in": (
            eml("c1@kappa-offshore.in", 5, in_reply_to="lost@norelec.fr", sender=VENDOR_ADDRESS),
            "lost@norelec.fr",
        ),
    }
    folder = tmp_path / "mail"
    folder.mkdir()
    for i, (text, _) in enumerate(emails.values()):
        (folder / f"{i}.eml").write_text(text, encoding="utf-8")
    table = messages_table(list(read_mail([folder])), store_bodies=True)
    old_keys = [emails[key][1] for key in table.column("message_key").to_pylist()]
    table = table.set_column(
        table.schema.get_field_index("conversation_key"), "conversation_key", pa.array(old_keys)
    )
    path = tmp_path / "w.duckdb"
    older_release_warehouse(path, 8, also=(9, 10))  # feedback and source reads: tables today's build reads
    as_of = EMAIL_T0 + dt.timedelta(days=2)
    with duckdb.connect(str(path)) as con:
        configure(con, None, 2, None)
        con.register("stored_by_the_older_release", table)
        con.execute(
            # that release also stored who is who (any value: migration 011 drops it, the build decides)
            "INSERT INTO core.messages BY NAME SELECT * EXCLUDE (ordinal), ? AS ingested_at, ? AS changed_at, "
            "'other' AS side, false AS is_internal FROM stored_by_the_older_release",
            [EMAIL_T0, EMAIL_T0],
        )
        build_marts(con, MAIL_CONFIG, as_of)

    with open_writer(path, threads=2) as con:
        merge_staged(con, tmp_path / "staging")  # nothing staged: the merge still resolves the stored emails
        assert conversations(con) == {
            "q1@norelec.fr": "q1@norelec.fr",
            "a1@kappa-offshore.in": "q1@norelec.fr",
            "b1@norelec.fr": "q1@norelec.fr",
            "b2@kappa-offshore.in": "q1@norelec.fr",
            "m@norelec.fr": "q1@norelec.fr",
            "c1@kappa-offshore.in": "c1@kappa-offshore.in",
        }
        assert unknown_ids(con) == {ticket: "q1@norelec.fr", "lost@norelec.fr": "c1@kappa-offshore.in"}
        counts = build_marts(con, MAIL_CONFIG, as_of)
        assert counts["full_build"] == 0
        assert {ticket, "b1@norelec.fr", "lost@norelec.fr", "q1@norelec.fr"} <= scope(con)
        assert_equals_full_build(con, MAIL_CONFIG, as_of)
        assert resolve_under_current_rule(con) == 0  # once only

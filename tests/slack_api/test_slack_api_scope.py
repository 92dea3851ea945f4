"""Which Slack conversations the live connector reads besides the listed channels (Slack Connect channels shared
with a vendor's team; with read_dms, the DMs and group DMs with a vendor's person), what it records of each in
raw.slack_channels, and how the build measures them."""

from __future__ import annotations

from pathlib import Path

import duckdb
import yaml

import connectors.slack as slack_connector
from tests.fakes.slack_api import FakeSlackAPI
from tests.slack_api.conftest import CHANNEL_ID, at, shared_with
from transforms.build import build_marts
from warehouse.db import open_writer

DAY = 86400


def _read_channels(fake: FakeSlackAPI) -> set[str]:
    return {c.params["channel"] for c in fake.calls("conversations.history")}


def _scope(env) -> list[tuple]:
    """staging.stg_slack_conversations of a full build of what the connector stored."""
    with open_writer(env.config.warehouse.path) as con:
        build_marts(con, env.config, at(30 * DAY), full=True)
        return con.execute(
            "SELECT channel_id, kind, vendor_id, scope_reason FROM staging.stg_slack_conversations ORDER BY 1"
        ).fetchall()


def test_slack_connect_channels_shared_with_a_vendor_team_are_read_without_being_listed(
    make_env, fake: FakeSlackAPI
) -> None:
    state = fake.state
    state.add_channel("kappa-projects", "C0KPROJ001", **shared_with("T0KAPPA"))
    state.add_channel("partners", "C0PARTNER1", **shared_with("T0PARTNER"))
    state.add_channel(
        "kappa-old", "C0KOLD0001", is_member=False, **shared_with("T0KAPPA")
    )  # the app is not in
    for channel in ("C0KPROJ001", "C0PARTNER1", "C0GENERAL1"):
        question = state.add_message(channel, "Is the build ready?", user="U0ALICE", team="T0NORELEC")
        state.add_message(channel, "Yes.", user="U0VIC", team="T0KAPPA", thread_ts=question["ts"])
    env = make_env(channels=["ext-kappa"])

    notes = env.run()

    assert _read_channels(fake) == {CHANNEL_ID, "C0KPROJ001"}
    assert notes["shared_channels_found"] == 1 and notes["channels_read"] == 2
    assert not fake.calls("users.conversations")  # DMs are not read unless asked
    assert env.query(
        "SELECT channel_id, kind, is_shared, team_ids, source FROM raw.slack_channels ORDER BY 1"
    ) == [
        ("C0EXTKAPPA", "public_channel", True, ["T0NORELEC", "T0KAPPA"], "slack_api"),
        ("C0KPROJ001", "public_channel", True, ["T0NORELEC", "T0KAPPA"], "slack_api"),
    ]
    assert _scope(env) == [
        ("C0EXTKAPPA", "public_channel", "kappa", "listed_channel"),
        ("C0KPROJ001", "public_channel", "kappa", "shared_with_vendor_team"),
    ]


def test_read_dms_reads_the_dms_and_group_dms_with_a_vendor_person(make_env, fake: FakeSlackAPI) -> None:
    state = fake.state
    state.bot_user_id = "U0ALICE"  # a user token: Alice's own DMs
    with_vic = state.add_im("U0VIC", "D0VIC00001")
    with_bob = state.add_im("U0BOB", "D0BOB00001")
    group = state.add_mpim(["U0ALICE", "U0BOB", "U0VIC"], "C0MPDM0001")
    company_group = state.add_mpim(["U0ALICE", "U0BOB"], "C0MPDM0002")
    for conversation in (with_vic, with_bob, group, company_group):
        state.add_message(conversation["id"], "Did you get the invoice?", user="U0ALICE")
    state.add_message(with_vic["id"], "Yes, paid today.", user="U0VIC")
    env = make_env(channels=["ext-kappa"], read_dms=True)

    notes = env.run()

    assert {c.params["types"] for c in fake.calls("users.conversations")} == {"im,mpim"}
    # A DM's members are its two sides; a group DM's are asked for.
    assert {c.params["channel"] for c in fake.calls("conversations.members")} == {
        group["id"],
        company_group["id"],
    }
    assert _read_channels(fake) == {CHANNEL_ID, with_vic["id"], group["id"]}
    assert notes["direct_conversations_found"] == 2
    assert env.query(
        "SELECT channel_id, name, kind, member_ids, raw_ref FROM raw.slack_channels WHERE kind IN ('im', 'mpim') "
        "ORDER BY 1"
    ) == [
        ("C0MPDM0001", group["name"], "mpim", ["U0ALICE", "U0BOB", "U0VIC"], "users.conversations"),
        ("D0VIC00001", None, "im", ["U0VIC", "U0ALICE"], "users.conversations"),
    ]
    assert ("U0VIC", "T0KAPPA") in env.query("SELECT user_id, team_id FROM raw.slack_users")
    assert _scope(env) == [
        ("C0EXTKAPPA", "public_channel", "kappa", "listed_channel"),
        ("C0MPDM0001", "mpim", "kappa", "group_dm_with_vendor_member"),
        ("D0VIC00001", "im", "kappa", "dm_with_vendor_member"),
    ]
    with duckdb.connect(str(env.config.warehouse.path), read_only=True) as con:
        responses = con.execute(
            "SELECT request_message_key, response_message_key FROM marts.responses WHERE vendor_id = 'kappa'"
        ).fetchall()
    assert [(q.split(":")[0], a.split(":")[0]) for q, a in responses] == [(with_vic["id"], with_vic["id"])]


def test_the_app_manifest_grants_what_reading_dms_calls() -> None:
    manifest = yaml.safe_load((Path(slack_connector.__file__).parent / "manifest.yaml").read_text("utf-8"))
    scopes = set(manifest["oauth_config"]["scopes"]["bot"])
    assert {"im:read", "im:history", "mpim:read", "mpim:history"} <= scopes

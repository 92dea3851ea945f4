"""Slack API connector when things go wrong: throttling, 5xx, bad tokens, killed runs, gone channels."""

from __future__ import annotations

import logging
import traceback

import pytest

from connectors.base import SourceAuthError, SourceError
from tests.fakes.slack_api import FakeSlackAPI
from tests.slack_api.conftest import CHANNEL_ID, TOKEN, expected_keys, seed_conversation


def test_rate_limit_and_server_errors_are_retried(make_env, fake: FakeSlackAPI) -> None:
    seed_conversation(fake, parents=5, replies=(3,))
    fake.rate_limit(
        "conversations.history", retry_after=1, when=lambda call: call.params.get("cursor") == "next:2"
    )
    fake.server_error("conversations.replies")
    env = make_env(page_size=2, max_retries=2)

    env.run()

    history = fake.calls("conversations.history")
    statuses = [c.status for c in history]
    assert statuses.count(429) == 1 and statuses.count(200) == len(history) - 1
    limited = statuses.index(429)
    retry = history[limited + 1]
    assert retry.params == history[limited].params and retry.status == 200
    assert retry.at - history[limited].at >= 1.0  # Retry-After honoured
    replies = fake.calls("conversations.replies")
    assert [c.status for c in replies[:2]] == [500, 200] and replies[0].params == replies[1].params
    assert set(env.stored()) == expected_keys(fake)


@pytest.mark.parametrize("error", ["invalid_auth", "not_authed", "account_inactive", "token_revoked"])
def test_refused_token_fails_fast_without_showing_it(
    make_env, error: str, caplog: pytest.LogCaptureFixture
) -> None:
    with FakeSlackAPI(tokens={"xoxb-the-right-one"}) as server:
        server.state.add_channel("ext-kappa", CHANNEL_ID)
        if error != "invalid_auth":
            server.api_error("auth.test", error)
        env = make_env(server=server)
        caplog.set_level(logging.DEBUG)

        with pytest.raises(SourceAuthError) as info:
            env.extract(token=TOKEN)

        assert f"Slack refused the token ({error})" in str(info.value)
        shown = "".join(traceback.format_exception(info.value)) + repr(info.value) + caplog.text
        assert TOKEN not in shown and "s3cr3t" not in shown
        assert [c.method for c in server.calls()] == ["auth.test"]  # nothing else was tried
        assert server.calls()[0].token == TOKEN  # sent, in the Authorization header only


def test_token_revoked_mid_run_is_an_auth_error(make_env, fake: FakeSlackAPI) -> None:
    seed_conversation(fake, parents=3, replies=())
    fake.api_error("conversations.history", "token_revoked")
    with pytest.raises(SourceAuthError, match="token_revoked") as info:
        make_env().extract()
    assert TOKEN not in "".join(traceback.format_exception(info.value))


def _history_page_3(call) -> bool:
    return call.params.get("cursor") == "next:4"


@pytest.mark.parametrize(
    ("kill", "merge_between"),
    [("history_page_3", True), ("history_page_3", False), ("thread_replies", True)],
)
def test_killed_run_resumes_with_nothing_lost_or_doubled(
    make_env, fake: FakeSlackAPI, kill: str, merge_between: bool
) -> None:
    seed_conversation(fake, parents=9, replies=(5, 0, 3, 0, 4))
    heads = [m for m in fake.state.messages[CHANNEL_ID] if m.get("text", "").startswith("parent ")]
    if kill == "history_page_3":
        fake.server_error("conversations.history", times=None, when=_history_page_3)
    else:  # the second replies page of parent 2, which is on history page 4
        thread = heads[2]["ts"]
        fake.server_error(
            "conversations.replies",
            times=None,
            when=lambda call: call.params.get("ts") == thread and call.params.get("cursor") == "next:2",
        )
    env = make_env(page_size=2, max_retries=1)

    with pytest.raises(SourceError, match="HTTP 500") as info:
        env.extract()
    assert TOKEN not in str(info.value)
    if merge_between:
        env.merge()
        partial = env.stored()
        assert 0 < len(partial) < len(expected_keys(fake))

    fake.clear_failures()
    late = fake.state.add_message(CHANNEL_ID, "posted while we were down", user="U0VIC", team="T0KAPPA")
    calls = len(fake.calls())
    env.run()

    resumed = [c.params for c in fake.calls()[calls:] if c.method == "conversations.history"]
    # The interrupted pass goes on below the oldest ts it had read (no opaque cursor, nothing re-read)...
    boundary = heads[6 if kill == "history_page_3" else 4]["ts"]  # pages: bot,p8 | p7,p6 | p5,p4 | p3,p2
    assert resumed[0] == {"channel": CHANNEL_ID, "limit": "2", "latest": boundary, "inclusive": "0"}
    # ...then a pass above what it had read picks up what came meanwhile.
    assert any(p.get("oldest") and "latest" not in p for p in resumed)

    clean = make_env("clean", page_size=2)
    clean.run()
    assert f"{CHANNEL_ID}:{late['ts']}" in clean.stored()
    assert env.stored() == clean.stored()
    assert set(env.stored()) == expected_keys(fake)
    assert sum(m.already_stored for m in env.merges) == 0 and sum(m.conflicts for m in env.merges) == 0
    assert sum(m.new for m in env.merges) == len(clean.stored())


def test_inaccessible_channels_are_quarantined_and_the_others_read(make_env, fake: FakeSlackAPI) -> None:
    fake.state.add_channel("ext-secret", "C0SECRET01", is_member=False)
    fake.api_error(
        "conversations.history",
        "not_in_channel",
        times=None,
        when=lambda c: c.params["channel"] == "C0SECRET01",
    )
    private = fake.state.add_channel("ext-kappa-ops", is_private=True)
    fake.state.add_message(private["id"], "private hello", user="U0VIC", team="T0KAPPA")
    seed_conversation(fake, parents=3, replies=(1,))
    env = make_env(channels=["#ext-kappa", "ext-missing", "ext-secret", "C0GONE0001", "EXT-KAPPA-OPS"])

    notes = env.run()

    assert sorted(env.query("SELECT source, raw_ref, reason FROM core.quarantine")) == [
        ("slack_api", "channel C0GONE0001", "channel_not_accessible"),
        ("slack_api", "channel ext-missing", "channel_not_accessible"),
        ("slack_api", "channel ext-secret", "channel_not_accessible"),
    ]
    assert set(env.stored()) == expected_keys(fake) | expected_keys(fake, private["id"])
    assert (notes["channels_read"], notes["channels_not_accessible"]) == (2, 3)
    assert sorted(env.query("SELECT channel_id, name, kind FROM raw.slack_channels")) == sorted(
        [(CHANNEL_ID, "ext-kappa", "public_channel"), (private["id"], "ext-kappa-ops", "private_channel")]
    )
    types = {c.params["types"] for c in fake.calls("conversations.list")}
    assert types == {"public_channel,private_channel"}

"""The Slack Web API connector under poison input and a flaky Slack."""

from __future__ import annotations

from tests.fakes.slack_api import FakeSlackAPI
from tests.slack_api.conftest import CHANNEL_ID

LONE = "\ud800"  # the fake answers it as the JSON escape "\ud800", as a real server may


def test_lone_surrogates_from_the_api_are_repaired_and_the_channel_loads(
    make_env, fake: FakeSlackAPI
) -> None:
    fake.state.add_user("U0ODD", f"od{LONE}d", team_id="T0KAPPA", profile={"real_name": f"Od{LONE}d"})
    poison = fake.state.add_message(CHANNEL_ID, f"status {LONE}", user="U0ODD", team="T0KAPPA")
    clean = fake.state.add_message(CHANNEL_ID, "all good", user="U0VIC", team="T0KAPPA")
    env = make_env()

    env.run()
    env.run()  # a rerun reads nothing new and fails on nothing

    assert env.query("SELECT message_key, body_full, sender_name, flags FROM core.messages ORDER BY 1") == [
        (f"{CHANNEL_ID}:{poison['ts']}", "status \ufffd", "Od\ufffdd", ["text_repaired"]),
        (f"{CHANNEL_ID}:{clean['ts']}", "all good", "Vic Rao", []),
    ]
    assert env.query("SELECT name, real_name FROM raw.slack_users WHERE user_id = 'U0ODD'") == [
        ("od\ufffdd", "Od\ufffdd")
    ]
    assert env.query("SELECT count(*) FROM core.quarantine") == [(0,)]
    assert [m.new for m in env.merges] == [2, 0]

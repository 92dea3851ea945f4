"""The Slack Web API connector under poison input and a flaky Slack."""

from __future__ import annotations

import collections
import functools
import json

import pytest
from slack_sdk.http_retry.builtin_interval_calculators import FixedValueRetryIntervalCalculator

from connectors.base import SourceError
from tests.fakes.slack_api import CUT, DROP, Call, FakeSlackAPI
from tests.slack_api.conftest import CHANNEL_ID, expected_keys, seed_conversation

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


NO_WAIT = FixedValueRetryIntervalCalculator(0.0)  # retries at once: these tests count calls, not seconds
TRANSIENT = ["internal_error", "fatal_error", "service_unavailable", "request_timeout"]


def test_transient_slack_errors_and_dropped_connections_are_retried(make_env, fake: FakeSlackAPI) -> None:
    seed_conversation(fake, parents=5, replies=(3,))
    fake.api_error("auth.test", "internal_error")
    fake.api_error("conversations.list", "fatal_error")
    fake.api_error("conversations.history", "service_unavailable", times=2)
    fake.api_error("conversations.replies", "request_timeout")
    fake.drop_connection("users.info", times=2)
    fake.cut_answer("conversations.replies", when=lambda call: call.params.get("cursor") == "next:2")
    env = make_env(page_size=2, max_retries=2)

    env.extract(backoff=NO_WAIT)
    env.merge()

    assert set(env.stored()) == expected_keys(fake)
    cut = [_outcome(c) for c in fake.calls("conversations.replies") if c.params.get("cursor") == "next:2"]
    assert cut == ["dropped", "ok"]
    for method, failure, times in [
        ("auth.test", "internal_error", 1),
        ("conversations.list", "fatal_error", 1),
        ("conversations.history", "service_unavailable", 2),
        ("conversations.replies", "request_timeout", 1),
        ("users.info", "dropped", 2),
    ]:
        calls = fake.calls(method)
        assert [_outcome(c) for c in calls[: times + 1]] == [failure] * times + ["ok"], method
        assert calls[times].params == calls[0].params  # the same request, again


def _outcome(call: Call) -> str:
    if call.status in (DROP, CUT):
        return "dropped"
    assert call.response is not None
    return "ok" if call.response.get("ok") else call.response["error"]


def test_persistent_transient_error_fails_the_run_after_the_retries(make_env, fake: FakeSlackAPI) -> None:
    seed_conversation(fake, parents=3, replies=())
    fake.api_error("conversations.history", "internal_error", times=None)
    with pytest.raises(SourceError, match="conversations.history failed: internal_error"):
        make_env(max_retries=2).extract(backoff=NO_WAIT)
    assert len(fake.calls("conversations.history")) == 3


class FlakySlack:
    """Fails 60 % of the calls of every method: each request's first attempt, and every other request's second
    one, with a transient error or a dropped connection in turn; retries then get through. In a `hard` run, the
    third history request fails on every attempt, so the run ends in failure after two pages."""

    def __init__(self, fake: FakeSlackAPI, methods: list[str]) -> None:
        self.kinds = [*TRANSIENT, "drop"]
        self.decided: dict[int, str | None] = {}
        self.new_run(hard=False)
        for method in methods:
            for kind in self.kinds:
                wanted = functools.partial(self.fails_with, kind)
                if kind == "drop":
                    fake.drop_connection(method, times=None, when=wanted)
                else:
                    fake.api_error(method, kind, times=None, when=wanted)

    def new_run(self, *, hard: bool) -> None:
        self.hard = hard
        self.attempts: collections.Counter[str] = collections.Counter()
        self.requests: list[str] = []
        self.history_requests: list[str] = []

    def fails_with(self, kind: str, call: Call) -> bool:
        if id(call) not in self.decided:
            self.decided[id(call)] = self._decide(call)
        return self.decided[id(call)] == kind

    def _decide(self, call: Call) -> str | None:
        key = json.dumps([call.method, call.params], sort_keys=True)
        if key not in self.attempts:
            self.requests.append(key)
            if call.method == "conversations.history":
                self.history_requests.append(key)
        self.attempts[key] += 1
        attempt, number = self.attempts[key], self.requests.index(key)
        kind = self.kinds[number % len(self.kinds)]
        if self.hard and self.history_requests[2:3] == [key]:
            return kind
        return kind if attempt == 1 or (attempt == 2 and number % 2 == 0) else None


def test_a_flaky_slack_is_read_whole_over_runs_that_each_advance(make_env, fake: FakeSlackAPI) -> None:
    """60 % of calls fail; runs that end in failure still store the pages they completed, so each stores more
    and the next resumes past them; then a run completes with everything, nothing stored twice."""
    seed_conversation(fake, parents=9, replies=(5, 0, 3, 0, 4))
    methods = [
        "auth.test",
        "conversations.list",
        "conversations.history",
        "conversations.replies",
        "users.info",
    ]
    flaky = FlakySlack(fake, methods)
    env = make_env(page_size=2, max_retries=2)

    stored = [0]
    for _ in range(3):
        flaky.new_run(hard=True)
        with pytest.raises(SourceError):
            env.extract(backoff=NO_WAIT)
        env.merge()
        stored.append(len(env.stored()))
    flaky.new_run(hard=False)
    env.extract(backoff=NO_WAIT)
    env.merge()

    assert stored == sorted(set(stored)), stored  # every failed run stored more than the one before
    assert set(env.stored()) == expected_keys(fake)
    assert sum(m.already_stored for m in env.merges) == 0 and sum(m.conflicts for m in env.merges) == 0
    outcomes = [_outcome(c) for c in fake.calls() if c.method in methods]
    assert outcomes.count("ok") / len(outcomes) <= 0.4

"""Throttling, server errors, refused credentials and interrupted runs, against the fake EWS server."""

from __future__ import annotations

import base64
import logging
import time

import pytest

from connectors.base import SourceAuthError, SourceError
from flows.ingest import merge
from tests.exchange.conftest import MAILBOX, Env, Seeder


def test_server_busy_and_503_are_survived_with_fault_tolerance(env: Env, seed: Seeder) -> None:
    config = env.write(folders=["inbox"], max_wait_seconds=10)
    seed("inbox", 0, 4)
    env.ews.server_busy("SyncFolderItems", back_off_ms=1000)
    env.ews.http_error("GetItem", status=503, retry_after=1)

    started = time.monotonic()
    notes, stats = env.run(config)
    elapsed = time.monotonic() - started

    assert notes == {"exchange_folders": 1, "exchange_messages": 4}
    assert stats.new == 4
    assert [c.status for c in env.ews.ops("SyncFolderItems")][:2] == [500, 200]
    assert [c.status for c in env.ews.ops("GetItem")] == [503, 200]
    assert 1.5 <= elapsed < 15  # two ~1 s back-offs, as the server asked
    assert env.rows(config, "SELECT count(*), count(DISTINCT message_key) FROM core.messages") == [(4, 4)]


def test_throttling_beyond_max_wait_is_a_source_error(env: Env, seed: Seeder) -> None:
    config = env.write(folders=["inbox"], max_wait_seconds=1)
    seed("inbox", 0, 1)
    env.ews.server_busy("SyncFolderItems", back_off_ms=5000)

    started = time.monotonic()
    with pytest.raises(SourceError, match=rf"Exchange failed reading {MAILBOX}/inbox: .*RateLimitError"):
        env.extract(config)
    assert time.monotonic() - started < 5
    assert env.ews.ops("GetItem") == []


def test_wrong_password_fails_fast_without_leaking_it(
    env: Env, seed: Seeder, caplog: pytest.LogCaptureFixture
) -> None:
    config = env.write(max_wait_seconds=600)  # a 401 retried as throttling would hang for ten minutes
    seed("inbox", 0, 2)
    wrong = "Wr0ng-Pa55word!"
    caplog.set_level(logging.DEBUG)

    started = time.monotonic()
    with pytest.raises(SourceAuthError) as raised:
        env.extract(config, secret=wrong)
    elapsed = time.monotonic() - started

    assert elapsed < 5
    assert str(raised.value) == (
        f"Exchange refused the credentials for {env.ews.username} at {env.ews.url} (401)"
    )
    encoded = base64.b64encode(f"{env.ews.username}:{wrong}".encode()).decode()
    texts = [str(raised.value), repr(raised.value), caplog.text]
    cause = raised.value.__cause__ or raised.value.__context__
    while cause is not None:
        texts.append(repr(cause))
        cause = cause.__cause__ or cause.__context__
    for text in texts:
        assert wrong not in text and encoded not in text
    assert {c.status for c in env.ews.calls} == {401}
    assert env.ews.ops("SyncFolderItems") == []


def test_a_successful_run_logs_no_secret(env: Env, seed: Seeder, caplog: pytest.LogCaptureFixture) -> None:
    config = env.write(folders=["inbox"])
    seed("inbox", 0, 2)
    caplog.set_level(logging.DEBUG)

    env.run(config)

    encoded = base64.b64encode(f"{env.ews.username}:{env.ews.password}".encode()).decode()
    assert "exchange" in caplog.text
    assert env.ews.password not in caplog.text and encoded not in caplog.text


def test_the_probe_policy_is_not_reused_by_the_real_run(env: Env, seed: Seeder) -> None:
    """The FailFast probe and the FaultTolerance run share endpoint and credentials: exchangelib's protocol cache
    would hand the run the probe's policy, and the first ErrorServerBusy would then fail the run."""
    config = env.write(folders=["inbox"])
    seed("inbox", 0, 1)
    env.ews.server_busy("GetItem", back_off_ms=500)

    notes, _ = env.run(config)

    assert notes["exchange_messages"] == 1


def test_a_run_killed_mid_folder_resumes_with_nothing_lost_or_doubled(env: Env, seed: Seeder) -> None:
    config = env.write(folders=["sent", "inbox"], page_size=20)
    seed("sentitems", 500, 2, prefix="s")
    ids = seed("inbox", 0, 60)  # GetItem chunks of 50: the second chunk starts at item 50
    env.ews.fail_items({ids[55]})

    with pytest.raises(
        SourceError, match=rf"Exchange failed reading {MAILBOX}/inbox: ErrorInternalServerError"
    ):
        env.extract(config)
    first = env.ews.ops("GetItem")
    assert [len(c.item_ids) for c in first] == [2, 50, 10]
    partial = merge(config, command="ingest exchange (killed)")
    assert partial.new == 52  # what was read before the failure is kept...
    assert env.cursor(config, "sent") is not None
    assert env.cursor(config, "inbox") is None  # ...but the unfinished folder's state did not advance

    env.ews.fail_items(set())
    before = len(env.ews.calls)
    notes, stats = env.run(config)

    syncs = [c for c in env.ews.calls[before:] if c.operation == "SyncFolderItems"]
    # sent: from its stored state; inbox: from scratch again (3 pages of 20)
    assert [c.sync_state is None for c in syncs] == [False, True, False, False]
    assert notes == {"exchange_folders": 2, "exchange_messages": 60}
    assert (stats.new, stats.already_stored, stats.conflicts) == (10, 50, 0)
    rows = env.rows(config, "SELECT count(*), count(DISTINCT message_key) FROM core.messages")
    assert rows == [(62, 62)]
    assert env.cursor(config, "inbox") is not None


def test_a_busy_server_during_the_credential_probe_is_not_a_verdict(env: Env, seed: Seeder) -> None:
    config = env.write(folders=["inbox"])
    seed("inbox", 0, 2)
    env.ews.server_busy("ConvertId", back_off_ms=200)  # the probe's first request
    env.ews.server_busy("GetFolder", back_off_ms=200)  # then its second

    notes, stats = env.run(config)

    assert notes == {"exchange_folders": 1, "exchange_messages": 2}
    assert stats.new == 2
    assert [(c.operation, c.status) for c in env.ews.calls[:2]] == [("ConvertId", 500), ("ConvertId", 200)]
    assert ("GetFolder", 500) in [(c.operation, c.status) for c in env.ews.calls]


def test_a_short_password_does_not_mangle_an_error_message(env: Env) -> None:
    endpoint = "http://127.0.0.1:9/EWS/Exchange.asmx"  # nothing listens on the discard port
    config = env.write(endpoint=endpoint)

    with pytest.raises(SourceError) as raised:
        env.extract(config, secret="p")  # in "http", "response", "Exchange.asmx"...

    message = str(raised.value)
    assert "No valid version headers found in response" in message and "port=9" in message
    assert "*" not in message

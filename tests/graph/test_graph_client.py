"""Tokens, credentials and retries of the Graph connector, through real msal and httpx against the fake."""

from __future__ import annotations

import datetime as dt
import logging
import time
from pathlib import Path

import pytest

from connectors.base import SourceAuthError, SourceError
from connectors.graph import decode_cursor, encode_cursor, extract_graph
from connectors.graph.client import GraphClient, GraphError, retry_after_seconds
from connectors.graph.settings import CURSOR_DELTA, CURSOR_NEXT
from ground.config import GraphSource
from tests.conftest import write_config
from tests.fakes.graph import FakeGraph
from tests.graph.conftest import SECRET_ENV, graph_config_text
from tests.graph.graph_testlib import MAILBOX, config_at, extract, query, run_and_merge, seed

WRONG_SECRET = "wrong~Secret~Value~that~must~never~leak~42"


def test_429_and_503_are_waited_out_as_retry_after_says(graph: FakeGraph, config_file: Path) -> None:
    seed(graph, "inbox", range(1, 4))
    graph.fail("delta", 429, retry_after=1, code="ApplicationThrottled")
    graph.fail("mime", 503, retry_after=1, code="ServiceUnavailable")
    graph.fail("mime", 500, code="InternalServerError")  # no Retry-After: short back-off
    config = config_at(config_file)

    notes, stats = run_and_merge(config)

    delta = graph.calls("delta")
    assert [c.status for c in delta[:2]] == [429, 200]
    assert delta[1].at - delta[0].at >= 0.95
    mime = graph.calls("mime")
    assert [c.status for c in mime[:4]] == [503, 500, 200, 200]
    assert mime[1].at - mime[0].at >= 0.95
    assert notes["messages"] == 3 and stats["new"] == 3


def test_retries_are_bounded_by_max_retries(graph: FakeGraph, tmp_path: Path) -> None:
    config = config_at(write_config(tmp_path / "p", graph_config_text(graph, max_retries=2)))
    graph.fail("delta", 503, times=None, retry_after=0)

    with pytest.raises(SourceError) as caught:
        extract(config)

    assert str(caught.value) == (
        f"Microsoft Graph delta query of {MAILBOX}/inbox failed: HTTP 503 http503 after 3 attempts"
    )
    assert [c.status for c in graph.calls("delta")] == [503, 503, 503]


def test_wrong_client_secret_fails_fast_without_showing_it(
    graph: FakeGraph, config_file: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    seed(graph, "inbox", range(1, 3))
    monkeypatch.setenv(SECRET_ENV, WRONG_SECRET)
    config = config_at(config_file)
    caplog.set_level(logging.DEBUG)

    started = time.monotonic()
    with pytest.raises(SourceAuthError) as caught:
        extract(config)

    assert time.monotonic() - started < 5
    assert str(caught.value) == (
        f"Microsoft Graph refused the app credentials for client {graph.client_id} in tenant {graph.tenant_id}: "
        "invalid_client"
    )
    assert [c.status for c in graph.calls("token")] == [401]  # no retry
    assert graph.calls("delta") == [] and graph.calls("mime") == []
    assert WRONG_SECRET.encode() in graph.calls("token")[0].body  # it was sent, to the authority only
    for text in (str(caught.value), repr(caught.value), caplog.text):
        assert WRONG_SECRET not in text


def test_unknown_client_id_and_unknown_tenant_fail_fast(graph: FakeGraph) -> None:
    base = {
        "authority": graph.authority,
        "api_url": graph.api_url,
        "mailboxes": [MAILBOX],
        "max_retries": 5,
    }
    unknown_client = GraphSource(tenant_id=graph.tenant_id, client_id="not-registered", **base)
    with pytest.raises(SourceAuthError, match=r"client not-registered in tenant .*: unauthorized_client$"):
        extract_graph(None, unknown_client, graph.client_secret, _NoSink())  # type: ignore[arg-type]

    unknown_tenant = GraphSource(tenant_id="no-such-tenant", client_id=graph.client_id, **base)
    with pytest.raises(SourceAuthError, match="no usable OpenID configuration") as caught:
        extract_graph(None, unknown_tenant, graph.client_secret, _NoSink())  # type: ignore[arg-type]
    assert graph.client_secret not in str(caught.value)
    assert graph.calls("delta") == []


def test_secret_and_tokens_stay_out_of_logs_and_the_warehouse(
    graph: FakeGraph, config_file: Path, caplog: pytest.LogCaptureFixture
) -> None:
    seed(graph, "inbox", range(1, 4))
    graph.fail("mime", 401, code="InvalidAuthenticationToken")  # a refresh, logged
    graph.fail("delta", 503, retry_after=0)  # a retry, logged
    config = config_at(config_file)
    caplog.set_level(logging.DEBUG)

    run_and_merge(config)

    assert "retry 1 of 3" in caplog.text and "getting a new one" in caplog.text
    tokens = {c.token for c in graph.calls("delta") + graph.calls("mime")} - {None}
    assert len(tokens) == 2
    for secret in (graph.client_secret, *tokens):
        assert secret not in caplog.text
        assert secret.encode() not in Path(config.warehouse.path).read_bytes()
    assert all(graph.client_secret not in str(v) for v in query(config, "SELECT * FROM meta.runs")[0])


def test_a_401_mid_run_refreshes_the_token_once(graph: FakeGraph, config_file: Path) -> None:
    seed(graph, "inbox", range(1, 4))
    config = config_at(config_file)
    run_and_merge(config)
    seed(graph, "inbox", [4])
    graph.clear_calls()
    graph.revoke_tokens()  # the next run's first token is fine; revoke it after the delta page
    graph.fail("mime", 401, code="InvalidAuthenticationToken")

    notes, _ = run_and_merge(config)

    assert notes["messages"] == 1
    assert [c.status for c in graph.calls("token")] == [200, 200]
    failed, retried = graph.calls("mime")[:2]
    assert failed.status == 401 and retried.status == 200 and failed.token != retried.token


def test_a_401_after_a_fresh_token_is_an_auth_error(graph: FakeGraph, config_file: Path) -> None:
    graph.fail("delta", 401, times=None, code="InvalidAuthenticationToken")

    with pytest.raises(
        SourceAuthError, match="refused the access token .*HTTP 401 InvalidAuthenticationToken"
    ):
        extract(config_at(config_file))

    assert len(graph.calls("token")) == 2 and len(graph.calls("delta")) == 2


def test_403_says_which_permission_is_missing(graph: FakeGraph, config_file: Path) -> None:
    graph.fail("delta", 403, code="ErrorAccessDenied")

    with pytest.raises(SourceAuthError, match=r"ErrorAccessDenied \(the app needs the Mail.Read"):
        extract(config_at(config_file))
    assert len(graph.calls("delta")) == 1


def test_the_token_only_goes_to_the_configured_graph_host(graph: FakeGraph) -> None:
    source = GraphSource(
        tenant_id=graph.tenant_id,
        client_id=graph.client_id,
        authority=graph.authority,
        api_url=graph.api_url,
        mailboxes=[MAILBOX],
    )
    with GraphClient(source, graph.client_secret) as client:
        client.check_url(f"{graph.api_url}/users/x/mailFolders/inbox/messages/delta?$skiptoken=1")
        for url in (
            "https://evil.example/v1.0/users/x/messages/delta",
            f"{graph.url}/beta/users/x/messages/delta",
            graph.api_url.replace("https://", "http://") + "/users/x",
        ):
            with pytest.raises(GraphError, match="refusing to follow it"):
                client.check_url(url)
    assert graph.calls() == []


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("1", 1.0),
        (" 2.5 ", 2.5),
        ("-3", 0.0),
        ("100000", 300.0),
        ("", None),
        (None, None),
        ("soon", None),
        ("Wed, 04 Mar 2026 10:00:30 GMT", 30.0),
    ],
)
def test_retry_after_values(value: str | None, expected: float | None) -> None:
    now = dt.datetime(2026, 3, 4, 10, 0, 0, tzinfo=dt.UTC)
    assert retry_after_seconds(value, now=now) == expected


def test_cursor_round_trip() -> None:
    url = "https://graph.microsoft.com/v1.0/users/a/mailFolders/inbox/messages/delta?$deltatoken=x"
    assert decode_cursor(encode_cursor(CURSOR_NEXT, url)) == (CURSOR_NEXT, url)
    assert decode_cursor(encode_cursor(CURSOR_DELTA, url)) == (CURSOR_DELTA, url)
    assert decode_cursor(url) == (CURSOR_DELTA, url)  # a bare link counts as a deltaLink
    assert decode_cursor(None) is None
    assert decode_cursor("garbage") is None
    assert decode_cursor('{"other": 1}') is None


class _NoSink:
    """Never reached: the tests using it fail at sign-in."""

    def add(self, record: object) -> None:
        raise AssertionError("nothing should be read")

    def add_slack_users(self, users: object, source: str) -> None:
        raise AssertionError("nothing should be read")

    def add_slack_channels(self, channels: object, source: str, raw_ref: str | None = None) -> None:
        raise AssertionError("nothing should be read")

    def known_slack_users(self) -> dict[str, object]:
        raise AssertionError("nothing should be read")

    def cursor(self, source: str, partition: str) -> str | None:
        raise AssertionError("nothing should be read")

    def checkpoint(self, source: str, partition: str, cursor: str | None) -> None:
        raise AssertionError("nothing should be read")

"""The Teams export side of the fake Graph (tests/fakes/graph.py), driven with plain httpx over its TLS."""

from __future__ import annotations

import datetime as dt
import re
import ssl
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.fakes.graph import SCOPE, FakeGraph, make_tls_files

T0 = dt.datetime(2024, 1, 10, 9, 0, tzinfo=dt.UTC)
ALICE, BOB, CAROL = (
    "aaaaaaaa-0000-0000-0000-00000000000a",
    "bbbbbbbb-0000-0000-0000-00000000000b",
    "carol-oid",
)
DM, GROUP = "19:aaaa_bbbb@unq.gbl.spaces", "19:3f2c0c1d9e@thread.v2"
TEAM = "fbe2bf47-16c8-47cf-b4a5-4b9b187c508b"
GENERAL, OPS = "19:general0a1b@thread.tacv2", "19:ops2c3d@thread.tacv2"
ISO_MS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
MESSAGE_KEYS = {
    "id",
    "replyToId",
    "etag",
    "messageType",
    "createdDateTime",
    "lastModifiedDateTime",
    "lastEditedDateTime",
    "deletedDateTime",
    "subject",
    "summary",
    "chatId",
    "importance",
    "locale",
    "webUrl",
    "channelIdentity",
    "policyViolation",
    "eventDetail",
    "from",
    "body",
    "attachments",
    "mentions",
    "reactions",
}


@pytest.fixture(scope="module")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return make_tls_files(tmp_path_factory.mktemp("tls"))


@pytest.fixture
def graph(tls_files: tuple[Path, Path]) -> Iterator[FakeGraph]:
    with FakeGraph(tls_files) as fake:
        yield fake


def new_client(graph: FakeGraph, tls_files: tuple[Path, Path]) -> httpx.Client:
    """A client with its own client-credentials token, as a fresh (e.g. resumed) run would have."""
    client = httpx.Client(
        verify=ssl.create_default_context(cafile=str(tls_files[0])), trust_env=False, timeout=10
    )
    answer = client.post(
        f"{graph.authority}/{graph.tenant_id}/oauth2/v2.0/token",
        data={
            "grant_type": "client_credentials",
            "client_id": graph.client_id,
            "client_secret": graph.client_secret,
            "scope": SCOPE,
        },
    )
    assert answer.status_code == 200, answer.text
    client.headers["Authorization"] = f"Bearer {answer.json()['access_token']}"
    return client


@pytest.fixture
def client(graph: FakeGraph, tls_files: tuple[Path, Path]) -> Iterator[httpx.Client]:
    c = new_client(graph, tls_files)
    try:
        yield c
    finally:
        c.close()


def chats_url(graph: FakeGraph, user: str) -> str:
    return f"{graph.api_url}/users/{user}/chats/getAllMessages"


def channels_url(graph: FakeGraph, team: str) -> str:
    return f"{graph.api_url}/teams/{team}/channels/getAllMessages"


def say(graph: FakeGraph, chat: str, sender: str, minutes: float, html: str | None = None) -> str:
    return graph.add_chat_message(
        chat,
        sender_id=sender,
        sender_name=sender.split("-")[0].title(),
        tenant_id=graph.tenant_id,
        html=html or f"<p>{sender} at +{minutes}</p>",
        created=T0 + dt.timedelta(minutes=minutes),
    )


def post(graph: FakeGraph, channel: str, minutes: float, *, reply_to: str | None = None) -> str:
    return graph.add_channel_message(
        TEAM,
        channel,
        sender_id=ALICE,
        sender_name="Alice",
        tenant_id=graph.tenant_id,
        html=f"<p>{channel} +{minutes}</p>",
        created=T0 + dt.timedelta(minutes=minutes),
        reply_to=reply_to,
        subject=None if reply_to else f"subject +{minutes}",
    )


def pages(client: httpx.Client, url: str, params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """Every page, following nextLinks to the end."""
    answers = []
    answer = client.get(url, params=params)
    while True:
        assert answer.status_code == 200, answer.text
        answers.append(answer.json())
        link = answers[-1].get("@odata.nextLink")
        if link is None:
            return answers
        answer = client.get(link)


def ids(answers: list[dict[str, Any]]) -> list[str]:
    return [m["id"] for page in answers for m in page["value"]]


def window(start: dt.datetime | None, end: dt.datetime | None, ops: tuple[str, str] = ("gt", "lt")) -> str:
    terms = []
    if start is not None:
        terms.append(f"lastModifiedDateTime {ops[0]} {start.strftime('%Y-%m-%dT%H:%M:%SZ')}")
    if end is not None:
        terms.append(f"lastModifiedDateTime {ops[1]} {end.strftime('%Y-%m-%dT%H:%M:%SZ')}")
    return " and ".join(terms)


def test_chats_page_with_next_links_to_the_end_and_a_new_client_can_resume(
    graph: FakeGraph, client: httpx.Client, tls_files: tuple[Path, Path]
) -> None:
    graph.add_chat(DM, [ALICE, BOB])
    sent = [say(graph, DM, ALICE if i % 2 else BOB, i) for i in range(7)]

    answers = pages(client, chats_url(graph, ALICE), {"$top": 3})

    assert [len(p["value"]) for p in answers] == [3, 3, 1]
    assert [p["@odata.count"] for p in answers] == [3, 3, 1]
    assert ids(answers) == sent  # ordered by lastModifiedDateTime
    assert all("@odata.deltaLink" not in p for p in answers)
    first_link = answers[0]["@odata.nextLink"]
    assert first_link.startswith(f"{graph.api_url}/users/{ALICE}/chats/getAllMessages?$skiptoken=")
    assert answers[0]["@odata.context"].endswith("$metadata#Collection(chatMessage)")
    statuses = [c.status for c in graph.calls("teams_chats")]
    assert statuses == [200, 200, 200] and graph.calls("teams_chats")[0].user == ALICE

    message = answers[0]["value"][1]
    assert set(message) == MESSAGE_KEYS
    assert message["chatId"] == DM and message["channelIdentity"] is None and message["replyToId"] is None
    assert message["messageType"] == "message" and message["body"] == {
        "contentType": "html",
        "content": f"<p>{ALICE} at +1</p>",
    }
    assert message["from"] == {
        "application": None,
        "device": None,
        "user": {
            "@odata.type": "#microsoft.graph.teamworkUserIdentity",
            "id": ALICE,
            "displayName": "Aaaaaaaa",
            "userIdentityType": "aadUser",
            "tenantId": graph.tenant_id,
        },
    }
    assert message["createdDateTime"] == message["lastModifiedDateTime"] == "2024-01-10T09:01:00.000Z"
    assert ISO_MS.match(message["createdDateTime"]) and message["lastEditedDateTime"] is None
    assert message["id"].isdigit() and message["etag"].isdigit()

    # A later run (new client, new token) follows the saved nextLink: the token carries the query.
    resumed = new_client(graph, tls_files)
    try:
        rest = resumed.get(first_link)
    finally:
        resumed.close()
    assert rest.status_code == 200
    assert [m["id"] for m in rest.json()["value"]] == sent[3:6]


def test_last_modified_window_filter(graph: FakeGraph, client: httpx.Client) -> None:
    graph.add_chat(DM, [ALICE, BOB])
    sent = [say(graph, DM, BOB, 10 * i) for i in range(6)]  # +0, +10, ... +50 minutes
    url = chats_url(graph, BOB)

    between = pages(
        client,
        url,
        {"$filter": window(T0 + dt.timedelta(minutes=10), T0 + dt.timedelta(minutes=40)), "$top": 1},
    )
    assert ids(between) == sent[2:4]  # gt and lt exclude the bounds
    inclusive = pages(
        client,
        url,
        {"$filter": window(T0 + dt.timedelta(minutes=10), T0 + dt.timedelta(minutes=40), ("ge", "le"))},
    )
    assert ids(inclusive) == sent[1:5]
    assert ids(pages(client, url, {"$filter": window(T0 + dt.timedelta(minutes=30), None)})) == sent[4:]
    assert ids(pages(client, url, {"$filter": window(None, T0 + dt.timedelta(minutes=30))})) == sent[:3]
    fractional = (
        "lastModifiedDateTime ge 2024-01-10T09:20:00.000Z and lastModifiedDateTime lt 2024-01-10T09:30:00Z"
    )
    assert ids(pages(client, url, {"$filter": fractional})) == [sent[2]]
    # The window travels in the skiptoken, also when the request following it repeats no $filter.
    assert [len(p["value"]) for p in between] == [1, 1]

    for bad in ("createdDateTime gt 2024-01-01T00:00:00Z", "lastModifiedDateTime gt yesterday", ""):
        answer = client.get(url, params={"$filter": bad})
        assert answer.status_code == 400 and answer.json()["error"]["code"] == "BadRequest"
    too_big = client.get(url, params={"$top": 51})
    assert too_big.status_code == 400 and too_big.json()["error"]["code"] == "BadRequest"


def test_each_member_gets_the_chat_messages(graph: FakeGraph, client: httpx.Client) -> None:
    graph.add_chat(DM, [ALICE, BOB])
    graph.add_chat(GROUP, [ALICE, BOB, CAROL])
    graph.add_user("dave-oid")
    dm = [say(graph, DM, ALICE, 1), say(graph, DM, BOB, 2)]
    group = [say(graph, GROUP, CAROL, 3)]

    alice = pages(client, chats_url(graph, ALICE))
    bob = pages(client, chats_url(graph, BOB))
    carol = pages(client, chats_url(graph, CAROL))

    assert ids(alice) == ids(bob) == dm + group  # the same messages, once per member
    assert ids(carol) == group
    assert {m["chatId"] for p in alice for m in p["value"]} == {DM, GROUP}
    assert pages(client, chats_url(graph, "dave-oid"))[0]["value"] == []
    unknown = client.get(chats_url(graph, "nobody-oid"))
    assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "NotFound"


def test_team_call_returns_all_channels_roots_and_replies(graph: FakeGraph, client: httpx.Client) -> None:
    graph.add_team(TEAM, GENERAL, OPS)
    root = post(graph, GENERAL, 1)
    other = post(graph, OPS, 2)
    reply = post(graph, GENERAL, 3, reply_to=root)
    bot = graph.add_application_message(
        team_id=TEAM,
        channel_id=OPS,
        reply_to=other,
        app_id="app-1",
        app_name="Build bot",
        html="<p>deployed</p>",
        created=T0 + dt.timedelta(minutes=4),
    )

    answers = pages(client, channels_url(graph, TEAM), {"$top": 2})

    messages = {m["id"]: m for p in answers for m in p["value"]}
    assert ids(answers) == [root, other, reply, bot]
    assert messages[reply]["replyToId"] == root and messages[root]["replyToId"] is None
    assert messages[root]["subject"] == "subject +1" and messages[reply]["subject"] is None
    assert messages[root]["channelIdentity"] == {"teamId": TEAM, "channelId": GENERAL}
    assert messages[other]["channelIdentity"] == {"teamId": TEAM, "channelId": OPS}
    assert all(m["chatId"] is None for m in messages.values())
    assert messages[bot]["from"]["user"] is None
    assert messages[bot]["from"]["application"]["displayName"] == "Build bot"
    assert f"parentMessageId={root}" in messages[reply]["webUrl"]
    assert [c.team for c in graph.calls("teams_channels")] == [TEAM, TEAM]
    unknown = client.get(channels_url(graph, "00000000-0000-0000-0000-000000000000"))
    assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "NotFound"


def test_edit_and_delete_move_last_modified(graph: FakeGraph, client: httpx.Client) -> None:
    graph.add_chat(DM, [ALICE, BOB])
    kept, edited, deleted = say(graph, DM, ALICE, 1), say(graph, DM, BOB, 2), say(graph, DM, ALICE, 3)
    run_end = T0 + dt.timedelta(hours=1)
    graph.edit_message(edited, "<p>fixed</p>", T0 + dt.timedelta(hours=2, milliseconds=250))
    graph.delete_message(deleted, T0 + dt.timedelta(hours=3))

    later = pages(client, chats_url(graph, ALICE), {"$filter": window(run_end, None)})

    assert ids(later) == [edited, deleted]
    changed = {m["id"]: m for m in later[0]["value"]}
    assert changed[edited]["body"]["content"] == "<p>fixed</p>"
    assert changed[edited]["lastEditedDateTime"] == changed[edited]["lastModifiedDateTime"]
    assert changed[edited]["lastModifiedDateTime"] == "2024-01-10T11:00:00.250Z"
    assert changed[edited]["createdDateTime"] == "2024-01-10T09:02:00.000Z"
    assert changed[deleted]["deletedDateTime"] == changed[deleted]["lastModifiedDateTime"]
    assert changed[deleted]["lastModifiedDateTime"] == "2024-01-10T12:00:00.000Z"
    assert changed[deleted]["body"] == {"contentType": "html", "content": ""}
    earlier = pages(client, chats_url(graph, ALICE), {"$filter": window(None, run_end)})
    assert ids(earlier) == [kept]


def test_429_with_retry_after_is_scripted(graph: FakeGraph, client: httpx.Client) -> None:
    graph.add_chat(DM, [ALICE, BOB])
    say(graph, DM, ALICE, 1)
    graph.fail("teams_chats", 429, retry_after=2, code="TooManyRequests")
    graph.fail("teams_channels", 503, retry_after=1, code="ServiceUnavailable")

    throttled = client.get(chats_url(graph, ALICE))
    assert throttled.status_code == 429 and throttled.headers["Retry-After"] == "2"
    assert throttled.json()["error"]["code"] == "TooManyRequests"
    assert client.get(chats_url(graph, ALICE)).status_code == 200
    assert [c.status for c in graph.calls("teams_chats")] == [429, 200]
    unavailable = client.get(channels_url(graph, TEAM))
    assert unavailable.status_code == 503 and unavailable.headers["Retry-After"] == "1"


def test_expired_skiptoken(graph: FakeGraph, client: httpx.Client) -> None:
    graph.add_chat(DM, [ALICE, BOB])
    for i in range(3):
        say(graph, DM, ALICE, i)
    link = client.get(chats_url(graph, ALICE), params={"$top": 1}).json()["@odata.nextLink"]

    graph.expire_skiptokens()

    stale = client.get(link)
    assert stale.status_code == 400
    assert stale.json()["error"]["code"] == "BadRequest"
    assert stale.json()["error"]["message"] == "Invalid continuation token"
    assert len(ids(pages(client, chats_url(graph, ALICE), {"$top": 1}))) == 3  # a new query works
    graph.expire_skiptokens(status=410, code="SyncStateNotFound", message="gone")
    assert client.get(link).status_code == 410
    garbage = client.get(chats_url(graph, ALICE), params={"$skiptoken": "not-a-token"})
    assert garbage.status_code == 400 and garbage.json()["error"]["code"] == "BadRequest"
    graph.expire_skiptokens()
    fresh = client.get(chats_url(graph, ALICE), params={"$top": 1}).json()["@odata.nextLink"]
    foreign = client.get(fresh.replace(ALICE, BOB))  # a token only works for the resource it came from
    assert foreign.status_code == 400 and foreign.json()["error"]["code"] == "BadRequest"
    assert client.get(fresh).status_code == 200


def test_denied_user_and_team_answer_403(graph: FakeGraph, client: httpx.Client) -> None:
    graph.add_chat(DM, [ALICE, BOB])
    graph.add_team(TEAM, GENERAL)
    say(graph, DM, ALICE, 1)

    graph.deny(f"users/{BOB}")
    graph.deny(f"teams/{TEAM.upper()}")

    refused = client.get(chats_url(graph, BOB))
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "Forbidden" and refused.json()["error"]["message"]
    assert client.get(chats_url(graph, ALICE)).status_code == 200
    team = client.get(channels_url(graph, TEAM))
    assert team.status_code == 403 and team.json()["error"]["code"] == "Forbidden"
    assert client.get(chats_url(graph, BOB), headers={"Authorization": "Bearer forged"}).status_code == 401
    graph.allow(f"users/{BOB}")
    assert client.get(chats_url(graph, BOB)).status_code == 200
    assert [c.status for c in graph.calls("teams_chats")] == [403, 200, 401, 200]


def test_hold_stops_a_page_sequence_in_the_middle(graph: FakeGraph, client: httpx.Client) -> None:
    graph.add_team(TEAM, GENERAL)
    for i in range(4):
        post(graph, GENERAL, i)
    graph.hold("teams_channels", 2)
    got: list[list[dict[str, Any]]] = []
    worker = threading.Thread(
        target=lambda: got.append(pages(client, channels_url(graph, TEAM), {"$top": 2}))
    )

    worker.start()
    assert graph.held.wait(10)
    assert len(graph.calls("teams_channels")) == 2 and "$skiptoken" in graph.calls("teams_channels")[1].query
    graph.release()
    worker.join(10)

    assert [len(p["value"]) for p in got[0]] == [2, 2]

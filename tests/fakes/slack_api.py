"""A fake Slack Web API on 127.0.0.1 that speaks the real wire format, for tests through ``slack_sdk``.

Every call is a ``POST /api/<method>`` with a form or JSON body and an ``Authorization: Bearer`` header;
answers are JSON ``{"ok": true, ...}`` (or ``{"ok": false, "error": ...}`` with HTTP 200, as Slack does).
``files.getUploadURLExternal`` hands out an ``upload_url`` pointing back here (``/upload/<file_id>``), so
``WebClient.files_upload_v2`` runs its real three steps.

Usage::

    with FakeSlackAPI() as slack:
        client = WebClient(token="xoxb-test", base_url=slack.url)
        slack.rate_limit("chat.postMessage", retry_after=1)   # the next call gets one 429
        client.chat_postMessage(channel="#vendor-health", text="hi")
        assert [c.status for c in slack.calls("chat.postMessage")] == [429, 200]

Add a method by registering ``handler(state, params, call) -> dict`` in ``HANDLERS`` (for every fake) or in
``fake.handlers`` (for one); raise :class:`SlackError` to answer ``ok: false``. All data lives in
:class:`FakeSlackState`, which tests can seed (``add_channel``, ``add_im``, ``add_mpim``, ``add_user``,
``add_message``) and inspect.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Self
from urllib.parse import parse_qsl, urlsplit

import pytest

WORKSPACE_URL = "https://fake-workspace.slack.com/"


class SlackError(Exception):
    """Raised by a handler: the fake answers ``{"ok": false, "error": code, **extra}``."""

    def __init__(self, error: str, **extra: Any) -> None:
        super().__init__(error)
        self.error = error
        self.extra = extra


@dataclass
class Call:
    """One HTTP request the fake received (failed attempts included)."""

    method: str  # API method, or "upload" for a raw upload POST
    params: dict[str, Any]
    headers: dict[str, str]
    body: bytes
    at: float  # time.monotonic() on arrival
    http_method: str = "POST"
    status: int = 0
    response: dict[str, Any] | None = None

    @property
    def token(self) -> str | None:
        auth = self.headers.get("authorization", "")
        return auth[7:] if auth.lower().startswith("bearer ") else None


@dataclass
class Failure:
    """A scripted answer for the next calls of one method, before auth and handlers run."""

    status: int  # DROP: the connection is closed without an answer; CUT: closed in the middle of one
    body: dict[str, Any] | str
    headers: dict[str, str] = field(default_factory=dict)
    times: int | None = 1  # None: every call from now on
    when: Callable[[Call], bool] | None = None  # only calls it accepts (e.g. one page's cursor); None: any


@dataclass
class FakeSlackState:
    base_url: str = ""
    team_id: str = "T0FAKE"
    team: str = "Fake Workspace"
    bot_user_id: str = "U0BOT"
    bot_id: str = "B0BOT"
    tokens: set[str] | None = None  # None: any non-empty token is accepted
    channels: list[dict[str, Any]] = field(default_factory=list)
    # Members of group DMs and channels (conversations.members); a DM's are the bot user and its `user`.
    members: dict[str, list[str]] = field(default_factory=dict)
    messages: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # channel ID -> messages
    users: dict[str, dict[str, Any]] = field(default_factory=dict)
    files: dict[str, dict[str, Any]] = field(default_factory=dict)
    calls: list[Call] = field(default_factory=list)
    failures: dict[str, deque[Failure]] = field(default_factory=dict)
    lock: threading.RLock = field(default_factory=threading.RLock)
    _clock: int = 0
    _ids: int = 0

    # --- seeding and lookups

    def next_ts(self) -> str:
        self._clock += 1
        return f"{1767225600 + self._clock}.{self._clock:06d}"

    def next_id(self, prefix: str) -> str:
        self._ids += 1
        return f"{prefix}0FAKE{self._ids:05d}"

    def add_channel(
        self, name: str, channel_id: str | None = None, *, is_private: bool = False, **extra: Any
    ) -> dict[str, Any]:
        """A channel as conversations.list shows it; a Slack Connect one passes is_ext_shared, is_shared and its
        teams (shared_team_ids: the host; connected_team_ids: every team; conversation_host_id), as Slack does."""
        channel = {
            "id": channel_id or self.next_id("G" if is_private else "C"),
            "name": name,
            "is_channel": not is_private,
            "is_group": is_private,
            "is_im": False,
            "is_mpim": False,
            "is_private": is_private,
            "is_archived": False,
            "is_member": True,
            "is_shared": False,
            "is_ext_shared": False,
            "context_team_id": self.team_id,
            "shared_team_ids": [self.team_id],
            "pending_connected_team_ids": [],
            **extra,
        }
        self.channels.append(channel)
        self.messages.setdefault(channel["id"], [])
        return channel

    def add_im(self, user_id: str, channel_id: str | None = None) -> dict[str, Any]:
        """A DM between the bot user (the token's user) and `user_id`, as users.conversations shows it."""
        channel = {
            "id": channel_id or self.next_id("D"),
            "created": 1767225600,
            "is_archived": False,
            "is_im": True,
            "is_org_shared": False,
            "context_team_id": self.team_id,
            "user": user_id,
            "is_user_deleted": False,
            "priority": 0,
        }
        self.channels.append(channel)
        self.messages.setdefault(channel["id"], [])
        return channel

    def add_mpim(self, members: list[str], channel_id: str | None = None) -> dict[str, Any]:
        """A group DM; its members are only told by conversations.members, as with Slack."""
        channel = {
            "id": channel_id or self.next_id("C"),
            "name": "mpdm-" + "--".join(members) + "-1",
            "is_channel": False,
            "is_group": False,
            "is_im": False,
            "is_mpim": True,
            "is_private": True,
            "is_archived": False,
            "is_shared": False,
            "is_ext_shared": False,
            "context_team_id": self.team_id,
            "shared_team_ids": [self.team_id],
            "pending_connected_team_ids": [],
        }
        self.channels.append(channel)
        self.members[channel["id"]] = list(members)
        self.messages.setdefault(channel["id"], [])
        return channel

    def conversation_members(self, channel: dict[str, Any]) -> list[str]:
        if channel.get("is_im"):
            return [self.bot_user_id, channel["user"]]
        return self.members.get(channel["id"], [])

    def add_user(self, user_id: str, name: str, **extra: Any) -> dict[str, Any]:
        user = {"id": user_id, "team_id": self.team_id, "name": name, "profile": {"real_name": name}, **extra}
        self.users[user_id] = user
        return user

    def add_message(self, channel: str, text: str, **fields: Any) -> dict[str, Any]:
        channel_id = self.channel(channel)["id"]
        message = {"type": "message", "text": text, "ts": fields.pop("ts", None) or self.next_ts(), **fields}
        thread_ts = message.get("thread_ts")
        if thread_ts and thread_ts != message["ts"]:
            parent = self.message(channel_id, thread_ts, error="thread_not_found")
            parent.setdefault("thread_ts", parent["ts"])
            parent["reply_count"] = parent.get("reply_count", 0) + 1
            parent["latest_reply"] = message["ts"]
        self.messages[channel_id].append(message)
        return message

    def channel(self, ref: str) -> dict[str, Any]:
        name = ref.lstrip("#")
        for channel in self.channels:
            if ref == channel["id"] or name == channel.get("name"):
                return channel
        raise SlackError("channel_not_found")

    def message(self, channel_id: str, ts: str, *, error: str = "message_not_found") -> dict[str, Any]:
        for message in self.messages.get(channel_id, []):
            if message["ts"] == ts:
                return message
        raise SlackError(error)

    def thread(self, channel: str, thread_ts: str) -> list[dict[str, Any]]:
        """Replies (not the parent) in one thread, oldest first."""
        channel_id = self.channel(channel)["id"]
        return [
            m for m in self.messages[channel_id] if m.get("thread_ts") == thread_ts and m["ts"] != thread_ts
        ]


Handler = Callable[[FakeSlackState, dict[str, Any], Call], dict[str, Any]]
DROP = 0  # Failure.status of a connection closed without an answer
CUT = -1  # Failure.status of an answer cut short: closed after part of its body


# ------------------------------------------------------------------------------------------ param helpers


def _require(params: dict[str, Any], *names: str) -> None:
    for name in names:
        if params.get(name) in (None, ""):
            raise SlackError("invalid_arguments", detail=f"missing {name}")


def _json_param(params: dict[str, Any], name: str) -> Any:
    value = params.get(name)
    if isinstance(value, str):
        try:
            return json.loads(value)
        except json.JSONDecodeError as exc:
            raise SlackError("invalid_arguments", detail=f"{name} is not JSON") from exc
    return value


def _flag(params: dict[str, Any], name: str, default: bool = False) -> bool:
    value = params.get(name)
    if value is None:
        return default
    return value in (True, 1, "1", "true", "True")


def _page(items: list[Any], params: dict[str, Any], default_limit: int = 100) -> tuple[list[Any], str]:
    limit = int(params.get("limit") or default_limit)
    cursor = str(params.get("cursor") or "")
    offset = int(cursor.removeprefix("next:")) if cursor.startswith("next:") else 0
    page = items[offset : offset + limit]
    next_cursor = f"next:{offset + limit}" if offset + limit < len(items) else ""
    return page, next_cursor


# ---------------------------------------------------------------------------------------------- handlers


def auth_test(state: FakeSlackState, params: dict[str, Any], call: Call) -> dict[str, Any]:
    return {
        "url": WORKSPACE_URL,
        "team": state.team,
        "user": "commhealth",
        "team_id": state.team_id,
        "user_id": state.bot_user_id,
        "bot_id": state.bot_id,
    }


def _check_blocks(text: Any, blocks: Any) -> None:
    if not text and not blocks:
        raise SlackError("no_text")
    if isinstance(text, str) and len(text) > 40000:
        raise SlackError("msg_too_long")
    if blocks is None:
        return
    if not isinstance(blocks, list) or len(blocks) > 50:
        raise SlackError("invalid_blocks", errors=["must be a list of at most 50 blocks"])
    for index, block in enumerate(blocks):
        kind = block.get("type")
        texts = [block["text"]] if isinstance(block.get("text"), dict) else []
        limit = 150 if kind == "header" else 3000
        if kind == "context":
            texts = block.get("elements", [])
            if not 1 <= len(texts) <= 10:
                raise SlackError("invalid_blocks", errors=[f"context block {index} needs 1-10 elements"])
        elif kind == "section" and not texts and not block.get("fields"):
            raise SlackError("invalid_blocks", errors=[f"section block {index} has no text"])
        for text_object in texts:
            if text_object.get("type") not in ("mrkdwn", "plain_text"):
                raise SlackError("invalid_blocks", errors=[f"block {index}: bad text type"])
            if not 1 <= len(text_object.get("text", "")) <= limit:
                raise SlackError("invalid_blocks", errors=[f"block {index}: text must be 1-{limit} chars"])


def chat_post_message(state: FakeSlackState, params: dict[str, Any], call: Call) -> dict[str, Any]:
    _require(params, "channel")
    channel = state.channel(str(params["channel"]))
    blocks = _json_param(params, "blocks")
    _check_blocks(params.get("text"), blocks)
    fields: dict[str, Any] = {
        "user": state.bot_user_id,
        "bot_id": state.bot_id,
        "team": state.team_id,
        "blocks": blocks,
        "unfurl_links": params.get("unfurl_links"),
        "unfurl_media": params.get("unfurl_media"),
    }
    if params.get("thread_ts"):
        fields["thread_ts"] = str(params["thread_ts"])
    message = state.add_message(channel["id"], str(params.get("text") or ""), **fields)
    return {"channel": channel["id"], "ts": message["ts"], "message": message}


def chat_get_permalink(state: FakeSlackState, params: dict[str, Any], call: Call) -> dict[str, Any]:
    _require(params, "channel", "message_ts")
    channel = state.channel(str(params["channel"]))
    message = state.message(channel["id"], str(params["message_ts"]))
    link = f"{WORKSPACE_URL}archives/{channel['id']}/p{message['ts'].replace('.', '')}"
    if message.get("thread_ts") and message["thread_ts"] != message["ts"]:
        link += f"?thread_ts={message['thread_ts']}&cid={channel['id']}"
    return {"channel": channel["id"], "permalink": link}


def _conversation_type(channel: dict[str, Any]) -> str:
    if channel.get("is_im"):
        return "im"
    if channel.get("is_mpim"):
        return "mpim"
    return "private_channel" if channel.get("is_private") else "public_channel"


def _listed(params: dict[str, Any], channels: list[dict[str, Any]]) -> dict[str, Any]:
    types = set(str(params.get("types") or "public_channel").split(","))
    exclude_archived = _flag(params, "exclude_archived")
    matching = [
        c
        for c in channels
        if _conversation_type(c) in types and not (exclude_archived and c.get("is_archived"))
    ]
    page, cursor = _page(matching, params)
    return {"channels": page, "response_metadata": {"next_cursor": cursor}}


def conversations_list(state: FakeSlackState, params: dict[str, Any], call: Call) -> dict[str, Any]:
    return _listed(params, state.channels)


def users_conversations(state: FakeSlackState, params: dict[str, Any], call: Call) -> dict[str, Any]:
    """The conversations the token's user (the bot user) is in; like Slack, without is_member."""
    mine = [
        {k: v for k, v in c.items() if k != "is_member"}
        for c in state.channels
        if c.get("is_member") or state.bot_user_id in state.conversation_members(c)
    ]
    return _listed(params, mine)


def conversations_members(state: FakeSlackState, params: dict[str, Any], call: Call) -> dict[str, Any]:
    _require(params, "channel")
    page, cursor = _page(state.conversation_members(state.channel(str(params["channel"]))), params)
    return {"members": page, "response_metadata": {"next_cursor": cursor}}


def conversations_history(state: FakeSlackState, params: dict[str, Any], call: Call) -> dict[str, Any]:
    _require(params, "channel")
    channel = state.channel(str(params["channel"]))
    inclusive = _flag(params, "inclusive")
    oldest = float(params.get("oldest") or 0)
    latest = float(params["latest"]) if params.get("latest") else float("inf")

    def within(ts: float) -> bool:
        return (oldest <= ts <= latest) if inclusive else (oldest < ts < latest)

    # Parents only, as Slack does; replies also sent to the channel (thread_broadcast) show up here too.
    parents = [
        m
        for m in state.messages[channel["id"]]
        if (m.get("thread_ts") in (None, m["ts"]) or m.get("subtype") == "thread_broadcast")
        and within(float(m["ts"]))
    ]
    parents.sort(key=lambda m: float(m["ts"]), reverse=True)
    page, cursor = _page(parents, params)
    return {"messages": page, "has_more": bool(cursor), "response_metadata": {"next_cursor": cursor}}


def conversations_replies(state: FakeSlackState, params: dict[str, Any], call: Call) -> dict[str, Any]:
    _require(params, "channel", "ts")
    channel = state.channel(str(params["channel"]))
    parent = state.message(channel["id"], str(params["ts"]), error="thread_not_found")
    replies = [parent, *state.thread(channel["id"], parent["ts"])]
    page, cursor = _page(replies, params, default_limit=1000)
    return {"messages": page, "has_more": bool(cursor), "response_metadata": {"next_cursor": cursor}}


def users_info(state: FakeSlackState, params: dict[str, Any], call: Call) -> dict[str, Any]:
    _require(params, "user")
    user = state.users.get(str(params["user"]))
    if user is None:
        raise SlackError("user_not_found")
    return {"user": user}


def files_get_upload_url_external(
    state: FakeSlackState, params: dict[str, Any], call: Call
) -> dict[str, Any]:
    _require(params, "filename", "length")
    file_id = state.next_id("F")
    state.files[file_id] = {
        "id": file_id,
        "name": str(params["filename"]),
        "length": int(params["length"]),
        "data": None,
        "completed": False,
        "shares": [],
    }
    return {"upload_url": f"{state.base_url}/upload/{file_id}", "file_id": file_id}


def files_complete_upload_external(
    state: FakeSlackState, params: dict[str, Any], call: Call
) -> dict[str, Any]:
    _require(params, "files")
    entries = _json_param(params, "files")
    channel = state.channel(str(params["channel_id"])) if params.get("channel_id") else None
    thread_ts = str(params["thread_ts"]) if params.get("thread_ts") else None
    if thread_ts and channel:
        state.message(channel["id"], thread_ts, error="thread_not_found")
    done = []
    for entry in entries:
        stored = state.files.get(entry.get("id"))
        if stored is None:
            raise SlackError("file_not_found")
        if stored["data"] is None:
            raise SlackError("file_upload_not_completed")
        stored.update(completed=True, title=entry.get("title") or stored["name"])
        info = {
            "id": stored["id"],
            "name": stored["name"],
            "title": stored["title"],
            "size": len(stored["data"]),
        }
        if channel:
            stored["shares"].append({"channel": channel["id"], "thread_ts": thread_ts})
            fields: dict[str, Any] = {"subtype": "file_share", "user": state.bot_user_id, "files": [info]}
            if thread_ts:
                fields["thread_ts"] = thread_ts
            state.add_message(channel["id"], str(params.get("initial_comment") or ""), **fields)
        done.append(info)
    return {"files": done}


HANDLERS: dict[str, Handler] = {
    "auth.test": auth_test,
    "chat.postMessage": chat_post_message,
    "chat.getPermalink": chat_get_permalink,
    "conversations.list": conversations_list,
    "users.conversations": users_conversations,
    "conversations.members": conversations_members,
    "conversations.history": conversations_history,
    "conversations.replies": conversations_replies,
    "users.info": users_info,
    "files.getUploadURLExternal": files_get_upload_url_external,
    "files.completeUploadExternal": files_complete_upload_external,
}

_UPLOAD_PATH = re.compile(r"^/upload/(?P<file_id>[A-Z0-9]+)$")
_API_PATH = re.compile(r"^/api/(?P<method>[A-Za-z0-9_.]+)$")


# ---------------------------------------------------------------------------------------------- the server


class _RequestHandler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        pass  # keep test output quiet

    def do_GET(self) -> None:
        """slack_sdk's sync client always POSTs; a GET is recorded and refused."""
        parts = urlsplit(self.path)
        method = parts.path.removeprefix("/api/")
        headers = {k.lower(): v for k, v in self.headers.items()}
        call = Call(method, dict(parse_qsl(parts.query)), headers, b"", time.monotonic(), "GET", 405)
        with self.server.fake.state.lock:
            self.server.fake.state.calls.append(call)
        self._send(405, {"ok": False, "error": "method_not_allowed"})

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        parts = urlsplit(self.path)
        fake = self.server.fake
        headers = {k.lower(): v for k, v in self.headers.items()}
        if match := _UPLOAD_PATH.match(parts.path):
            status, response = fake.receive_upload(match["file_id"], body, headers)
            self._send(status, response)
            return
        match = _API_PATH.match(parts.path)
        if match is None:
            self._send(404, {"ok": False, "error": "unknown_method"})
            return
        params = dict(parse_qsl(parts.query))
        content_type = headers.get("content-type", "")
        try:
            if "application/json" in content_type:
                params.update(json.loads(body or b"{}"))
            elif body:
                params.update(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
        except (ValueError, UnicodeDecodeError):
            self._send(200, {"ok": False, "error": "invalid_json"})
            return
        call = Call(method=match["method"], params=params, headers=headers, body=body, at=time.monotonic())
        status, response, extra_headers = fake.dispatch(call)
        if status == DROP:
            self.close_connection = True
            return
        if status == CUT:
            self.close_connection = True
            self.send_response(200)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", "100")
            self.end_headers()
            self.wfile.write(b'{"ok": tr')
            return
        self._send(status, response, extra_headers)

    def _send(
        self, status: int, response: dict[str, Any] | str, headers: dict[str, str] | None = None
    ) -> None:
        if isinstance(response, str):
            payload, content_type = response.encode("utf-8"), "text/plain; charset=utf-8"
        else:
            payload, content_type = json.dumps(response).encode("utf-8"), "application/json; charset=utf-8"
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    fake: FakeSlackAPI


class FakeSlackAPI:
    """The fake server: a context manager; ``url`` is the ``base_url`` for ``WebClient``."""

    def __init__(self, *, tokens: set[str] | None = None, handlers: dict[str, Handler] | None = None) -> None:
        self.state = FakeSlackState(tokens=tokens)
        self.handlers: dict[str, Handler] = {**HANDLERS, **(handlers or {})}
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # --- lifecycle

    def start(self) -> Self:
        server = _Server(("127.0.0.1", 0), _RequestHandler)
        server.fake = self
        self._server = server
        self.state.base_url = f"http://127.0.0.1:{server.server_address[1]}"
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="fake-slack", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def url(self) -> str:
        return self.state.base_url + "/api/"

    # --- scripting failures

    def fail(
        self,
        method: str,
        *,
        status: int = 200,
        body: dict[str, Any] | str | None = None,
        headers: dict[str, str] | None = None,
        times: int | None = 1,
        when: Callable[[Call], bool] | None = None,
    ) -> None:
        """The next ``times`` calls of ``method`` (None: all of them) get this answer instead.

        ``when`` narrows it to the calls it accepts (``when(call)`` sees ``call.params``); others pass.
        """
        failure = Failure(
            status=status, body=body if body is not None else {"ok": False}, headers=headers or {}, when=when
        )
        failure.times = times
        with self.state.lock:
            self.state.failures.setdefault(method, deque()).append(failure)

    def rate_limit(
        self,
        method: str,
        *,
        retry_after: int = 1,
        times: int | None = 1,
        when: Callable[[Call], bool] | None = None,
    ) -> None:
        body = {"ok": False, "error": "ratelimited"}
        headers = {"Retry-After": str(retry_after)}
        self.fail(method, status=429, body=body, headers=headers, times=times, when=when)

    def server_error(
        self,
        method: str,
        *,
        status: int = 500,
        times: int | None = 1,
        when: Callable[[Call], bool] | None = None,
    ) -> None:
        self.fail(method, status=status, body="Internal Server Error", times=times, when=when)

    def api_error(
        self, method: str, error: str, *, times: int | None = 1, when: Callable[[Call], bool] | None = None
    ) -> None:
        self.fail(method, body={"ok": False, "error": error}, times=times, when=when)

    def drop_connection(
        self, method: str, *, times: int | None = 1, when: Callable[[Call], bool] | None = None
    ) -> None:
        """The next ``times`` calls of ``method`` find their connection closed without an answer."""
        self.fail(method, status=DROP, body="", times=times, when=when)

    def cut_answer(
        self, method: str, *, times: int | None = 1, when: Callable[[Call], bool] | None = None
    ) -> None:
        """The next ``times`` calls of ``method`` get an answer whose connection closes in its middle."""
        self.fail(method, status=CUT, body="", times=times, when=when)

    def clear_failures(self) -> None:
        """Forget every scripted failure not used up yet."""
        with self.state.lock:
            self.state.failures.clear()

    # --- inspection

    def calls(self, method: str | None = None) -> list[Call]:
        with self.state.lock:
            return [c for c in self.state.calls if method is None or c.method == method]

    def posted(self, channel: str) -> list[dict[str, Any]]:
        """Messages in ``channel`` (ID or name), in posting order, thread replies included."""
        with self.state.lock:
            return list(self.state.messages[self.state.channel(channel)["id"]])

    # --- request handling (called from server threads)

    def dispatch(self, call: Call) -> tuple[int, dict[str, Any] | str, dict[str, str]]:
        with self.state.lock:
            self.state.calls.append(call)
            queue = self.state.failures.get(call.method)
            failure = next((f for f in queue or () if f.when is None or f.when(call)), None)
            if failure is not None:
                if failure.times is not None:
                    failure.times -= 1
                    if failure.times <= 0:
                        queue.remove(failure)
                call.status = failure.status
                call.response = failure.body if isinstance(failure.body, dict) else None
                return failure.status, failure.body, failure.headers
            response = self._answer(call)
            call.status, call.response = 200, response
            return 200, response, {}

    def _answer(self, call: Call) -> dict[str, Any]:
        token = call.token
        if not token:
            return {"ok": False, "error": "not_authed"}
        if self.state.tokens is not None and token not in self.state.tokens:
            return {"ok": False, "error": "invalid_auth"}
        handler = self.handlers.get(call.method)
        if handler is None:
            return {"ok": False, "error": "unknown_method"}
        try:
            return {"ok": True, **handler(self.state, call.params, call)}
        except SlackError as exc:
            return {"ok": False, "error": exc.error, **exc.extra}

    def receive_upload(self, file_id: str, body: bytes, headers: dict[str, str]) -> tuple[int, str]:
        with self.state.lock:
            call = Call(
                method="upload", params={"file_id": file_id}, headers=headers, body=body, at=time.monotonic()
            )
            self.state.calls.append(call)
            stored = self.state.files.get(file_id)
            if stored is None:
                call.status = 404
                return 404, "not found"
            stored["data"] = body
            call.status = 200
            return 200, f"OK - {len(body)}"


@pytest.fixture
def fake_slack() -> Iterator[FakeSlackAPI]:
    """A running fake with ``#vendor-health`` (public) and ``#vendor-kappa`` (private) channels."""
    with FakeSlackAPI() as fake:
        fake.state.add_channel("vendor-health", "C0HEALTH01")
        fake.state.add_channel("vendor-kappa", "G0KAPPA001", is_private=True)
        yield fake

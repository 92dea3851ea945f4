"""A fake Microsoft identity platform + Microsoft Graph mail and Teams export APIs on 127.0.0.1 (HTTPS).

msal only accepts ``https://`` authorities, so the fake serves TLS with a self-signed certificate made by
:func:`make_tls_files`; point ``SSL_CERT_FILE`` (httpx) and ``REQUESTS_CA_BUNDLE`` (requests, used by msal) at
it. One server answers both sides:

- Authority: ``GET /{tenant}/v2.0/.well-known/openid-configuration`` and ``POST /{tenant}/oauth2/v2.0/token``
  (client-credentials grant; a wrong client secret gets ``401 {"error": "invalid_client", ...}``, an unknown
  client id ``400 unauthorized_client``, an unknown tenant ``400``).
- Graph (``/v1.0``): ``GET /users/{mailbox}/mailFolders/{folder}/messages/delta`` (``$select``,
  ``Prefer: odata.maxpagesize``, ``$skiptoken`` nextLinks, a final ``$deltatoken`` deltaLink whose token encodes
  the change position) and ``GET /users/{mailbox}/messages/{id}/$value`` (the MIME, ``text/plain``).
- Teams export (``/v1.0``): ``GET /users/{user}/chats/getAllMessages`` (call kind ``teams_chats``) and
  ``GET /teams/{team}/channels/getAllMessages`` (kind ``teams_channels``), answering real v1.0 ``chatMessage``
  JSON (see below).

Every Graph call needs ``Authorization: Bearer <a token this fake issued>``; then a resource refused with
:meth:`FakeGraph.deny` answers ``403`` (Teams: ``{"error": {"code": "Forbidden", ...}}``; mail:
``ErrorAccessDenied``).

Usage::

    with FakeGraph() as graph:
        graph.add_mailbox("achats@norelec.fr", "inbox", "sentitems")
        msg_id = graph.add_message("achats@norelec.fr", "inbox", mime_bytes)
        graph.fail("delta", 429, retry_after=1)       # the next delta call answers 429 once
        graph.expire_sync_state()                     # links handed out so far answer 410 SyncStateNotFound
        ...
        assert [c.status for c in graph.calls("delta")] == [429, 200]

Changes are numbered: each add, update or removal gets the next sequence number. A round started at position
``upto`` lists what changed in ``(since, upto]`` (everything present for a first round), page by page; its
deltaLink carries ``upto``, the ``since`` of the next round. Tests add messages between runs.

Teams side. Seed chats, teams and messages, then export them::

    graph.add_chat("19:abc@thread.v2", ["alice-oid", "bob-oid"])
    graph.add_team("team-guid", "19:general@thread.tacv2", "19:ops@thread.tacv2")
    mid = graph.add_chat_message("19:abc@thread.v2", sender_id="alice-oid", sender_name="Alice",
                                 tenant_id=TENANT_ID, html="<p>hi</p>", created=when)
    root = graph.add_channel_message("team-guid", "19:general@thread.tacv2", subject="Order 42", ...)
    graph.add_channel_message("team-guid", "19:general@thread.tacv2", reply_to=root, ...)
    graph.edit_message(mid, "<p>hi!</p>", later)      # lastEditedDateTime = lastModifiedDateTime = later
    graph.delete_message(mid, later)                  # deletedDateTime = lastModifiedDateTime, body emptied
    graph.fail("teams_chats", 429, retry_after=2)     # fail/hold/calls work for teams_chats, teams_channels
    graph.deny("users/bob-oid")                       # 403 Forbidden for every /v1.0/users/bob-oid/... call
    graph.expire_skiptokens()                         # nextLinks handed out so far answer 400 BadRequest

- A user's call lists every message of every chat the user is a member of, so a message of a chat with
  several members comes back in each member's export (consumers dedupe on chatId + id). A team's call lists
  the messages of all its channels, roots and replies (``replyToId`` set). Unknown user or team: ``404
  NotFound``; a user known from no chat can be declared with :meth:`FakeGraph.add_user`.
- Query: ``$top`` (default 20, 1..50, else ``400 BadRequest``), ``$filter`` on ``lastModifiedDateTime``
  with ``gt``/``ge`` and/or ``lt``/``le`` joined by ``and`` (anything else: ``400 BadRequest``), ``model``
  (``A``/``B``, kept in nextLinks). Items come ordered by (lastModifiedDateTime, id). A page answers
  ``{"@odata.context", "@odata.count": <items in the page>, "value", "@odata.nextLink"}``; the last page has
  no nextLink (and there is never a deltaLink).
- The ``$skiptoken`` is opaque (base64url JSON) and self-contained: it encodes the resource, the filter
  window, the page size and the position (the (lastModifiedDateTime, id) of the last item handed out), so a
  nextLink can be followed later or by a new client; it ignores any other query parameter sent with it.
  Following a page boundary by position (not by offset) means a message edited after it was listed, into the
  window, comes back on a later page, as with Graph. A malformed or foreign token answers ``400 BadRequest``
  "Invalid continuation token"; :meth:`FakeGraph.expire_skiptokens` makes every token handed out before it
  answer the same (Graph documents no expiry, but refuses stale continuation tokens with that 400), or
  whatever status and code the test picks. It does not touch the mail delta links, and
  :meth:`FakeGraph.expire_sync_state` does not touch skiptokens.
- Message ids are numeric strings (the creation time in epoch milliseconds, bumped to stay unique across the
  whole fake), ``etag`` is the lastModifiedDateTime in epoch milliseconds, timestamps are ISO 8601 UTC with
  milliseconds (``2024-03-05T09:10:11.123Z``); datetimes given without a timezone are taken as UTC.
"""

from __future__ import annotations

import base64
import datetime as dt
import ipaddress
import json
import re
import ssl
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from email.parser import BytesHeaderParser
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any, Self
from urllib.parse import parse_qsl, quote, unquote, urlsplit

TENANT_ID = "11111111-2222-3333-4444-555555555555"
CLIENT_ID = "66666666-7777-8888-9999-000000000000"
CLIENT_SECRET = "fake~Graph~Secret~Value~0123456789abcdef"
SCOPE = "https://graph.microsoft.com/.default"
DEFAULT_PAGE_SIZE = 10
TEAMS_PAGE_SIZE = 20  # $top default of the Teams export APIs
TEAMS_MAX_PAGE_SIZE = 50
TEAMS_KINDS = ("teams_chats", "teams_channels")
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def make_tls_files(directory: Path) -> tuple[Path, Path]:
    """A self-signed certificate (also usable as the CA bundle) for 127.0.0.1 and localhost; (cert, key)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "commhealth fake graph")])
    now = dt.datetime.now(dt.UTC)
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=2))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(ski, critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski), critical=False)
        .sign(key, hashes.SHA256())
    )
    directory.mkdir(parents=True, exist_ok=True)
    cert_path, key_path = directory / "fake-graph.crt", directory / "fake-graph.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return cert_path, key_path


@dataclass
class Call:
    """One HTTP request the fake received (failed and scripted answers included)."""

    kind: str  # openid, token, delta, mime, teams_chats, teams_channels, user, other
    method: str
    path: str  # percent-decoded, without the query
    query: dict[str, str]
    headers: dict[str, str]  # lower-case names
    body: bytes
    at: float  # time.monotonic() on arrival
    mailbox: str | None = None
    folder: str | None = None
    message_id: str | None = None
    status: int = 0
    user: str | None = None  # teams_chats, user: the user of the path, lower-cased
    team: str | None = None  # teams_channels: the team of the path, lower-cased

    @property
    def token(self) -> str | None:
        auth = self.headers.get("authorization", "")
        return auth[7:] if auth.lower().startswith("bearer ") else None


@dataclass
class Failure:
    status: int
    body: dict[str, Any] | str
    headers: dict[str, str] = field(default_factory=dict)
    times: int | None = 1  # None: every call from now on


@dataclass
class FakeMessage:
    id: str
    mailbox: str
    folder: str
    mime: bytes
    seq: int
    removed: bool = False
    mime_gone: bool = False

    @property
    def headers(self) -> dict[str, str]:
        parsed = BytesHeaderParser().parsebytes(self.mime)
        return {k.lower(): str(v) for k, v in parsed.items()}


@dataclass
class FakeTeam:
    id: str
    channels: list[str] = field(default_factory=list)


@dataclass
class FakeChatMessage:
    """One Teams message, of a chat (``chat_id``) or of a team's channel (``team_id`` + ``channel_id``)."""

    id: str
    created: dt.datetime  # UTC, millisecond precision
    last_modified: dt.datetime
    html: str
    message_type: str = "message"  # message, systemEventMessage, ...
    chat_id: str | None = None
    team_id: str | None = None
    channel_id: str | None = None
    reply_to: str | None = None
    subject: str | None = None
    sender_id: str | None = None
    sender_name: str | None = None
    tenant_id: str | None = None
    identity_type: str = "aadUser"
    application: dict[str, Any] | None = None  # from.application, for bot/connector/webhook messages
    attachments: list[dict[str, Any]] = field(default_factory=list)
    mentions: list[dict[str, Any]] = field(default_factory=list)
    last_edited: dt.datetime | None = None
    deleted: dt.datetime | None = None

    @property
    def order(self) -> tuple[int, str]:
        """The export order (and skiptoken position): lastModifiedDateTime in microseconds, then id."""
        return _micros(self.last_modified), self.id

    def to_json(self) -> dict[str, Any]:
        """The v1.0 ``chatMessage`` as the export APIs return it."""
        user = None
        if self.application is None and self.sender_id is not None:
            user = {
                "@odata.type": "#microsoft.graph.teamworkUserIdentity",
                "id": self.sender_id,
                "displayName": self.sender_name,
                "userIdentityType": self.identity_type,
                "tenantId": self.tenant_id,
            }
        sender: dict[str, Any] | None = {"application": self.application, "device": None, "user": user}
        event_detail = None
        if self.message_type == "systemEventMessage":
            event_detail = {
                "@odata.type": "#microsoft.graph.membersAddedEventMessageDetail",
                "visibleHistoryStartDateTime": "0001-01-01T00:00:00Z",
                "members": [
                    {
                        "id": self.sender_id,
                        "displayName": None,
                        "userIdentityType": self.identity_type,
                        "tenantId": self.tenant_id,
                    }
                ],
                "initiator": sender,
            }
            sender = None
        if self.chat_id is not None:
            web_url = (
                f"https://teams.microsoft.com/l/message/{quote(self.chat_id, safe='')}/{self.id}"
                "?context=%7B%22contextType%22%3A%22chat%22%7D"
            )
            channel = None
        else:
            web_url = (
                f"https://teams.microsoft.com/l/message/{quote(self.channel_id or '', safe='')}/{self.id}"
                f"?groupId={self.team_id}&tenantId={self.tenant_id}&createdTime={_millis(self.created)}"
                f"&parentMessageId={self.reply_to or self.id}"
            )
            channel = {"teamId": self.team_id, "channelId": self.channel_id}
        deleted = self.deleted is not None
        return {
            "id": self.id,
            "replyToId": self.reply_to,
            "etag": str(_millis(self.last_modified)),
            "messageType": self.message_type,
            "createdDateTime": _iso(self.created),
            "lastModifiedDateTime": _iso(self.last_modified),
            "lastEditedDateTime": _iso(self.last_edited),
            "deletedDateTime": _iso(self.deleted),
            "subject": self.subject,
            "summary": None,
            "chatId": self.chat_id,
            "importance": "normal",
            "locale": "en-us",
            "webUrl": web_url,
            "channelIdentity": channel,
            "policyViolation": None,
            "eventDetail": event_detail,
            "from": sender,
            "body": {"contentType": "html", "content": "" if deleted else self.html},
            "attachments": [] if deleted else [dict(a) for a in self.attachments],
            "mentions": [] if deleted else [dict(m) for m in self.mentions],
            "reactions": [],
        }


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Clients killed mid-request (the resume test) leave broken sockets behind; that is expected here.
        return None


class FakeGraph:
    """The fake's state and server; a context manager (or call start/stop)."""

    def __init__(
        self,
        tls: tuple[Path, Path],
        *,
        tenant_id: str = TENANT_ID,
        client_id: str = CLIENT_ID,
        client_secret: str = CLIENT_SECRET,
    ) -> None:
        self.tenant_id = tenant_id
        self.client_id = client_id
        self.client_secret = client_secret
        self.lock = threading.RLock()
        self.mailboxes: dict[str, dict[str, list[FakeMessage]]] = {}
        self.tokens: set[str] = set()
        self.generation = 1
        self.expired_answer: tuple[int, str] = (410, "SyncStateNotFound")
        self.failures: dict[str, deque[Failure]] = {}
        self._calls: list[Call] = []
        self._seq = 0
        self._ids = 0
        self._hold: tuple[str, int] | None = None
        self.held = threading.Event()
        # Teams export side
        self.teams_users: set[str] = set()  # lower-cased user ids known to the fake
        self.directory: dict[str, dict[str, Any]] = {}  # lower-cased user id -> its /users/{id} entry
        self.chats: dict[str, set[str]] = {}  # chat id -> lower-cased member ids
        self.teams: dict[str, FakeTeam] = {}  # lower-cased team id -> team
        self.chat_messages: dict[str, FakeChatMessage] = {}  # message id -> message (chats and channels)
        self.skiptoken_generation = 1
        self.skiptoken_expired_answer: tuple[int, str, str] = (
            400,
            "BadRequest",
            "Invalid continuation token",
        )
        self.denied: dict[tuple[str, ...], tuple[str | None, str | None]] = {}
        self._release = threading.Event()
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(str(tls[0]), str(tls[1]))
        self._server = _Server(("127.0.0.1", 0), _handler_for(self))
        self._server.socket = context.wrap_socket(self._server.socket, server_side=True)
        self.url = f"https://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="fake-graph", daemon=True
        )

    # --- lifecycle

    @property
    def authority(self) -> str:
        return self.url

    @property
    def api_url(self) -> str:
        return f"{self.url}/v1.0"

    def start(self) -> Self:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._release.set()
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # --- seeding

    def _next_seq(self) -> int:
        self._seq += 1
        return self._seq

    def add_mailbox(self, mailbox: str, *folders: str) -> None:
        with self.lock:
            box = self.mailboxes.setdefault(mailbox.lower(), {})
            for folder in folders or ("inbox", "sentitems"):
                box.setdefault(folder.lower(), [])

    def add_message(self, mailbox: str, folder: str, mime: bytes, message_id: str | None = None) -> str:
        """Store a message (its MIME as Graph would return it); returns its Graph id."""
        with self.lock:
            self.add_mailbox(mailbox, folder)
            self._ids += 1
            graph_id = message_id or f"AAMkAGFha2U{self._ids:06d}-BGAAA_x="
            message = FakeMessage(graph_id, mailbox.lower(), folder.lower(), mime, self._next_seq())
            self.mailboxes[mailbox.lower()][folder.lower()].append(message)
            return graph_id

    def message(self, graph_id: str) -> FakeMessage:
        with self.lock:
            for box in self.mailboxes.values():
                for messages in box.values():
                    for message in messages:
                        if message.id == graph_id:
                            return message
        raise KeyError(graph_id)

    def update_message(self, graph_id: str) -> None:
        """A change Graph reports as an update (e.g. the read flag)."""
        with self.lock:
            self.message(graph_id).seq = self._next_seq()

    def remove_message(self, graph_id: str) -> None:
        with self.lock:
            message = self.message(graph_id)
            message.removed, message.seq = True, self._next_seq()

    def lose_mime(self, graph_id: str) -> None:
        """The delta query still lists the message, but reading its MIME answers 404 (deleted in between)."""
        with self.lock:
            self.message(graph_id).mime_gone = True

    def expire_sync_state(self, status: int = 410, code: str = "SyncStateNotFound") -> None:
        """Every nextLink and deltaLink handed out so far is refused with this status and error code."""
        with self.lock:
            self.generation += 1
            self.expired_answer = (status, code)

    # --- Teams seeding

    def add_user(self, user_id: str) -> None:
        """A user the Teams export knows (200 with no messages until a chat includes them)."""
        with self.lock:
            self.teams_users.add(user_id.lower())

    def add_directory_user(self, user_id: str, *, mail: str | None, upn: str | None = None) -> None:
        """A user of the tenant's directory, as ``GET /users/{id}`` shows it (``mail``, ``userPrincipalName``);
        a guest's mail is their own address, their UPN ``name_domain#EXT#@tenant``. Users of other tenants
        (federated) are not in it: 404."""
        with self.lock:
            self.directory[user_id.lower()] = {
                "id": user_id,
                "mail": mail,
                "userPrincipalName": upn or mail or f"{user_id}@fake.onmicrosoft.com",
            }

    def add_chat(self, chat_id: str, member_ids: list[str]) -> None:
        """A chat (one-on-one, group or meeting) and its members; again for the same chat adds members."""
        with self.lock:
            members = {m.lower() for m in member_ids}
            self.chats.setdefault(chat_id, set()).update(members)
            self.teams_users.update(members)

    def add_team(self, team_id: str, *channel_ids: str) -> None:
        """A team and its channels; again for the same team adds channels."""
        with self.lock:
            team = self.teams.setdefault(team_id.lower(), FakeTeam(team_id))
            team.channels.extend(c for c in channel_ids if c not in team.channels)

    def add_chat_message(
        self,
        chat_id: str,
        *,
        sender_id: str,
        sender_name: str | None,
        tenant_id: str | None = None,
        html: str,
        created: dt.datetime,
        identity_type: str = "aadUser",
        message_id: str | None = None,
        attachments: list[dict[str, Any]] | None = None,
        message_type: str = "message",
        mentions: list[dict[str, Any]] | None = None,
    ) -> str:
        """A message of a chat added with :meth:`add_chat`; returns its id (lastModifiedDateTime = created)."""
        with self.lock:
            if chat_id not in self.chats:
                raise KeyError(f"unknown chat {chat_id!r}: add_chat first")
            return self._store_teams_message(
                created,
                message_id,
                chat_id=chat_id,
                html=html,
                message_type=message_type,
                sender_id=sender_id,
                sender_name=sender_name,
                tenant_id=tenant_id or self.tenant_id,
                identity_type=identity_type,
                attachments=list(attachments or []),
                mentions=list(mentions or []),
            )

    def add_channel_message(
        self,
        team_id: str,
        channel_id: str,
        *,
        sender_id: str,
        sender_name: str | None,
        tenant_id: str | None = None,
        html: str,
        created: dt.datetime,
        reply_to: str | None = None,
        subject: str | None = None,
        identity_type: str = "aadUser",
        message_id: str | None = None,
        attachments: list[dict[str, Any]] | None = None,
        message_type: str = "message",
        mentions: list[dict[str, Any]] | None = None,
    ) -> str:
        """A root message of a channel, or a reply to one (``reply_to``: the root's id); returns its id."""
        with self.lock:
            team = self._channel(team_id, channel_id, reply_to)
            return self._store_teams_message(
                created,
                message_id,
                team_id=team.id,
                channel_id=channel_id,
                reply_to=reply_to,
                subject=subject,
                html=html,
                message_type=message_type,
                sender_id=sender_id,
                sender_name=sender_name,
                tenant_id=tenant_id or self.tenant_id,
                identity_type=identity_type,
                attachments=list(attachments or []),
                mentions=list(mentions or []),
            )

    def add_application_message(
        self,
        *,
        app_id: str,
        app_name: str,
        html: str,
        created: dt.datetime,
        chat_id: str | None = None,
        team_id: str | None = None,
        channel_id: str | None = None,
        reply_to: str | None = None,
        subject: str | None = None,
        application_type: str = "bot",
        message_id: str | None = None,
        attachments: list[dict[str, Any]] | None = None,
    ) -> str:
        """A message sent by an app (bot, connector, webhook: ``from.user`` null), in a chat or a channel."""
        application = {
            "@odata.type": "#microsoft.graph.teamworkApplicationIdentity",
            "id": app_id,
            "displayName": app_name,
            "applicationIdentityType": application_type,
        }
        with self.lock:
            where: dict[str, Any]
            if chat_id is not None:
                if chat_id not in self.chats:
                    raise KeyError(f"unknown chat {chat_id!r}: add_chat first")
                where = {"chat_id": chat_id}
            else:
                if team_id is None or channel_id is None:
                    raise ValueError("give chat_id, or team_id and channel_id")
                team = self._channel(team_id, channel_id, reply_to)
                where = {"team_id": team.id, "channel_id": channel_id, "reply_to": reply_to}
            return self._store_teams_message(
                created,
                message_id,
                html=html,
                subject=subject,
                application=application,
                attachments=list(attachments or []),
                **where,
            )

    def teams_message(self, message_id: str) -> FakeChatMessage:
        with self.lock:
            return self.chat_messages[message_id]

    def edit_message(self, message_id: str, html: str, when: dt.datetime) -> None:
        """The sender edited the message: new body; lastEditedDateTime = lastModifiedDateTime = ``when``."""
        with self.lock:
            message = self.chat_messages[message_id]
            message.html = html
            message.last_edited = message.last_modified = _utc_millis(when)

    def delete_message(self, message_id: str, when: dt.datetime) -> None:
        """Soft delete, as Graph shows it: deletedDateTime = lastModifiedDateTime = ``when``, empty body."""
        with self.lock:
            message = self.chat_messages[message_id]
            message.deleted = message.last_modified = _utc_millis(when)

    def expire_skiptokens(
        self, status: int = 400, code: str = "BadRequest", message: str = "Invalid continuation token"
    ) -> None:
        """Every Teams export nextLink handed out so far answers this error (the mail delta links are not
        touched). Graph's default answer to a stale continuation token is ``400 BadRequest``."""
        with self.lock:
            self.skiptoken_generation += 1
            self.skiptoken_expired_answer = (status, code, message)

    def deny(self, resource: str, *, code: str | None = None, message: str | None = None) -> None:
        """Graph calls under ``/v1.0/<resource>`` (e.g. ``users/bob-oid``, ``teams/<team id>``; whole path
        segments, case-insensitive) answer ``403`` with Graph's error JSON, after the token check. Default
        code: ``Forbidden`` for the Teams kinds, ``ErrorAccessDenied`` for mail."""
        with self.lock:
            self.denied[_resource_key(resource)] = (code, message)

    def allow(self, resource: str) -> None:
        """Undo :meth:`deny` for that resource."""
        with self.lock:
            self.denied.pop(_resource_key(resource), None)

    def _channel(self, team_id: str, channel_id: str, reply_to: str | None) -> FakeTeam:
        team = self.teams.get(team_id.lower())
        if team is None or channel_id not in team.channels:
            raise KeyError(f"unknown team/channel {team_id!r}/{channel_id!r}: add_team first")
        if reply_to is not None:
            root = self.chat_messages.get(reply_to)
            if root is None or root.channel_id != channel_id or root.team_id != team.id or root.reply_to:
                raise KeyError(f"{reply_to!r} is no root message of {team_id!r}/{channel_id!r}")
        return team

    def _store_teams_message(self, created: dt.datetime, message_id: str | None, **fields: Any) -> str:
        created = _utc_millis(created)
        if message_id is None:
            number = _millis(created)
            while str(number) in self.chat_messages:
                number += 1
            message_id = str(number)
        elif message_id in self.chat_messages:
            raise ValueError(f"message id {message_id!r} already used")
        self.chat_messages[message_id] = FakeChatMessage(message_id, created, created, **fields)
        return message_id

    def revoke_tokens(self) -> None:
        """Access tokens issued so far answer 401 (as if they had expired)."""
        with self.lock:
            self.tokens.clear()

    def fail(
        self,
        kind: str,
        status: int,
        *,
        times: int | None = 1,
        retry_after: float | str | None = None,
        code: str | None = None,
    ) -> None:
        """The next ``times`` calls of ``kind`` (delta, mime, teams_chats, teams_channels, token, openid) get
        this answer instead (Graph's error JSON; ``retry_after`` sets the ``Retry-After`` header)."""
        body: dict[str, Any] = {"error": {"code": code or f"http{status}", "message": "scripted failure"}}
        if kind == "token":
            body = {"error": code or "temporarily_unavailable", "error_description": "scripted failure"}
        headers = {} if retry_after is None else {"Retry-After": str(retry_after)}
        with self.lock:
            self.failures.setdefault(kind, deque()).append(Failure(status, body, headers, times))

    def hold(self, kind: str, nth: int = 1) -> None:
        """The ``nth`` next call of ``kind`` waits (``held`` is set) until :meth:`release`; to kill a client."""
        with self.lock:
            already = len(self.calls(kind))
            self._hold = (kind, already + nth)
            self.held.clear()
            self._release.clear()

    def release(self) -> None:
        self._release.set()

    # --- inspection

    def calls(self, kind: str | None = None) -> list[Call]:
        with self.lock:
            return [c for c in self._calls if kind is None or c.kind == kind]

    def clear_calls(self) -> None:
        with self.lock:
            self._calls.clear()

    def mime_ids(self) -> list[str]:
        """Graph ids whose MIME was served (200), in order."""
        return [c.message_id or "" for c in self.calls("mime") if c.status == 200]

    # --- answers (called from handler threads, under the lock)

    def _record(self, call: Call) -> None:
        with self.lock:
            self._calls.append(call)
            hold = self._hold
            if hold and hold[0] == call.kind and len(self.calls(call.kind)) == hold[1]:
                self._hold = None
            else:
                return
        self.held.set()
        self._release.wait(timeout=60)

    def _scripted(self, kind: str) -> Failure | None:
        with self.lock:
            queue = self.failures.get(kind)
            if not queue:
                return None
            failure = queue[0]
            if failure.times is not None:
                failure.times -= 1
                if failure.times <= 0:
                    queue.popleft()
            return failure

    def openid_configuration(self, tenant: str) -> tuple[int, Any]:
        if tenant != self.tenant_id:
            return 400, {
                "error": "invalid_tenant",
                "error_description": f"AADSTS90002: Tenant '{tenant}' not found.",
            }
        base = f"{self.url}/{tenant}"
        return 200, {
            "token_endpoint": f"{base}/oauth2/v2.0/token",
            "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
            "issuer": f"{base}/v2.0",
            "jwks_uri": f"{base}/discovery/v2.0/keys",
            "response_types_supported": ["code", "id_token", "token"],
            "token_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic"],
        }

    def token(self, tenant: str, form: dict[str, str], headers: dict[str, str]) -> tuple[int, Any]:
        if tenant != self.tenant_id:
            return 400, {"error": "invalid_request", "error_description": "AADSTS90002: Tenant not found."}
        client_id, secret = form.get("client_id"), form.get("client_secret")
        auth = headers.get("authorization", "")
        if auth.lower().startswith("basic "):
            basic_id, _, basic_secret = base64.b64decode(auth[6:]).decode().partition(":")
            client_id, secret = client_id or unquote(basic_id), secret or unquote(basic_secret)
        if form.get("grant_type") != "client_credentials" or SCOPE not in form.get("scope", "").split():
            return 400, {"error": "invalid_request", "error_description": "AADSTS900144: bad grant or scope."}
        if client_id != self.client_id:
            return 400, {
                "error": "unauthorized_client",
                "error_description": f"AADSTS700016: Application with identifier '{client_id}' was not found.",
                "error_codes": [700016],
            }
        if secret != self.client_secret:
            return 401, {
                "error": "invalid_client",
                "error_description": "AADSTS7000215: Invalid client secret provided.",
                "error_codes": [7000215],
            }
        with self.lock:
            access_token = f"fake-at-{len(self.tokens) + 1}-{time.monotonic_ns()}"
            self.tokens.add(access_token)
        return 200, {
            "token_type": "Bearer",
            "expires_in": 3599,
            "ext_expires_in": 3599,
            "access_token": access_token,
        }

    def delta(self, call: Call) -> tuple[int, Any, dict[str, str]]:
        mailbox, folder = call.mailbox or "", call.folder or ""
        with self.lock:
            box = self.mailboxes.get(mailbox)
            if box is None:
                return 404, _error("ErrorInvalidUser", f"The requested user '{mailbox}' is invalid."), {}
            if folder not in box:
                return (
                    404,
                    _error("ErrorItemNotFound", "The specified object was not found in the store."),
                    {},
                )
            page_size = _page_size(call.headers.get("prefer", ""))
            skip, delta = call.query.get("$skiptoken"), call.query.get("$deltatoken")
            try:
                if skip:
                    generation, since, upto, offset = (int(p) for p in skip.split("."))
                elif delta:
                    generation, since = (int(p) for p in delta.split("."))
                    upto, offset = self._seq, 0
                else:
                    generation, since, upto, offset = self.generation, 0, self._seq, 0
            except ValueError:
                return 400, _error("ErrorInvalidUrlQuery", "Malformed token."), {}
            if generation != self.generation:
                status, code = self.expired_answer
                return status, _error(code, "The sync state generation is not found."), {}
            changed = sorted(
                (m for m in box[folder] if since < m.seq <= upto and not (since == 0 and m.removed)),
                key=lambda m: (m.seq, m.id),
            )
            page = changed[offset : offset + page_size]
            select = call.query.get("$select")
            value = [_entry(m, select) for m in page]
            api_url = f"https://{call.headers['host']}/v1.0" if call.headers.get("host") else self.api_url
            base = f"{api_url}/users/{quote(mailbox, safe='@')}/mailFolders/{quote(folder, safe='')}"
            body: dict[str, Any] = {
                "@odata.context": f"{api_url}/$metadata#Collection(message)",
                "value": value,
            }
            if offset + page_size < len(changed):
                body["@odata.nextLink"] = (
                    f"{base}/messages/delta?$skiptoken={generation}.{since}.{upto}.{offset + page_size}"
                )
            else:
                body["@odata.deltaLink"] = f"{base}/messages/delta?$deltatoken={generation}.{upto}"
            return 200, body, {"Preference-Applied": f"odata.maxpagesize={page_size}"}

    def mime(self, call: Call) -> tuple[int, Any]:
        with self.lock:
            try:
                message = self.message(call.message_id or "")
            except KeyError:
                message = None
            if message is None or message.mailbox != call.mailbox or message.removed or message.mime_gone:
                return 404, _error("ErrorItemNotFound", "The specified object was not found in the store.")
            return 200, message.mime

    def directory_user(self, call: Call) -> tuple[int, Any]:
        """``GET /users/{id}`` with an optional ``$select``."""
        with self.lock:
            entry = self.directory.get(call.user or "")
        if entry is None:
            return 404, _error("Request_ResourceNotFound", f"Resource '{call.user}' does not exist.")
        fields = [f.strip() for f in call.query.get("$select", "").split(",") if f.strip()]
        chosen = {k: v for k, v in entry.items() if not fields or k in fields or k == "id"}
        return 200, {"@odata.context": f"{self.api_url}/$metadata#users/$entity", **chosen}

    def denial(self, call: Call) -> dict[str, Any] | None:
        """Graph's 403 error JSON if :meth:`deny` covers the call's path, else None."""
        segments = tuple(s.lower() for s in call.path.strip("/").split("/")[1:])
        with self.lock:
            for prefix, (code, message) in self.denied.items():
                if segments[: len(prefix)] != prefix:
                    continue
                if call.kind == "teams_chats":
                    roles = "Chat.Read.All, Chat.ReadWrite.All"
                elif call.kind == "teams_channels":
                    roles = "ChannelMessage.Read.All, Group.Read.All, Group.ReadWrite.All"
                else:
                    return _error(
                        code or "ErrorAccessDenied", message or "Access is denied. Check credentials."
                    )
                default = f"Missing role permissions on the request. API requires one of '{roles}'."
                return _error(code or "Forbidden", message or default)
        return None

    def teams_export(self, call: Call) -> tuple[int, Any]:
        """``users/{user}/chats/getAllMessages`` and ``teams/{team}/channels/getAllMessages``."""
        chats = call.kind == "teams_chats"
        owner = (call.user if chats else call.team) or ""
        with self.lock:
            if chats and owner not in self.teams_users:
                return 404, _error("NotFound", f"User '{owner}' was not found in tenant {self.tenant_id}.")
            if not chats and owner not in self.teams:
                return 404, _error("NotFound", f"No team found with Group Id {owner}")
            model = call.query.get("model")
            if model is not None and model not in ("A", "B"):
                return 400, _error(
                    "BadRequest", f"Invalid model '{model}'. Supported values are 'A' and 'B'."
                )
            skiptoken = call.query.get("$skiptoken")
            after: tuple[int, str] | None = None
            if skiptoken is not None:
                try:
                    state = _decode_skiptoken(skiptoken)
                    generation, top = int(state["g"]), int(state["top"])
                    lower, upper = _bound(state["lo"]), _bound(state["hi"])
                    after = (int(state["after"][0]), str(state["after"][1]))
                    if (state["k"], state["o"]) != (call.kind, owner):
                        raise ValueError("token of another resource")
                except (ValueError, KeyError, TypeError, IndexError):
                    return 400, _error("BadRequest", "Invalid continuation token")
                if generation != self.skiptoken_generation:
                    status, code, message = self.skiptoken_expired_answer
                    return status, _error(code, message)
            else:
                top_text = call.query.get("$top", str(TEAMS_PAGE_SIZE)).strip()
                if not top_text.isdigit() or not 1 <= int(top_text) <= TEAMS_MAX_PAGE_SIZE:
                    return 400, _error(
                        "BadRequest", f"Invalid page size requested: $top must be 1..{TEAMS_MAX_PAGE_SIZE}."
                    )
                top = int(top_text)
                try:
                    lower, upper = _parse_window(call.query.get("$filter"))
                except ValueError:
                    return 400, _error("BadRequest", f"Invalid filter clause: {call.query.get('$filter')}")
            if chats:
                member_of = {chat for chat, members in self.chats.items() if owner in members}
                visible = [m for m in self.chat_messages.values() if m.chat_id in member_of]
            else:
                team_id = self.teams[owner].id
                visible = [m for m in self.chat_messages.values() if m.team_id == team_id]
            listed = sorted(
                (
                    m
                    for m in visible
                    if _in_window(_micros(m.last_modified), lower, upper)
                    and (after is None or m.order > after)
                ),
                key=lambda m: m.order,
            )
            page = listed[:top]
            api_url = f"https://{call.headers['host']}/v1.0" if call.headers.get("host") else self.api_url
            body: dict[str, Any] = {
                "@odata.context": f"{api_url}/$metadata#Collection(chatMessage)",
                "@odata.count": len(page),
                "value": [m.to_json() for m in page],
            }
            if len(listed) > top:
                token = _encode_skiptoken(
                    {
                        "g": self.skiptoken_generation,
                        "k": call.kind,
                        "o": owner,
                        "lo": lower,
                        "hi": upper,
                        "top": top,
                        "after": list(page[-1].order),
                    }
                )
                path = "/".join(quote(s, safe="@:()") for s in call.path.strip("/").split("/")[1:])
                link = f"{api_url}/{path}?$skiptoken={token}"
                body["@odata.nextLink"] = link + (f"&model={model}" if model else "")
            return 200, body


def _error(code: str, message: str) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "innerError": {"request-id": "fake"}}}


def _page_size(prefer: str) -> int:
    for part in prefer.split(","):
        name, _, value = part.strip().partition("=")
        if name.strip().lower() == "odata.maxpagesize" and value.strip().isdigit():
            return max(1, int(value))
    return DEFAULT_PAGE_SIZE


def _entry(message: FakeMessage, select: str | None) -> dict[str, Any]:
    if message.removed:
        return {
            "@odata.type": "#microsoft.graph.message",
            "id": message.id,
            "@removed": {"reason": "deleted"},
        }
    headers = message.headers
    full = {
        "@odata.type": "#microsoft.graph.message",
        "@odata.etag": f'W/"CQAAABYAAAA{message.seq}"',
        "id": message.id,
        "internetMessageId": headers.get("message-id"),
        "conversationId": f"AAQkAGConv{abs(hash(headers.get('subject', ''))) % 10**6:06d}=",
        "sentDateTime": headers.get("date"),
        "parentFolderId": message.folder,
        "subject": headers.get("subject"),
    }
    fields = {"id", *(select.split(",") if select else full)}
    return {k: v for k, v in full.items() if k.startswith("@") or k in fields}


def _utc_millis(when: dt.datetime) -> dt.datetime:
    """UTC (naive taken as UTC), truncated to the millisecond as Teams stores it."""
    when = when.replace(tzinfo=dt.UTC) if when.tzinfo is None else when.astimezone(dt.UTC)
    return when.replace(microsecond=when.microsecond // 1000 * 1000)


def _micros(when: dt.datetime) -> int:
    return (when - _EPOCH) // dt.timedelta(microseconds=1)


def _millis(when: dt.datetime) -> int:
    return (when - _EPOCH) // dt.timedelta(milliseconds=1)


def _iso(when: dt.datetime | None) -> str | None:
    if when is None:
        return None
    return when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z"


def _resource_key(resource: str) -> tuple[str, ...]:
    parts = [p.lower() for p in resource.strip("/").split("/") if p]
    if parts[:1] == ["v1.0"]:
        parts = parts[1:]
    if not parts:
        raise ValueError("deny needs a resource such as 'users/<id>' or 'teams/<id>'")
    return tuple(parts)


Bound = list[Any]  # [operator, microseconds since the epoch]; a list so that it survives the JSON skiptoken

_FILTER_TERM = re.compile(
    r"lastModifiedDateTime\s+(gt|ge|lt|le)\s+"
    r"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,7})?)?(?:Z|[+-]\d{2}:\d{2}))",
    re.IGNORECASE,
)


def _parse_window(text: str | None) -> tuple[Bound | None, Bound | None]:
    """``lastModifiedDateTime gt|ge X [and lastModifiedDateTime lt|le Y]`` (either bound, any order)."""
    if text is None:
        return None, None
    lower = upper = None
    for term in re.split(r"\s+and\s+", text.strip(), flags=re.IGNORECASE):
        match = _FILTER_TERM.fullmatch(term.strip())
        if match is None:
            raise ValueError(term)
        op, when = match.group(1).lower(), dt.datetime.fromisoformat(match.group(2))
        if when.tzinfo is None:
            raise ValueError(term)
        bound = [op, _micros(when.astimezone(dt.UTC))]
        if op in ("gt", "ge"):
            if lower is not None:
                raise ValueError("two lower bounds")
            lower = bound
        else:
            if upper is not None:
                raise ValueError("two upper bounds")
            upper = bound
    return lower, upper


def _bound(value: Any) -> Bound | None:
    if value is None:
        return None
    op, micros = value
    if op not in ("gt", "ge", "lt", "le"):
        raise ValueError(op)
    return [op, int(micros)]


def _in_window(micros: int, lower: Bound | None, upper: Bound | None) -> bool:
    if lower is not None and not (micros > lower[1] if lower[0] == "gt" else micros >= lower[1]):
        return False
    return upper is None or (micros < upper[1] if upper[0] == "lt" else micros <= upper[1])


def _encode_skiptoken(state: dict[str, Any]) -> str:
    raw = json.dumps(state, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_skiptoken(token: str) -> dict[str, Any]:
    state = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    if not isinstance(state, dict):
        raise TypeError("not a token")
    return state


def _handler_for(fake: FakeGraph) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "FakeGraph/1.0"
        disable_nagle_algorithm = True  # headers and body are two writes: avoid 40 ms delayed-ACK stalls

        def log_message(self, format: str, *args: Any) -> None:
            return None

        def do_GET(self) -> None:
            self._serve("GET")

        def do_POST(self) -> None:
            self._serve("POST")

        def _serve(self, method: str) -> None:
            parts = urlsplit(self.path)
            path = parts.path
            segments = [unquote(s) for s in path.strip("/").split("/")]
            query = dict(parse_qsl(parts.query, keep_blank_values=True))
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            headers = {k.lower(): v for k, v in self.headers.items()}
            call = Call("other", method, "/" + "/".join(segments), query, headers, body, time.monotonic())
            if method == "GET" and segments[1:] == ["v2.0", ".well-known", "openid-configuration"]:
                call.kind = "openid"
            elif method == "POST" and segments[1:] == ["oauth2", "v2.0", "token"]:
                call.kind = "token"
            elif (
                method == "GET"
                and len(segments) == 7
                and segments[:2] == ["v1.0", "users"]
                and segments[3] == "mailFolders"
                and segments[5:] == ["messages", "delta"]
            ):
                call.kind, call.mailbox, call.folder = "delta", segments[2].lower(), segments[4].lower()
            elif (
                method == "GET"
                and len(segments) == 6
                and segments[:2] == ["v1.0", "users"]
                and (segments[3] == "messages" and segments[5] == "$value")
            ):
                call.kind, call.mailbox, call.message_id = "mime", segments[2].lower(), segments[4]
            elif (
                method == "GET"
                and len(segments) == 5
                and segments[0] == "v1.0"
                and (segments[1], segments[3].lower()) in (("users", "chats"), ("teams", "channels"))
                and segments[4].lower() in ("getallmessages", "getallmessages()")
            ):
                if segments[1] == "users":
                    call.kind, call.user = "teams_chats", segments[2].lower()
                else:
                    call.kind, call.team = "teams_channels", segments[2].lower()
            elif method == "GET" and len(segments) == 3 and segments[:2] == ["v1.0", "users"]:
                call.kind, call.user = "user", segments[2].lower()
            fake._record(call)

            failure = fake._scripted(call.kind)
            if failure is not None:
                return self._send(call, failure.status, failure.body, failure.headers)
            if call.kind == "openid":
                status, payload = fake.openid_configuration(segments[0])
                return self._send(call, status, payload)
            if call.kind == "token":
                form = dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
                status, payload = fake.token(segments[0], form, headers)
                return self._send(call, status, payload)
            if call.kind == "other":
                return self._send(
                    call, 404, _error("ResourceNotFound", f"Unsupported request {method} {path}")
                )
            with fake.lock:
                authorized = call.token in fake.tokens
            if not authorized:
                payload = _error(
                    "InvalidAuthenticationToken", "Access token has expired or is not yet valid."
                )
                return self._send(call, 401, payload, {"WWW-Authenticate": 'Bearer realm=""'})
            denied = fake.denial(call)
            if denied is not None:
                return self._send(call, 403, denied)
            if call.kind in TEAMS_KINDS:
                status, payload = fake.teams_export(call)
                return self._send(call, status, payload)
            if call.kind == "user":
                status, payload = fake.directory_user(call)
                return self._send(call, status, payload)
            if call.kind == "delta":
                status, payload, extra = fake.delta(call)
                return self._send(call, status, payload, extra)
            status, payload = fake.mime(call)
            return self._send(call, status, payload)

        def _send(self, call: Call, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
            call.status = status
            if isinstance(payload, bytes):
                data, content_type = payload, "text/plain"
            elif isinstance(payload, str):
                data, content_type = payload.encode(), "text/plain; charset=utf-8"
            else:
                data, content_type = json.dumps(payload).encode(), "application/json; odata.metadata=minimal"
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

    return Handler

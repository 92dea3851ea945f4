"""A fake Microsoft identity platform + Microsoft Graph mail API on 127.0.0.1 (HTTPS), for tests through msal.

msal only accepts ``https://`` authorities, so the fake serves TLS with a self-signed certificate made by
:func:`make_tls_files`; point ``SSL_CERT_FILE`` (httpx) and ``REQUESTS_CA_BUNDLE`` (requests, used by msal) at
it. One server answers both sides:

- Authority: ``GET /{tenant}/v2.0/.well-known/openid-configuration`` and ``POST /{tenant}/oauth2/v2.0/token``
  (client-credentials grant; a wrong client secret gets ``401 {"error": "invalid_client", ...}``, an unknown
  client id ``400 unauthorized_client``, an unknown tenant ``400``).
- Graph (``/v1.0``): ``GET /users/{mailbox}/mailFolders/{folder}/messages/delta`` (``$select``,
  ``Prefer: odata.maxpagesize``, ``$skiptoken`` nextLinks, a final ``$deltatoken`` deltaLink whose token encodes
  the change position) and ``GET /users/{mailbox}/messages/{id}/$value`` (the MIME, ``text/plain``). Every
  Graph call needs ``Authorization: Bearer <a token this fake issued>``.

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
"""

from __future__ import annotations

import base64
import datetime as dt
import ipaddress
import json
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

    kind: str  # openid, token, delta, mime, other
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
        """The next ``times`` calls of ``kind`` (delta, mime, token, openid) get this answer instead."""
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

"""A fake Exchange Web Services endpoint on 127.0.0.1 that speaks SOAP, for tests through real ``exchangelib``.

Every call is a ``POST /EWS/Exchange.asmx`` with a SOAP envelope; the fake routes on the first element inside
``<s:Body>`` and answers what exchangelib needs for an incremental mail pull:

- ``GetFolder`` on the distinguished folders ``root``, ``msgfolderroot``, ``inbox``, ``sentitems`` (and any
  folder by ``FolderId``), returning FolderId + ChangeKey + DisplayName + FolderClass;
- ``FindFolder`` (shallow) on a folder, filtered by the constants in the restriction (``root // "Vendors"``);
- ``SyncFolderItems`` in pages of ``MaxChangesReturned`` over a per-folder change log (creates and deletes);
  the ``SyncState`` encodes the folder and the position in that log, so a call with a stored state returns
  only what was appended since; ``IncludesLastItemInRange`` is false until the last page;
- ``GetItem`` returning ``<t:MimeContent CharacterSet="UTF-8">base64</t:MimeContent>`` plus the requested
  ``InternetMessageId`` / ``DateTimeSent`` / ``Subject``, under the item's own element (``t:Message``,
  ``t:MeetingRequest``, ``t:Contact``...), or a per-item error (``ErrorItemNotFound``...);
- ``ConvertId`` (exchangelib's version probe): an error body; every answer carries ``ServerVersionInfo``
  (Exchange 2016 CU, build 15.1.2507.6) in the SOAP header, so exchangelib needs no extra round trip.

Auth is HTTP Basic: a wrong or missing ``Authorization`` gets ``401`` with ``WWW-Authenticate: Basic``.
Faults can be scripted per operation: ``server_busy`` (an ``ErrorServerBusy`` SOAP fault with
``BackOffMilliseconds``), ``http_error`` (e.g. 503 with ``Retry-After``), and ``fail_items`` (a permanent
``ErrorInternalServerError`` fault for any GetItem naming those items, as a server that keeps failing).

Usage::

    with FakeEWS(username="svc", password="pw") as ews:
        ews.add_message("achats@norelec.fr", "inbox", mime_bytes)
        ews.server_busy("SyncFolderItems", back_off_ms=1000)
        ...  # Configuration(service_endpoint=ews.url, credentials=Credentials("svc", "pw"), auth_type=BASIC)
        assert [c.operation for c in ews.calls][:2] == ["ConvertId", "GetFolder"]
"""

from __future__ import annotations

import base64
import email
import email.utils
import itertools
import threading
import time
import xml.etree.ElementTree as ET
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Self
from xml.sax.saxutils import escape, quoteattr

import pytest

SOAP = "http://schemas.xmlsoap.org/soap/envelope/"
M = "http://schemas.microsoft.com/exchange/services/2006/messages"
T = "http://schemas.microsoft.com/exchange/services/2006/types"
E = "http://schemas.microsoft.com/exchange/services/2006/errors"
EWS_PATH = "/EWS/Exchange.asmx"

# Distinguished folder id -> (display name, parent distinguished id)
DISTINGUISHED = {
    "root": ("", None),
    "msgfolderroot": ("Top of Information Store", "root"),
    "inbox": ("Inbox", "msgfolderroot"),
    "sentitems": ("Sent Items", "msgfolderroot"),
}
VERSION_HEADER = (
    f'<h:ServerVersionInfo xmlns:h="{T}" MajorVersion="15" MinorVersion="1" MajorBuildNumber="2507" '
    'MinorBuildNumber="6" Version="V2017_07_11"/>'
)


@dataclass
class FakeItem:
    """One item in a folder. ``kind`` is the EWS element name (Message, MeetingRequest, Contact, Task...)."""

    item_id: str
    mime: bytes
    kind: str = "Message"
    change_key: str = "CK1"
    fetch_error: str | None = None  # a GetItem ResponseCode for this item instead of the item

    def header(self, name: str) -> str | None:
        return email.message_from_bytes(self.mime).get(name)


@dataclass
class FakeFolder:
    folder_id: str
    name: str
    mailbox: str
    distinguished: str | None
    parent_id: str | None
    items: dict[str, FakeItem] = field(default_factory=dict)
    changes: list[tuple[str, str]] = field(default_factory=list)  # (Create|Delete, item id), in order


@dataclass
class Call:
    """One HTTP request the fake received (refused and failed ones included)."""

    operation: str
    body: bytes
    status: int = 0
    sync_state: str | None = None  # SyncFolderItems: the SyncState sent (None on a first sync)
    item_ids: list[str] = field(default_factory=list)  # GetItem: the ids requested
    at: float = 0.0


@dataclass
class Scripted:
    """A scripted answer for the next calls of one operation, before auth succeeds or handlers run."""

    status: int
    body: str
    headers: dict[str, str] = field(default_factory=dict)
    times: int = 1


class FakeEWS:
    """The server and its state: mailboxes -> folders -> items, plus the calls it received."""

    def __init__(self, username: str = "svc-commhealth@norelec.fr", password: str = "s3cret-pw") -> None:
        self.username = username
        self.password = password
        self.calls: list[Call] = []
        self.folders: dict[str, FakeFolder] = {}  # folder id -> folder
        self.scripted: dict[str, deque[Scripted]] = {}
        self.failing_items: set[str] = set()
        self.lock = threading.RLock()
        self._ids = itertools.count(1)
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------------------------ lifecycle

    def __enter__(self) -> Self:
        handler = type("Handler", (_Handler,), {"fake": self})
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)
        self._thread.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        assert self._server and self._thread
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)

    @property
    def url(self) -> str:
        assert self._server, "start the fake with `with FakeEWS() as ews:`"
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}{EWS_PATH}"

    # ------------------------------------------------------------------------------ seeding

    def folder(self, mailbox: str, name: str) -> FakeFolder:
        """A mailbox's folder by distinguished id (inbox, sentitems, ...) or display name; created if missing."""
        mailbox = mailbox.lower()
        with self.lock:
            for folder in self.folders.values():
                if folder.mailbox == mailbox and name.lower() in (folder.distinguished, folder.name.lower()):
                    return folder
            if name in DISTINGUISHED:
                display, parent = DISTINGUISHED[name]
                parent_id = self.folder(mailbox, parent).folder_id if parent else None
                return self._new_folder(mailbox, display, name, parent_id)
            return self._new_folder(mailbox, name, None, self.folder(mailbox, "msgfolderroot").folder_id)

    def _new_folder(
        self, mailbox: str, name: str, distinguished: str | None, parent_id: str | None
    ) -> FakeFolder:
        folder_id = _b64(f"folder:{mailbox}:{distinguished or name}")
        folder = FakeFolder(folder_id, name, mailbox, distinguished, parent_id)
        self.folders[folder_id] = folder
        return folder

    def add_message(
        self,
        mailbox: str,
        folder: str,
        mime: bytes,
        *,
        kind: str = "Message",
        item_id: str | None = None,
        fetch_error: str | None = None,
    ) -> FakeItem:
        """Append an item to a folder (a Create in its change log); returns it."""
        with self.lock:
            fake_folder = self.folder(mailbox, folder)
            item = FakeItem(
                item_id or _b64(f"item:{mailbox}:{next(self._ids):06d}") + "AAA=",
                mime,
                kind=kind,
                fetch_error=fetch_error,
            )
            fake_folder.items[item.item_id] = item
            fake_folder.changes.append(("Create", item.item_id))
            return item

    def delete(self, mailbox: str, folder: str, item_id: str) -> None:
        with self.lock:
            fake_folder = self.folder(mailbox, folder)
            fake_folder.items.pop(item_id)
            fake_folder.changes.append(("Delete", item_id))

    # ------------------------------------------------------------------------------ scripted faults

    def server_busy(self, operation: str, back_off_ms: int = 1000, times: int = 1) -> None:
        """The next `times` calls of `operation` get an ErrorServerBusy SOAP fault (HTTP 500) with a back-off."""
        self._script(operation, Scripted(500, _busy_fault(back_off_ms), times=times))

    def http_error(
        self, operation: str, status: int = 503, retry_after: int | None = 1, times: int = 1
    ) -> None:
        """The next `times` calls of `operation` get a bare HTTP error (503: exchangelib retries it)."""
        headers = {"Retry-After": str(retry_after)} if retry_after is not None else {}
        self._script(operation, Scripted(status, "Service Unavailable", headers, times=times))

    def fail_items(self, item_ids: set[str] | list[str] | tuple[str, ...]) -> None:
        """Every GetItem naming one of these items fails with ErrorInternalServerError until cleared (set())."""
        with self.lock:
            self.failing_items = set(item_ids)

    def _script(self, operation: str, scripted: Scripted) -> None:
        with self.lock:
            self.scripted.setdefault(operation, deque()).append(scripted)

    def _take_scripted(self, operation: str) -> Scripted | None:
        with self.lock:
            queue = self.scripted.get(operation)
            if not queue:
                return None
            scripted = queue[0]
            scripted.times -= 1
            if scripted.times <= 0:
                queue.popleft()
            return scripted

    # ------------------------------------------------------------------------------ inspection

    def ops(self, operation: str | None = None) -> list[Call]:
        with self.lock:
            return [c for c in self.calls if operation is None or c.operation == operation]

    def operations(self) -> list[str]:
        return [c.operation for c in self.ops()]

    # ------------------------------------------------------------------------------ handlers

    def handle(self, operation: str, body: ET.Element, call: Call) -> str:
        handler = getattr(self, f"_op_{operation}", None)
        if handler is None:
            return _fault("ErrorInvalidRequest", f"the fake EWS does not implement {operation}")
        with self.lock:
            return handler(body, call)

    def _op_ConvertId(self, body: ET.Element, call: Call) -> str:
        return _response(
            "ConvertId",
            '<m:ConvertIdResponseMessage ResponseClass="Error"><m:MessageText>Id is malformed.</m:MessageText>'
            "<m:ResponseCode>ErrorInvalidIdMalformed</m:ResponseCode><m:DescriptiveLinkKey>0"
            "</m:DescriptiveLinkKey></m:ConvertIdResponseMessage>",
        )

    def _op_GetFolder(self, body: ET.Element, call: Call) -> str:
        messages = []
        for ref in _folder_refs(body.find(f"{{{M}}}FolderIds")):
            folder = self._resolve_folder(ref)
            if folder is None:
                messages.append(
                    _error_message("GetFolder", "ErrorFolderNotFound", "The folder wasn't found.")
                )
            else:
                messages.append(
                    '<m:GetFolderResponseMessage ResponseClass="Success"><m:ResponseCode>NoError</m:ResponseCode>'
                    f"<m:Folders>{_folder_xml(folder)}</m:Folders></m:GetFolderResponseMessage>"
                )
        return _response("GetFolder", "".join(messages))

    def _op_FindFolder(self, body: ET.Element, call: Call) -> str:
        messages = []
        constants = {c.get("Value", "").lower() for c in body.iter(f"{{{T}}}Constant")}
        for ref in _folder_refs(body.find(f"{{{M}}}ParentFolderIds")):
            parent = self._resolve_folder(ref)
            children = [
                f
                for f in self.folders.values()
                if parent
                and f.parent_id == parent.folder_id
                and (not constants or f.name.lower() in constants)
            ]
            messages.append(
                '<m:FindFolderResponseMessage ResponseClass="Success"><m:ResponseCode>NoError</m:ResponseCode>'
                f'<m:RootFolder TotalItemsInView="{len(children)}" IncludesLastItemInRange="true"><t:Folders>'
                + "".join(_folder_xml(f) for f in children)
                + "</t:Folders></m:RootFolder></m:FindFolderResponseMessage>"
            )
        return _response("FindFolder", "".join(messages))

    def _op_SyncFolderItems(self, body: ET.Element, call: Call) -> str:
        refs = list(_folder_refs(body.find(f"{{{M}}}SyncFolderId")))
        folder = self._resolve_folder(refs[0]) if refs else None
        if folder is None:
            return _response(
                "SyncFolderItems",
                _error_message(
                    "SyncFolderItems",
                    "ErrorFolderNotFound",
                    "No such folder.",
                    extra="<m:SyncState/><m:IncludesLastItemInRange>true</m:IncludesLastItemInRange>",
                ),
            )
        state = body.findtext(f"{{{M}}}SyncState")
        call.sync_state = state
        position = 0
        if state:
            try:
                folder_id, _, pos = base64.b64decode(state).decode().rpartition("|")
                position = int(pos)
                assert folder_id == folder.folder_id
            except (ValueError, AssertionError):
                # Error messages carry empty SyncState/IncludesLastItemInRange elements, as the schema lists them
                # (exchangelib 5.6 reads SyncState before it looks at ResponseClass).
                return _response(
                    "SyncFolderItems",
                    _error_message(
                        "SyncFolderItems",
                        "ErrorInvalidSyncStateData",
                        "Synchronization state data is corrupt or otherwise invalid.",
                        extra="<m:SyncState/><m:IncludesLastItemInRange>true</m:IncludesLastItemInRange>",
                    ),
                )
        limit = int(body.findtext(f"{{{M}}}MaxChangesReturned") or 100)
        page = folder.changes[position : position + limit]
        end = position + len(page)
        changes = []
        for change, item_id in page:
            if change == "Delete":
                changes.append(f'<t:Delete><t:ItemId Id="{item_id}" ChangeKey="CK0"/></t:Delete>')
                continue
            item = folder.items.get(item_id)
            if item is None:  # created then deleted: the server still reports the create
                changes.append(
                    f'<t:Create><t:Message><t:ItemId Id="{item_id}" ChangeKey="CK0"/></t:Message></t:Create>'
                )
                continue
            changes.append(
                f"<t:Create><t:{item.kind}>{_item_id_xml(item)}{_subject_xml(item)}</t:{item.kind}></t:Create>"
            )
        last = "true" if end >= len(folder.changes) else "false"
        new_state = base64.b64encode(f"{folder.folder_id}|{end}".encode()).decode()
        return _response(
            "SyncFolderItems",
            '<m:SyncFolderItemsResponseMessage ResponseClass="Success"><m:ResponseCode>NoError</m:ResponseCode>'
            f"<m:SyncState>{new_state}</m:SyncState><m:IncludesLastItemInRange>{last}</m:IncludesLastItemInRange>"
            f"<m:Changes>{''.join(changes)}</m:Changes></m:SyncFolderItemsResponseMessage>",
        )

    def _op_GetItem(self, body: ET.Element, call: Call) -> str:
        ids = [e.get("Id", "") for e in body.iter(f"{{{T}}}ItemId")]
        call.item_ids = ids
        if self.failing_items & set(ids):
            return _fault(
                "ErrorInternalServerError", "An internal server error occurred. The operation failed."
            )
        fields = {e.get("FieldURI") for e in body.iter(f"{{{T}}}FieldURI")}
        items = {i.item_id: i for f in self.folders.values() for i in f.items.values()}
        messages = []
        for item_id in ids:
            item = items.get(item_id)
            if item is None or item.fetch_error:
                code = item.fetch_error if item else "ErrorItemNotFound"
                messages.append(
                    _error_message("GetItem", code, "The specified object was not found in the store.")
                )
                continue
            parts = []
            if "item:MimeContent" in fields:
                mime = base64.b64encode(item.mime).decode()
                parts.append(f'<t:MimeContent CharacterSet="UTF-8">{mime}</t:MimeContent>')
            parts.append(_item_id_xml(item))
            if "item:Subject" in fields:
                parts.append(_subject_xml(item))
            if "item:DateTimeSent" in fields and item.header("Date"):
                sent = email.utils.parsedate_to_datetime(item.header("Date") or "")
                parts.append(f"<t:DateTimeSent>{sent.strftime('%Y-%m-%dT%H:%M:%SZ')}</t:DateTimeSent>")
            if "message:InternetMessageId" in fields and item.kind == "Message" and item.header("Message-ID"):
                parts.append(
                    f"<t:InternetMessageId>{escape(item.header('Message-ID') or '')}</t:InternetMessageId>"
                )
            messages.append(
                '<m:GetItemResponseMessage ResponseClass="Success"><m:ResponseCode>NoError</m:ResponseCode>'
                f"<m:Items><t:{item.kind}>{''.join(parts)}</t:{item.kind}></m:Items></m:GetItemResponseMessage>"
            )
        return _response("GetItem", "".join(messages))

    def _resolve_folder(self, ref: tuple[str, str, str | None]) -> FakeFolder | None:
        kind, value, mailbox = ref
        if kind == "id":
            return self.folders.get(value)
        if value not in DISTINGUISHED:
            return None
        return self.folder(mailbox or self.username, value)


class _Handler(BaseHTTPRequestHandler):
    fake: FakeEWS
    protocol_version = "HTTP/1.1"
    # One write per response, sent at once: headers and body in separate small writes on a keep-alive connection
    # would wait for the client's delayed ACK (~40 ms a request).
    wbufsize = -1
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_POST(self) -> None:
        fake = self.fake
        data = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        call = Call(operation="?", body=data, at=time.monotonic())
        try:
            body = ET.fromstring(data).find(f"{{{SOAP}}}Body")
            first = body[0] if body is not None and len(body) else None
            call.operation = first.tag.rpartition("}")[2] if first is not None else "?"
        except ET.ParseError:
            first = None
        with fake.lock:
            fake.calls.append(call)
        if self.path != EWS_PATH:
            return self._send(call, 404, "Not Found", {"Content-Type": "text/plain"})
        if not self._authorized():
            return self._send(
                call,
                401,
                "Unauthorized",
                {"WWW-Authenticate": 'Basic realm="fake-ews"', "Content-Type": "text/plain"},
            )
        scripted = fake._take_scripted(call.operation)
        if scripted is not None:
            kind = "text/xml; charset=utf-8" if scripted.body.startswith("<") else "text/plain"
            return self._send(
                call, scripted.status, scripted.body, {"Content-Type": kind, **scripted.headers}
            )
        if first is None:
            return self._send(call, 500, _fault("ErrorSchemaValidation", "Not a SOAP request."))
        answer = fake.handle(call.operation, first, call)
        self._send(call, 500 if "<s:Fault>" in answer else 200, answer)

    def _authorized(self) -> bool:
        header = self.headers.get("Authorization", "")
        if not header.lower().startswith("basic "):
            return False
        try:
            user, _, password = base64.b64decode(header[6:]).decode().partition(":")
        except ValueError:
            return False
        return user == self.fake.username and password == self.fake.password

    def _send(self, call: Call, status: int, body: str, headers: dict[str, str] | None = None) -> None:
        payload = body.encode("utf-8")
        call.status = status
        self.send_response(status)
        for name, value in (headers or {"Content-Type": "text/xml; charset=utf-8"}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


# ------------------------------------------------------------------------------------------ SOAP helpers


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def _envelope(body: str, header: str = VERSION_HEADER) -> str:
    head = f"<s:Header>{header}</s:Header>" if header else ""
    return f'<?xml version="1.0" encoding="utf-8"?><s:Envelope xmlns:s="{SOAP}">{head}<s:Body>{body}</s:Body></s:Envelope>'


def _response(operation: str, messages: str) -> str:
    return _envelope(
        f'<m:{operation}Response xmlns:m="{M}" xmlns:t="{T}"><m:ResponseMessages>{messages}</m:ResponseMessages>'
        f"</m:{operation}Response>"
    )


def _error_message(operation: str, code: str, text: str, extra: str = "") -> str:
    return (
        f'<m:{operation}ResponseMessage ResponseClass="Error"><m:MessageText>{escape(text)}</m:MessageText>'
        f"<m:ResponseCode>{code}</m:ResponseCode><m:DescriptiveLinkKey>0</m:DescriptiveLinkKey>{extra}"
        f"</m:{operation}ResponseMessage>"
    )


def _fault(code: str, text: str, message_xml: str = "") -> str:
    """A SOAP fault; like Exchange's, it has no ServerVersionInfo header."""
    return _envelope(
        "<s:Fault><faultcode>a:"
        + code
        + '</faultcode><faultstring xml:lang="en-US">'
        + escape(text)
        + f'</faultstring><detail><e:ResponseCode xmlns:e="{E}">{code}</e:ResponseCode>'
        f'<e:Message xmlns:e="{E}">{escape(text)}</e:Message>{message_xml}</detail></s:Fault>',
        header="",
    )


def _busy_fault(back_off_ms: int) -> str:
    return _fault(
        "ErrorServerBusy",
        "The server cannot service this request right now. Try again later.",
        f'<t:MessageXml xmlns:t="{T}"><t:Value Name="BackOffMilliseconds">{back_off_ms}</t:Value></t:MessageXml>',
    )


def _folder_refs(container: ET.Element | None) -> Iterator[tuple[str, str, str | None]]:
    """("id", folder id, None) or ("distinguished", name, mailbox address) for each folder in a request."""
    if container is None:
        return
    for elem in container:
        tag = elem.tag.rpartition("}")[2]
        if tag == "FolderId":
            yield "id", elem.get("Id", ""), None
        elif tag == "DistinguishedFolderId":
            address = elem.findtext(f"{{{T}}}Mailbox/{{{T}}}EmailAddress")
            yield "distinguished", elem.get("Id", ""), address.lower() if address else None


def _folder_xml(folder: FakeFolder) -> str:
    parent = f'<t:ParentFolderId Id="{folder.parent_id}" ChangeKey="FCK"/>' if folder.parent_id else ""
    folder_class = "<t:FolderClass>IPF.Note</t:FolderClass>" if folder.distinguished not in ("root",) else ""
    return (
        f'<t:Folder><t:FolderId Id="{folder.folder_id}" ChangeKey="FCK"/>{parent}{folder_class}'
        f"<t:DisplayName>{escape(folder.name)}</t:DisplayName><t:TotalCount>{len(folder.items)}</t:TotalCount>"
        "<t:ChildFolderCount>0</t:ChildFolderCount><t:UnreadCount>0</t:UnreadCount></t:Folder>"
    )


def _item_id_xml(item: FakeItem) -> str:
    return f"<t:ItemId Id={quoteattr(item.item_id)} ChangeKey={quoteattr(item.change_key)}/>"


def _subject_xml(item: FakeItem) -> str:
    subject = item.header("Subject")
    return f"<t:Subject>{escape(subject)}</t:Subject>" if subject else ""


@pytest.fixture
def fake_ews() -> Iterator[FakeEWS]:
    with FakeEWS() as ews:
        yield ews

"""Exchange Online through Microsoft Graph: per-folder delta queries, each message read as MIME.

Public API: :func:`extract_graph`.

For every configured mailbox and folder (partition ``"{mailbox}/{folder}"``, source ``"graph"``):

1. The delta query ``/users/{mailbox}/mailFolders/{folder}/messages/delta`` lists the folder's messages, a page
   at a time (``Prefer: odata.maxpagesize``), following ``@odata.nextLink`` until ``@odata.deltaLink``.
2. Each created or updated message is read whole (``/users/{mailbox}/messages/{id}/$value``) and parsed by
   :func:`connectors.mail.parse_email`, exactly as an mbox or .eml file is: the same email read from mbox, EWS
   and Graph is one row, with the same key and content hash. ``@removed`` entries are skipped (rows are never
   deleted); a message gone before its MIME could be read is quarantined with the reason.
3. The cursor is JSON, checkpointed after each page's records: ``{"next": "<nextLink>"}`` while a round is in
   progress, ``{"delta": "<deltaLink>"}`` once it is finished. The next run starts from the stored link.

Why checkpoint the nextLink too: storing only the final deltaLink would make a run killed on page 40 of 50
(a Prefect timeout, a deploy) start the round again from page 1 and download every MIME again, so a large
first sync that keeps being cut short would never finish. The sink stores a cursor only together with the
records added before it, so resuming from the nextLink loses nothing; records added after the last checkpoint
are read again and merged as "already stored", so nothing is doubled. A nextLink or deltaLink that Graph no
longer accepts (410 Gone, or ``SyncStateNotFound``/``resyncRequired``... with 400/404) drops the cursor and
resyncs the folder from scratch, once per run; the merge recognises what is already stored.
"""

from __future__ import annotations

import json
import logging
from urllib.parse import quote

from connectors.base import Sink, SourceError
from connectors.mail import parse_email
from ground.config import Config, GraphSource
from ground.records import MessageRecord, QuarantineRecord

from .client import GraphClient, GraphError
from .settings import (
    CURSOR_DELTA,
    CURSOR_NEXT,
    DELTA_PATH,
    DELTA_SELECT,
    MIME_PATH,
    REASON_MESSAGE_GONE,
    RESYNC_ERROR_CODES,
    RESYNC_STATUSES,
    SOURCE,
)

__all__ = ["GraphError", "extract_graph", "partitions"]

log = logging.getLogger(__name__)

_NOTE_KEYS = ("folders", "pages", "messages", "quarantined", "removed", "resyncs")


def extract_graph(config: Config, source: GraphSource, client_secret: str, sink: Sink) -> dict[str, object]:
    """Pull what is new in every configured mailbox folder into ``sink``; returns counts for the run's notes.

    Raises SourceAuthError at once when the credentials are refused, SourceError when Graph keeps failing
    (what was read before stays in the sink with its cursor, so the next run resumes after it).
    ``config`` is not needed here (who is who is decided at build time); it keeps the live connectors' signature.
    """
    del config
    notes: dict[str, int] = dict.fromkeys(_NOTE_KEYS, 0)
    with GraphClient(source, client_secret) as client:
        client.authenticate()
        for mailbox in source.mailboxes:
            for folder in source.folders:
                _sync_folder(client, sink, mailbox, folder, notes)
    return dict(notes)


def partitions(source: GraphSource) -> list[str]:
    """The partitions a run reads: each configured mailbox folder, "{mailbox}/{folder}"."""
    return [_partition(mailbox, folder) for mailbox in source.mailboxes for folder in source.folders]


def _partition(mailbox: str, folder: str) -> str:
    return f"{mailbox}/{folder}"


def delta_start_url(api_url: str, mailbox: str, folder: str) -> str:
    """The first request of a full round for one folder."""
    path = DELTA_PATH.format(mailbox=quote(mailbox, safe="@"), folder=quote(folder, safe=""))
    return f"{api_url.rstrip('/')}{path}?$select={DELTA_SELECT}"


def encode_cursor(kind: str, url: str) -> str:
    return json.dumps({kind: url})


def decode_cursor(cursor: str | None) -> tuple[str, str] | None:
    """(kind, url) from a stored cursor; a bare URL counts as a deltaLink; None when absent or unreadable."""
    if not cursor:
        return None
    if cursor.startswith(("https://", "http://")):
        return CURSOR_DELTA, cursor
    try:
        data = json.loads(cursor)
    except ValueError:
        return None
    if isinstance(data, dict):
        for kind in (CURSOR_NEXT, CURSOR_DELTA):
            url = data.get(kind)
            if isinstance(url, str) and url:
                return kind, url
    return None


def _needs_resync(exc: GraphError) -> bool:
    if exc.status == 410:
        return True
    return exc.status in RESYNC_STATUSES and (exc.code or "").lower() in RESYNC_ERROR_CODES


def _sync_folder(client: GraphClient, sink: Sink, mailbox: str, folder: str, notes: dict[str, int]) -> None:
    """One folder's delta round, recorded as read to the end, or as failed with the error that stopped it."""
    partition = _partition(mailbox, folder)
    with sink.reading(SOURCE, partition):
        _sync_partition(client, sink, mailbox, folder, partition, notes)


def _sync_partition(
    client: GraphClient, sink: Sink, mailbox: str, folder: str, partition: str, notes: dict[str, int]
) -> None:
    start = delta_start_url(client.api_url, mailbox, folder)
    stored = sink.cursor(SOURCE, partition)
    decoded = decode_cursor(stored)
    if stored and decoded is None:
        log.warning("graph %s: unreadable cursor; reading the folder from the start", partition)
    url = decoded[1] if decoded else start
    if url != start:
        try:
            client.check_url(url)
        except GraphError:
            log.warning(
                "graph %s: the stored link is not under api_url; reading the folder from the start", partition
            )
            url = start
    prefer = {"Prefer": f"odata.maxpagesize={client.source.page_size}"}
    resynced = False
    counts = dict.fromkeys(("pages", "messages", "quarantined", "removed"), 0)
    while True:
        try:
            page = client.get_json(url, what=f"delta query of {partition}", headers=prefer)
        except GraphError as exc:
            if url == start or resynced or not _needs_resync(exc):
                raise
            log.warning(
                "graph %s: the stored sync state is no longer valid (HTTP %s %s); full resync of the folder",
                partition,
                exc.status,
                exc.code or "",
            )
            sink.checkpoint(SOURCE, partition, None)
            url, resynced = start, True
            notes["resyncs"] += 1
            continue
        counts["pages"] += 1
        for item in _items(page, partition):
            if "@removed" in item:
                counts["removed"] += 1
                continue
            record = _read_message(client, mailbox, folder, item["id"])
            counts["messages" if isinstance(record, MessageRecord) else "quarantined"] += 1
            sink.add(record)
        next_link, delta_link = page.get("@odata.nextLink"), page.get("@odata.deltaLink")
        if isinstance(next_link, str) and next_link:
            client.check_url(next_link)
            sink.checkpoint(SOURCE, partition, encode_cursor(CURSOR_NEXT, next_link))
            url = next_link
        elif isinstance(delta_link, str) and delta_link:
            client.check_url(delta_link)
            sink.checkpoint(SOURCE, partition, encode_cursor(CURSOR_DELTA, delta_link))
            break
        else:
            raise SourceError(
                f"Microsoft Graph delta query of {partition}: a page with neither nextLink nor deltaLink"
            )
    notes["folders"] += 1
    for key, value in counts.items():
        notes[key] += value
    log.info(
        "graph %s: %d messages, %d quarantined, %d removed, %d pages%s",
        partition,
        counts["messages"],
        counts["quarantined"],
        counts["removed"],
        counts["pages"],
        " (full resync)" if resynced else "",
    )


def _items(page: dict[str, object], partition: str) -> list[dict[str, object]]:
    value = page.get("value", [])
    if not isinstance(value, list):
        raise SourceError(f"Microsoft Graph delta query of {partition}: 'value' is not a list")
    items = [
        item for item in value if isinstance(item, dict) and isinstance(item.get("id"), str) and item["id"]
    ]
    if len(items) != len(value):
        raise SourceError(f"Microsoft Graph delta query of {partition}: an entry without an id")
    return items


def _read_message(
    client: GraphClient, mailbox: str, folder: str, message_id: str
) -> MessageRecord | QuarantineRecord:
    raw_ref = f"graph:{mailbox}/{folder}/{message_id}"
    path = MIME_PATH.format(mailbox=quote(mailbox, safe="@"), message_id=quote(message_id, safe=""))
    try:
        response = client.get(f"{client.api_url}{path}", what=f"MIME of a message in {mailbox}/{folder}")
    except GraphError as exc:
        if exc.status != 404:
            raise
        excerpt = f"HTTP 404 {exc.code or ''}".strip() + ": deleted or moved before its MIME could be read"
        return QuarantineRecord(source=SOURCE, raw_ref=raw_ref, reason=REASON_MESSAGE_GONE, excerpt=excerpt)
    return parse_email(response.content, raw_ref=raw_ref, source=SOURCE)

"""Exchange Server (on-prem) connector: incremental mail pulls over EWS with exchangelib.

Public API: `extract_exchange(config, source, secret, sink)`.

Per mailbox and folder (partition ``"<mailbox>/<folder>"``, source ``"exchange"``):

1. ``folder.sync_items()`` from the stored SyncState, ids and item types only, every page until the server says
   the range is complete; creates and updates of plain ``Message`` items are kept, meeting items, contacts, tasks
   and other non-mail items are skipped, deletes are ignored (history stays);
2. the kept items are fetched in chunks with an explicit field list whose core is ``mime_content``, and the MIME
   is parsed by ``connectors.mail.parse_email``, so an email read from mbox, EWS or Graph is the same row with
   the same key and content hash; an item whose MIME cannot be fetched is quarantined with the reason;
3. only then is the folder's new SyncState checkpointed: a run killed mid-folder starts that folder again from
   the previous state, and the writer recognises what it already stored.

Refused credentials fail fast (a FailFast probe before the FaultTolerance run); the secret never appears in
messages or logs.
"""

from __future__ import annotations

import hashlib
import itertools
import logging
from collections import Counter
from collections.abc import Iterator

from exchangelib import Account, Message
from exchangelib.errors import ErrorInvalidSyncStateData, EWSError
from exchangelib.folders import BaseFolder
from exchangelib.version import Version

from connectors.base import Sink, SourceError
from connectors.mail import parse_email
from ground.config import Config, ExchangeSource
from ground.records import MessageRecord, QuarantineRecord
from ground.secrets import mask_secrets

from .client import clear_protocol_cache, connect, fault_tolerance, open_folder, probe_credentials
from .redact import install as install_secret_filter
from .settings import (
    FETCH_CHUNK_SIZE,
    FETCH_FIELDS,
    ITEM_REF_CHARS,
    REASON_ITEM_UNAVAILABLE,
    REASON_NO_MIME,
    SOURCE,
    SYNC_FIELDS,
)

__all__ = ["extract_exchange", "pull_exchange"]

log = logging.getLogger(__name__)

ItemRef = tuple[str, str]  # (item id, change key)


def extract_exchange(config: Config, source: ExchangeSource, secret: str, sink: Sink) -> dict[str, object]:
    """Pull what is new in every configured mailbox folder into `sink`; returns the connector's counts (notes).

    `secret` is the password (ntlm, basic) or the client secret (oauth2), resolved by the caller.
    Raises SourceAuthError at once if the credentials are refused, SourceError if the server cannot be read.
    """
    return pull_exchange(source, secret, sink)


def pull_exchange(
    source: ExchangeSource,
    secret: str,
    sink: Sink,
    *,
    version: Version | None = None,
    chunk_size: int = FETCH_CHUNK_SIZE,
) -> dict[str, object]:
    """`extract_exchange` with the knobs tests need: a fixed server `version` and the GetItem `chunk_size`."""
    with install_secret_filter().hiding(secret, source.username):
        return _pull(source, secret, sink, version, chunk_size)


def _pull(
    source: ExchangeSource, secret: str, sink: Sink, version: Version | None, chunk_size: int
) -> dict[str, object]:
    probe_credentials(source, secret, version=version)
    clear_protocol_cache()  # the probe's FailFast policy must not be reused by the real run
    stats: Counter[str] = Counter()
    try:
        for mailbox in source.mailboxes:
            account = connect(
                source,
                secret,
                mailbox,
                retry_policy=fault_tolerance(source.max_wait_seconds),
                version=version,
            )
            for folder_name in source.folders:
                _pull_folder(account, mailbox, folder_name, source, sink, stats, chunk_size, secret)
    finally:
        clear_protocol_cache()
    return {f"exchange_{key}": value for key, value in sorted(stats.items())}


def partitions(source: ExchangeSource) -> list[str]:
    """The partitions a run reads: each configured mailbox folder, "{mailbox}/{folder}"."""
    return [_partition(mailbox, folder) for mailbox in source.mailboxes for folder in source.folders]


def _partition(mailbox: str, folder: str) -> str:
    return f"{mailbox}/{folder}"


def _pull_folder(
    account: Account,
    mailbox: str,
    folder_name: str,
    source: ExchangeSource,
    sink: Sink,
    stats: Counter[str],
    chunk_size: int,
    secret: str,
) -> None:
    partition = _partition(mailbox, folder_name)
    with sink.reading(SOURCE, partition):
        try:
            folder = open_folder(account, folder_name)
            state = sink.cursor(SOURCE, partition)
            try:
                refs, counts = _changes(folder, state, source.page_size)
            except ErrorInvalidSyncStateData:
                log.warning(
                    "exchange %s: the stored sync state was refused; syncing the folder from the start",
                    partition,
                )
                folder.item_sync_state = None
                refs, counts = _changes(folder, None, source.page_size)
                counts["resyncs"] += 1
            new_state = folder.item_sync_state
            for chunk in _chunks(refs, chunk_size):
                for ref, item in zip(
                    chunk,
                    account.fetch(ids=chunk, only_fields=list(FETCH_FIELDS), chunk_size=len(chunk)),
                    strict=True,
                ):
                    counts[_add_item(sink, partition, ref, item)] += 1
        except SourceError:
            raise
        except (EWSError, OSError) as exc:
            raise SourceError(
                f"Exchange failed reading {partition}: {type(exc).__name__}: {mask_secrets(str(exc), [secret])}"
            ) from exc
        sink.checkpoint(SOURCE, partition, new_state)
    stats.update(counts)
    stats["folders"] += 1
    log.info(
        "exchange %s: %d messages, %d quarantined, %d non-mail skipped, %d deletes ignored",
        partition,
        counts["messages"],
        counts["quarantined"],
        counts["skipped_non_mail"],
        counts["deletes_ignored"],
    )


def _changes(folder: BaseFolder, state: str | None, page_size: int) -> tuple[list[ItemRef], Counter[str]]:
    """Consume every SyncFolderItems page after `state`; the mail items created or updated, in order."""
    counts: Counter[str] = Counter()
    pending: dict[str, ItemRef] = {}
    for change, item in folder.sync_items(
        sync_state=state, only_fields=list(SYNC_FIELDS), max_changes_returned=page_size
    ):
        if change in ("create", "update"):
            if isinstance(item, Message):
                pending[item.id] = (item.id, item.changekey)
            else:
                counts["skipped_non_mail"] += 1
        elif change == "delete":
            counts["deletes_ignored"] += 1
            # Created and deleted before we saw it: nothing to fetch any more.
            pending.pop(getattr(item, "id", None), None)
    return list(pending.values()), counts


def _chunks(refs: list[ItemRef], size: int) -> Iterator[list[ItemRef]]:
    it = iter(refs)
    while chunk := list(itertools.islice(it, size)):
        yield chunk


def _add_item(sink: Sink, partition: str, ref: ItemRef, item: object) -> str:
    """Parse and add one fetched item; returns the counter it falls under."""
    item_id = ref[0]
    raw_ref = f"{SOURCE}:{partition}/{_short(item_id)}"
    if isinstance(item, Exception):
        sink.add(
            _quarantine(raw_ref, REASON_ITEM_UNAVAILABLE, f"ItemId {item_id}: {type(item).__name__}: {item}")
        )
        return "quarantined"
    if not isinstance(item, Message):  # its type changed since the sync, or the sync could not tell
        return "skipped_non_mail"
    mime = item.mime_content
    if not mime:
        sink.add(_quarantine(raw_ref, REASON_NO_MIME, f"ItemId {item_id}: Message-ID {item.message_id}"))
        return "quarantined"
    record = parse_email(
        mime if isinstance(mime, bytes) else mime.encode("utf-8"), raw_ref=raw_ref, source=SOURCE
    )
    log.debug("exchange %s: %s sent %s -> %s", partition, item.message_id, item.datetime_sent, raw_ref)
    sink.add(record)
    return "messages" if isinstance(record, MessageRecord) else "quarantined"


def _quarantine(raw_ref: str, reason: str, excerpt: str) -> QuarantineRecord:
    log.warning("exchange %s quarantined: %s (%s)", raw_ref, reason, excerpt)
    return QuarantineRecord(source=SOURCE, raw_ref=raw_ref, reason=reason, excerpt=excerpt)


def _short(item_id: str) -> str:
    """A short stable name for an EWS item id (the full id is in quarantine excerpts and debug logs)."""
    return hashlib.sha1(item_id.encode(), usedforsecurity=False).hexdigest()[:ITEM_REF_CHARS]

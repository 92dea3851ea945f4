"""Constants of the Exchange (EWS) connector."""

from __future__ import annotations

SOURCE = "exchange"

# GetItem chunk: this many full items (MIME included) are held in memory at a time.
FETCH_CHUNK_SIZE = 50

# SyncFolderItems returns ids and the item type (Message, MeetingRequest, ...) from the element tag; the class
# is all we need at that stage. Body, headers and addresses come from the MIME content fetched afterwards.
SYNC_FIELDS = ("item_class",)

# GetItem: the MIME content is parsed by connectors.mail.parse_email (Message-ID, In-Reply-To, References,
# sender and recipients, dates, body and the headers used for auto-reply detection all come from it, exactly as
# for mbox files); message_id and datetime_sent are fetched for logging only.
FETCH_FIELDS = ("mime_content", "message_id", "datetime_sent")

# Configured folder name (lower-case) -> exchangelib Account attribute of the distinguished folder.
# Any other name is looked up under the mailbox's message root ("Vendors" or "Vendors/Kappa").
DISTINGUISHED_FOLDERS = {
    "inbox": "inbox",
    "sent": "sent",
    "sentitems": "sent",
    "sent items": "sent",
    "deleteditems": "trash",
    "deleted items": "trash",
    "junkemail": "junk",
    "junk": "junk",
}

# Quarantine reasons.
REASON_ITEM_UNAVAILABLE = "exchange_item_unavailable"
REASON_NO_MIME = "exchange_item_without_mime"

# Length of the item-id digest in raw_ref (EWS ids are ~150 base64 characters with a long common prefix).
ITEM_REF_CHARS = 16

# The fail-fast credential probe: attempts while the server says it is busy, and the longest pause between them.
PROBE_ATTEMPTS = 3
PROBE_MAX_SLEEP = 5.0

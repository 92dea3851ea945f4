"""Constants for the Microsoft Graph (Exchange Online) connector: scope, fields, retry policy, error codes."""

from __future__ import annotations

SOURCE = "graph"  # core.messages.source, meta.sync_state.source, QuarantineRecord.source
SCOPE = "https://graph.microsoft.com/.default"  # app-only: the application permissions granted to the app

# The delta query lists ids only; each message's MIME ($value) is then parsed like a file message, so the same
# email read from mbox, EWS and Graph becomes the same row (same key, same content hash).
DELTA_SELECT = "id,internetMessageId,conversationId,sentDateTime,parentFolderId"
DELTA_PATH = "/users/{mailbox}/mailFolders/{folder}/messages/delta"
MIME_PATH = "/users/{mailbox}/messages/{message_id}/$value"

# Cursor (meta.sync_state.cursor) JSON keys: a round in progress, or a finished round to continue from.
CURSOR_NEXT = "next"
CURSOR_DELTA = "delta"

# HTTP
CONNECT_TIMEOUT_SECONDS = 10
READ_TIMEOUT_SECONDS = 120  # a large MIME body can take a while
USER_AGENT = "commhealth-graph/0.1"
RETRY_AFTER_STATUSES = frozenset({429, 503, 504})  # throttling: wait as told by Retry-After
DEFAULT_RETRY_AFTER_SECONDS = 5.0  # when a 429/503/504 carries no usable Retry-After
MAX_RETRY_AFTER_SECONDS = 300.0  # never sleep longer than this on one answer
BACKOFF_BASE_SECONDS = 0.5  # other 5xx and transport errors: 0.5, 1, 2, 4 ... (+ up to 50 % jitter)
BACKOFF_MAX_SECONDS = 30.0

# What a 403 tells the admin to grant
MAIL_PERMISSIONS_HINT = (
    "the app needs the Mail.Read application permission with admin consent, and access to this mailbox"
)

# Token answers that mean the app's credentials are wrong: fail at once, never retry.
AUTH_ERRORS = frozenset({"invalid_client", "unauthorized_client"})
# Graph error codes (lower-cased) meaning the delta or skip token is no longer usable: resync the folder.
# 410 Gone always means that; these codes are also seen with 400 and 404.
RESYNC_STATUSES = frozenset({400, 404, 409, 410})
RESYNC_ERROR_CODES = frozenset(
    {"syncstatenotfound", "resyncrequired", "syncstateinvalid", "invaliddeltatoken", "invalidsynctoken"}
)

# Quarantine reasons
REASON_MESSAGE_GONE = "graph_message_gone"  # listed by the delta query, deleted before its MIME was read

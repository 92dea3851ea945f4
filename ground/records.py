"""Records that connectors yield and the warehouse loads: one normalised message, or one quarantined input."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib

CHANNEL_EMAIL = "email"
CHANNEL_SLACK = "slack"
CHANNEL_TEAMS = "teams"

# Flags a message may carry in core.messages.flags; each names a repair made to imperfect input.
FLAG_SYNTHETIC_ID = "synthetic_message_id"
FLAG_DATE_WITHOUT_ZONE = "date_without_zone"
FLAG_DATE_FROM_RECEIVED = "date_from_received"  # the Date header was missing, unreadable or impossible
FLAG_INVALID_REFERENCES = "invalid_references_dropped"
FLAG_CHARSET_REPAIRED = "charset_repaired"
FLAG_HTML_ONLY = "html_only_body"
FLAG_UNKNOWN_CHANNEL = "channel_not_in_export_directory"
# Text held lone surrogates (valid JSON "\ud800", file names that are not UTF-8), which UTF-8 cannot store:
# each became U+FFFD. Added where records are staged (warehouse.staging), whatever the connector.
FLAG_TEXT_REPAIRED = "text_repaired"


@dataclasses.dataclass(slots=True)
class MessageRecord:
    """One message as it will stand in core.messages: what the input says. Who is who (side, vendor) is decided
    at build time from the configuration (transforms/models/03_stg_message_parties.sql)."""

    message_key: str
    channel: str
    source: str
    sent_at: dt.datetime  # timezone-aware UTC
    raw_ref: str
    sender: str | None = None  # email: lower-case address; Slack: user id; Teams: Entra (Azure AD) user id
    sender_name: str | None = None
    sender_email: str | None = None  # email: same as sender; Slack: the user's profile email
    sender_team_id: str | None = None  # Slack: the sender's team (workspace); Teams: the sender's tenant
    recipients: list[str] = dataclasses.field(default_factory=list)
    subject: str | None = None
    body_text: str | None = None
    body_full: str | None = None
    in_reply_to: str | None = None
    references: list[str] = dataclasses.field(default_factory=list)
    conversation_key: str | None = None  # Slack: set by the connector; email: by the merge (its component)
    is_automated: bool = False
    automated_reason: str | None = None
    slack_channel_id: str | None = None
    slack_channel_name: str | None = None
    slack_thread_ts: str | None = None
    flags: list[str] = dataclasses.field(default_factory=list)

    def content_hash(self) -> str:
        """Identity of the content, to tell a re-read of the same message from a different one reusing its key."""
        h = hashlib.sha1(usedforsecurity=False)
        for part in (self.sender or "", self.sent_at.isoformat(), self.subject or "", self.body_full or ""):
            h.update(part.encode("utf-8", "surrogatepass"))
            h.update(b"\x00")
        return h.hexdigest()


@dataclasses.dataclass(slots=True)
class QuarantineRecord:
    """An input that could not become a message, kept with the reason so nothing is dropped silently."""

    source: str
    raw_ref: str
    reason: str
    excerpt: str = ""

    def __post_init__(self) -> None:
        self.excerpt = excerpt_of(self.excerpt)


def excerpt_of(text: str | bytes, limit: int = 300) -> str:
    """A short printable excerpt of bad input, safe to store and show."""
    if isinstance(text, bytes):
        text = text[: limit * 4].decode("utf-8", "replace")
    text = "".join(ch if ch.isprintable() or ch in "\n\t" else "\ufffd" for ch in text[:limit])
    return text

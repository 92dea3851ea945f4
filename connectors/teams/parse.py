"""Pure functions turning one Microsoft Graph chatMessage (Teams export APIs) into a record, and its text."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Mapping
from typing import Any

from bs4 import NavigableString, Tag

from connectors.mail.htmltext import (
    MARKUP_STRINGS,
    at_most_one_blank_line,
    quiet_soup,
    soft_breaks_resolved,
)
from connectors.mail.htmltext import SOFT_BREAK as _SOFT
from connectors.mail.settings import HTML_BLOCK_TAGS, HTML_DROP_TAGS
from ground.records import CHANNEL_TEAMS, MessageRecord, QuarantineRecord, excerpt_of

from . import settings as s

# Graph's chatMessage vocabulary (not in settings: only this module reads it).
_TYPE_MESSAGE = "message"
_CONTENT_TEXT = "text"
_ATTACHMENT_QUOTE = "messageReference"  # a quoted earlier message; `content` is JSON with its preview
_ATTACHMENT_FILE = "reference"  # a file shared in the message
_AUTOMATED_APPLICATION = "teams_application"  # a bot or connector posted it, or Graph names no sender

# Graph writes "2021-03-29T03:22:46.893Z", with up to 7 fractional digits (.NET ticks).
_ISO_RE = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:[.,](\d+))?\s*(?:[Zz]|([+-])(\d{2}):?(\d{2}))?"
)

# HTML rendering. Teams bodies are small and regular (<p>, <div>, <br>, <at>, <emoji>, <attachment>), but mail's
# html_to_text does not fit: it drops blockquotes from the full text, and knows neither emoji nor attachments. This
# walk is its own; the tags, soft breaks and tidying are mail's (connectors.mail).
_DROP_TAGS = frozenset(HTML_DROP_TAGS)  # never visible
_BLOCK_TAGS = HTML_BLOCK_TAGS  # <pre> among them is read first, as a _PRE_TAGS tag
_PRE_TAGS = frozenset({"pre", "codeblock"})  # line breaks in their text are the author's
_EMOJI_ITEMTYPE = "schema.skype.com/Emoji"  # older bodies write emoji as <img itemtype="...Emoji" alt="🙂">
_WS = re.compile(r"[ \t\r\n\f\v\u200b\xa0\x00]+")  # &nbsp; is how Teams writes many plain spaces
_SPACES = re.compile(r"[ \t\xa0]+")
_MAX_QUOTE_DEPTH = 20  # blockquotes nested deeper are rendered flat: input must not reach the recursion limit


def _str(value: object) -> str | None:
    """A non-empty string, or None for anything else."""
    return value if isinstance(value, str) and value else None


def _dict(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, dict) else {}


def _lower(value: object) -> str | None:
    text = _str(value)
    return (text.strip().lower() or None) if text else None


def safe_excerpt(value: object) -> str:
    """A short JSON excerpt of a value for a quarantine record, without failing on anything."""
    try:
        return excerpt_of(json.dumps(value, ensure_ascii=False, default=str))
    except (ValueError, TypeError, RecursionError):
        return f"<{type(value).__name__}>"


# --- time and sender ---------------------------------------------------------------------------------------


def parse_time(value: object) -> dt.datetime | None:
    """Aware UTC datetime of a Graph timestamp; fractions beyond microseconds are cut; None if unreadable.

    A time without a zone is taken as UTC: Graph writes every chatMessage time in UTC."""
    if not isinstance(value, str):
        return None
    match = _ISO_RE.fullmatch(value.strip())
    if match is None:
        return None
    year, month, day, hour, minute, second, fraction, sign, off_h, off_m = match.groups()
    offset = dt.timedelta(0)
    if sign:
        offset = dt.timedelta(hours=int(off_h), minutes=int(off_m)) * (-1 if sign == "-" else 1)
    try:
        local = dt.datetime(
            int(year),
            int(month),
            int(day),
            int(hour),
            int(minute),
            int(second),
            int((fraction or "")[:6].ljust(6, "0")),
            tzinfo=dt.timezone(offset),
        )
        return local.astimezone(dt.UTC)
    except (ValueError, OverflowError):  # impossible date, offset of a day or more, out of range in UTC
        return None


def _sender(item: Mapping[str, Any]) -> tuple[str | None, str | None, str | None, bool]:
    """(sender id, display name, tenant id, automated) from `from`: a user, an application, or nobody."""
    origin = _dict(item.get("from"))
    user = _dict(origin.get("user"))
    if user:
        return _lower(user.get("id")), _str(user.get("displayName")), _lower(user.get("tenantId")), False
    # An application (bot, connector, workflow), a device, or no sender at all: no person wrote it.
    application = _dict(origin.get("application"))
    return _lower(application.get("id")), _str(application.get("displayName")), None, True


# --- text --------------------------------------------------------------------------------------------------


def _attachments(attachments: object) -> list[Mapping[str, Any]]:
    return [a for a in attachments if isinstance(a, dict)] if isinstance(attachments, list) else []


def _reference_content(content: object) -> Mapping[str, Any]:
    """A messageReference's content: JSON text as Graph sends it (or already an object)."""
    if isinstance(content, str):
        try:
            content = json.loads(content)
        except (ValueError, RecursionError):
            return {}
    return _dict(content)


def quote_lines(attachment: Mapping[str, Any]) -> str:
    """A quoted message (messageReference attachment) as "> {sender}: {preview}" lines; "" if it says nothing."""
    content = _reference_content(attachment.get("content"))
    sender = _dict(content.get("messageSender"))
    name = _str(_dict(sender.get("user")).get("displayName")) or _str(
        _dict(sender.get("application")).get("displayName")
    )
    preview = _str(content.get("messagePreview")) or ""
    lines = [_SPACES.sub(" ", line).strip() for line in preview.replace("\r", "\n").split("\n")]
    lines = [line for line in lines if line]
    if name:
        lines = [f"{name}: {lines[0]}" if lines else f"{name}:", *lines[1:]]
    return "\n".join(f"> {line}" for line in lines)


def _tidy(text: str) -> str:
    """Soft breaks made line breaks (one per boundary), spaces folded, lines stripped, at most one blank line."""
    lines = [_SPACES.sub(" ", line).strip() for line in soft_breaks_resolved(text).split("\n")]
    return at_most_one_blank_line(lines)


def _quoted(text: str) -> str:
    """Text as quoted lines; a soft break on each side so it stands on lines of its own."""
    lines = [line for line in text.split("\n") if line.strip()]
    return _SOFT + "\n".join(f"> {line}" for line in lines) + _SOFT if lines else ""


def _render(root: Tag, *, quotes: Mapping[str, str] | None, used: set[str], depth: int = 0) -> str:
    """Visible text under `root`. With `quotes` (attachment id -> quote lines), quoted messages are rendered:
    the attachment's lines where its <attachment> tag stands, a blockquote as "> " lines. Without, both are
    dropped (the new text). Ids of the attachments rendered are added to `used`."""
    out: list[str] = []
    # Iterative walk: deeply nested HTML must not hit the recursion limit.
    stack: list[object] = list(reversed(root.contents))
    while stack:
        node = stack.pop()
        if node is None:  # end of a block element
            out.append(_SOFT)
            continue
        if isinstance(node, NavigableString):
            if not isinstance(node, MARKUP_STRINGS):
                out.append(_WS.sub(" ", str(node)))
            continue
        if not isinstance(node, Tag):
            continue
        name = node.name
        if name in _DROP_TAGS:
            continue
        if name == "br":
            out.append("\n")
        elif name == "attachment":
            # Files and cards stand as attachments too; only a quoted message has text to show here.
            attachment_id = _str(node.get("id"))
            if quotes is not None and attachment_id in quotes:
                used.add(attachment_id)
                out.append(_SOFT + quotes[attachment_id] + _SOFT if quotes[attachment_id] else "")
        elif name == "emoji" or (name == "img" and _EMOJI_ITEMTYPE in str(node.get("itemtype", ""))):
            alt = _str(node.get("alt"))
            if alt is not None:
                out.append(_WS.sub(" ", alt))
            elif name == "emoji":
                stack.extend(reversed(node.contents))
        elif name == "blockquote":
            if quotes is None:
                continue
            if depth >= _MAX_QUOTE_DEPTH:
                out.append(_SOFT)
                stack.append(None)
                stack.extend(reversed(node.contents))
            else:
                out.append(_quoted(_render(node, quotes=quotes, used=used, depth=depth + 1)))
        elif name in _PRE_TAGS:
            lines = node.get_text().replace("\x00", " ").splitlines()
            out.append(_SOFT + "\n".join(lines) + _SOFT)
        elif name in _BLOCK_TAGS:
            out.append(_SOFT)
            stack.append(None)
            stack.extend(reversed(node.contents))
        elif name == "at":  # a mention, written "@name" as Slack's are: the text rules skip it
            mentioned = _WS.sub(" ", node.get_text()).strip()
            out.append(f"@{mentioned}" if mentioned else "")
        else:  # inline: <span>, <a>, <b>...: their text
            stack.extend(reversed(node.contents))
    return _tidy("".join(out))


def message_text(body: object, attachments: object) -> tuple[str, str]:
    """(body_full, body_text) of a chatMessage's body and attachments.

    body_full is what the message shows: its text with each quoted message (messageReference attachment) as
    "> {sender}: {preview}" lines where its <attachment> tag stands (at the top when the body has no tag for it)
    and blockquotes as "> " lines; the names of shared files when the message has no text of its own.
    body_text is the new text only: no quoted messages, blockquotes or attachments."""
    body_map = _dict(body)
    content = body_map.get("content")
    content = content if isinstance(content, str) else ""
    items = _attachments(attachments)
    quotes = {
        attachment_id: quote_lines(a)
        for a in items
        if a.get("contentType") == _ATTACHMENT_QUOTE and (attachment_id := _str(a.get("id")))
    }
    used: set[str] = set()
    if str(body_map.get("contentType") or "").lower() == _CONTENT_TEXT:
        full = new = content.strip()
    else:
        soup = quiet_soup(content)
        full = _render(soup, quotes=quotes, used=used)
        new = _render(soup, quotes=None, used=set())
    # A quote the body does not place (a text body, an edited body) still belongs to what the message shows.
    unplaced = [text for attachment_id, text in quotes.items() if attachment_id not in used and text]
    names = (_str(a.get("name")) for a in items if a.get("contentType") == _ATTACHMENT_FILE)
    files = [name.strip() for name in names if name and name.strip()]
    extra = files if not new and files else []
    full = "\n".join(part for part in (*unplaced, full, *extra) if part)
    return full, new


# --- one message -------------------------------------------------------------------------------------------


def parse_chat_message(item: object, *, raw_ref: str, source: str) -> MessageRecord | QuarantineRecord | str:
    """One Microsoft Graph chatMessage (as the Teams export APIs /users/{id}/chats/getAllMessages and
    /teams/{id}/channels/getAllMessages return it) as a message record, a quarantine record, or the reason (a
    str from settings: SKIP_SYSTEM, SKIP_DELETED) it is skipped."""
    if not isinstance(item, dict):
        return QuarantineRecord(source, raw_ref, s.REASON_UNREADABLE, safe_excerpt(item))
    # A missing messageType is read as a message: Graph always sends one, and dropping text silently is worse.
    message_type = item.get("messageType")
    if isinstance(message_type, str) and message_type != _TYPE_MESSAGE:
        return s.SKIP_SYSTEM
    if item.get("deletedDateTime") not in (None, ""):
        return s.SKIP_DELETED

    message_id = _str(item.get("id"))
    message_id = message_id.strip() if message_id else None
    chat_id = _str(item.get("chatId"))
    channel_id = _str(_dict(item.get("channelIdentity")).get("channelId"))
    container = chat_id or channel_id
    sent_at = parse_time(item.get("createdDateTime"))
    if not message_id or container is None or sent_at is None:
        return QuarantineRecord(source, raw_ref, s.REASON_UNREADABLE, safe_excerpt(item))

    prefix = f"{s.KEY_PREFIX}:{container}"
    if chat_id:
        # A chat is one conversation, measured in segments like a Slack channel.
        conversation_key, in_reply_to = f"{prefix}:{s.CHAT_MAIN}", None
    else:
        reply_to = _str(item.get("replyToId"))
        root = reply_to if reply_to and reply_to != message_id else None
        conversation_key = f"{prefix}:{root or message_id}"
        in_reply_to = f"{prefix}:{root}" if root else None

    sender, sender_name, tenant_id, automated = _sender(item)
    body_full, body_text = message_text(item.get("body"), item.get("attachments"))
    subject = _str(item.get("subject"))

    return MessageRecord(
        message_key=f"{prefix}:{message_id}",
        channel=CHANNEL_TEAMS,
        source=source,
        sent_at=sent_at,
        raw_ref=raw_ref,
        sender=sender,
        sender_name=sender_name,
        sender_email=None,
        sender_team_id=tenant_id,
        subject=(subject.strip() or None) if subject else None,
        body_text=body_text,
        body_full=body_full,
        in_reply_to=in_reply_to,
        conversation_key=conversation_key,
        is_automated=automated,
        automated_reason=_AUTOMATED_APPLICATION if automated else None,
    )

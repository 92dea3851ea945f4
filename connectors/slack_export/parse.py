"""Pure functions turning Slack export JSON (directory entries, one message) into records, and text rendering."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections.abc import Mapping, Sequence
from typing import Any

from ground.records import CHANNEL_SLACK, MessageRecord, QuarantineRecord

from . import settings as s

_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


@dataclasses.dataclass(slots=True)
class SlackUserRecord:
    """One user from users.json, as stored in raw.slack_users."""

    user_id: str
    team_id: str | None
    name: str | None
    real_name: str | None  # real name, else display name
    email: str | None
    is_bot: bool
    raw_ref: str

    @property
    def display(self) -> str | None:
        """The name to show for this user: real or display name, else the handle."""
        return self.real_name or self.name


@dataclasses.dataclass(slots=True)
class SlackChannelRecord:
    """One conversation from channels.json, groups.json, mpims.json or dms.json (or the API), as in
    raw.slack_channels."""

    channel_id: str
    name: str | None  # None for DMs, which have no name
    is_shared: bool | None  # None when the export does not say
    raw_ref: str
    kind: str | None = None  # public_channel, private_channel, im, mpim; None when unknown
    team_ids: list[str] | None = None  # teams it belongs to or is shared with; None when unknown
    member_ids: list[str] | None = None  # DMs and group DMs only; None when unknown


@dataclasses.dataclass(frozen=True, slots=True)
class Conversation:
    """Where the messages of one day file belong."""

    channel_id: str
    channel_name: str | None
    flags: tuple[str, ...] = ()


@dataclasses.dataclass(slots=True)
class Directory:
    """Users and channel names, for sender details and mention rendering."""

    users: Mapping[str, SlackUserRecord] = dataclasses.field(default_factory=dict)
    channel_names: Mapping[str, str] = dataclasses.field(default_factory=dict)


def _str(value: object) -> str | None:
    """A non-empty string, or None for anything else."""
    return value if isinstance(value, str) and value else None


def _dict(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, dict) else {}


def safe_excerpt(value: object) -> str:
    """JSON text of a value for a quarantine excerpt, without failing on anything json.loads can return."""
    try:
        return json.dumps(value, ensure_ascii=False)[:1000]
    except (ValueError, TypeError, RecursionError):
        return f"<{type(value).__name__}>"


# --- directory -------------------------------------------------------------------------------------------


def parse_user(entry: object, ref: str, source: str) -> SlackUserRecord | QuarantineRecord:
    """One entry of users.json (or users.info's user), or a quarantine record saying why it is not a user."""
    if not isinstance(entry, dict):
        return QuarantineRecord(source, ref, s.Q_USER_NOT_AN_OBJECT, safe_excerpt(entry))
    user_id = _str(entry.get("id"))
    if user_id is None:
        return QuarantineRecord(source, ref, s.Q_USER_WITHOUT_ID, safe_excerpt(entry))
    profile = _dict(entry.get("profile"))
    return SlackUserRecord(
        user_id=user_id,
        team_id=_str(entry.get("team_id")) or _str(profile.get("team")),
        name=_str(entry.get("name")),
        real_name=_str(entry.get("real_name"))
        or _str(profile.get("display_name"))
        or _str(profile.get("real_name")),
        email=_str(profile.get("email")),
        is_bot=entry.get("is_bot") is True or user_id == s.SLACKBOT_USER_ID,
        raw_ref=ref,
    )


def parse_users(
    data: object, file_ref: str, source: str
) -> tuple[list[SlackUserRecord], list[QuarantineRecord]]:
    """Users from a parsed list of user objects; bad entries become quarantine records."""
    if not isinstance(data, list):
        return [], [QuarantineRecord(source, file_ref, s.Q_DIRECTORY_NOT_A_LIST, safe_excerpt(data))]
    return _split([parse_user(entry, f"{file_ref}#{index}", source) for index, entry in enumerate(data)])


def _split(records: list[Any]) -> tuple[list[Any], list[QuarantineRecord]]:
    return (
        [r for r in records if not isinstance(r, QuarantineRecord)],
        [r for r in records if isinstance(r, QuarantineRecord)],
    )


def _is_shared(entry: Mapping[str, Any]) -> bool | None:
    flags = [entry[k] for k in ("is_ext_shared", "is_shared", "is_pending_ext_shared") if k in entry]
    if not flags:
        return None
    return any(flag is True for flag in flags)


def _strings(value: object) -> list[str]:
    return [v for v in value if isinstance(v, str) and v] if isinstance(value, list) else []


def _kind(entry: Mapping[str, Any], default: str | None) -> str | None:
    """The conversation's kind from its own flags (the API's, some exports'), else the directory file's."""
    if entry.get("is_im") is True:
        return s.KIND_IM
    if entry.get("is_mpim") is True:
        return s.KIND_MPIM
    if entry.get("is_private") is True or entry.get("is_group") is True:
        return s.KIND_PRIVATE
    if entry.get("is_channel") is True:
        return s.KIND_PUBLIC
    return default


def _team_ids(entry: Mapping[str, Any]) -> list[str] | None:
    """Every team the conversation belongs to or is shared with; Slack spreads them over three fields (the host,
    the teams it is shared with from this workspace's view, the connected ones). Pending invitations are not."""
    teams = _strings(entry.get("shared_team_ids")) + _strings(entry.get("connected_team_ids"))
    host = _str(entry.get("conversation_host_id"))
    return list(dict.fromkeys([*teams, *([host] if host else [])])) or None


def _member_ids(entry: Mapping[str, Any], kind: str | None) -> list[str] | None:
    """Members of a DM or group DM: the export's `members`, the API's `user` (the other side of a DM)."""
    if kind not in s.DIRECT_KINDS:
        return None
    user = _str(entry.get("user"))
    return list(dict.fromkeys([*_strings(entry.get("members")), *([user] if user else [])])) or None


def parse_channel(
    entry: object, ref: str, source: str, kind: str | None = None
) -> SlackChannelRecord | QuarantineRecord:
    """One entry of channels/groups/mpims/dms.json (or conversations.list), or why it is not a conversation.
    `kind` is the kind of conversation the file lists, when it says."""
    if not isinstance(entry, dict):
        return QuarantineRecord(source, ref, s.Q_CHANNEL_NOT_AN_OBJECT, safe_excerpt(entry))
    channel_id = _str(entry.get("id"))
    if channel_id is None:
        return QuarantineRecord(source, ref, s.Q_CHANNEL_WITHOUT_ID, safe_excerpt(entry))
    name = _str(entry.get("name"))
    entry_kind = _kind(entry, kind)
    return SlackChannelRecord(
        channel_id,
        name.lstrip("#") if name else None,
        _is_shared(entry),
        ref,
        kind=entry_kind,
        team_ids=_team_ids(entry),
        member_ids=_member_ids(entry, entry_kind),
    )


def parse_channels(
    data: object, file_ref: str, source: str, kind: str | None = None
) -> tuple[list[SlackChannelRecord], list[QuarantineRecord]]:
    """Conversations from a parsed channels/groups/mpims/dms.json (or API conversation objects); bad entries
    become quarantine records. `kind` is the kind of conversation the file lists, when it says."""
    if not isinstance(data, list):
        return [], [QuarantineRecord(source, file_ref, s.Q_DIRECTORY_NOT_A_LIST, safe_excerpt(data))]
    return _split(
        [parse_channel(entry, f"{file_ref}#{index}", source, kind) for index, entry in enumerate(data)]
    )


# --- one message -----------------------------------------------------------------------------------------


def parse_ts(ts: object) -> dt.datetime | None:
    """Aware UTC datetime of a Slack ts string ("1731751920.000200"), exact to the microsecond; None if invalid."""
    if not isinstance(ts, str):
        return None
    match = s.TS_RE.match(ts)
    if match is None:
        return None
    seconds, fraction = match.groups()
    try:
        return _EPOCH + dt.timedelta(seconds=int(seconds), microseconds=int((fraction or "").ljust(6, "0")))
    except OverflowError:
        return None


def skip_reason(message: Mapping[str, Any]) -> str | None:
    """Why a message object is an event to skip (its subtype, or "hidden"), or None if it is a message."""
    subtype = message.get("subtype")
    if isinstance(subtype, str) and subtype in s.SKIPPED_SUBTYPES:
        return subtype
    if message.get("hidden") is True:
        return s.SKIP_HIDDEN
    return None


def automated_reason(message: Mapping[str, Any], user: SlackUserRecord | None) -> str | None:
    """Why a message is automated (bot message, bot id, bot user), or None."""
    if message.get("subtype") == s.SUBTYPE_BOT_MESSAGE:
        return s.AUTOMATED_BOT_MESSAGE
    if _str(message.get("bot_id")) or isinstance(message.get("bot_profile"), dict):
        return s.AUTOMATED_BOT_ID
    if (user is not None and user.is_bot) or message.get("user") == s.SLACKBOT_USER_ID:
        return s.AUTOMATED_BOT_USER
    return None


def decode_entities(text: str) -> str:
    """Undo Slack's escaping of <, > and & (in one pass, so "&amp;lt;" stays "&lt;")."""
    return s.ENTITY_RE.sub(lambda m: s.ENTITIES[m.group(1)], text)


def _render_token(body: str, directory: Directory) -> str:
    target, _, label = body.partition("|")
    label = decode_entities(label)
    kind, rest = target[0], target[1:]
    if kind == "@":
        user = directory.users.get(rest)
        return "@" + ((user.display if user else None) or label.lstrip("@") or rest)
    if kind == "#":
        return "#" + (label.lstrip("#") or directory.channel_names.get(rest) or rest)
    if kind == "!":
        command, _, argument = rest.partition("^")
        if command in s.BROADCAST_COMMANDS:
            return "@" + command
        if command == "subteam":
            return "@" + (label.lstrip("@") or argument or command)
        return label or "@" + command
    url = decode_entities(target)
    if url.lower().startswith("mailto:"):
        address = url[len("mailto:") :]
        return address if not label or label == address else f"{label} ({address})"
    return url if not label or label == url else f"{label} ({url})"


def render_text(text: str, directory: Directory) -> str:
    """Slack markup as plain text: mentions by name, links as "label (url)", entities decoded."""
    parts = s.TOKEN_RE.split(text)
    # re.split with one group alternates plain text (even indexes) and token bodies (odd indexes).
    return "".join(
        _render_token(part, directory) if i % 2 else decode_entities(part) for i, part in enumerate(parts)
    )


def strip_quotes(text: str) -> str:
    """The text without quoted lines ("> ..."), and without everything after a ">>>" block quote."""
    kept: list[str] = []
    for line in text.split("\n"):
        if line.startswith(">>>"):
            break
        if line.startswith("> ") or line.rstrip() == ">":
            continue
        kept.append(line)
    return "\n".join(kept).strip()


def _file_titles(files: object) -> str:
    if not isinstance(files, list):
        return ""
    titles = []
    for file in files:
        if isinstance(file, dict):
            title = _str(file.get("title")) or _str(file.get("name"))
            titles.append(f"[file: {title}]" if title else "[file]")
    return " ".join(titles)


def _sender_name(message: Mapping[str, Any], user: SlackUserRecord | None) -> str | None:
    profile = _dict(message.get("user_profile"))
    return (
        (user.display if user else None)
        or _str(profile.get("real_name"))
        or _str(profile.get("display_name"))
        or _str(message.get("username"))
        or _str(_dict(message.get("bot_profile")).get("name"))
    )


def parse_message(
    item: object,
    *,
    conversation: Conversation,
    directory: Directory,
    raw_ref: str,
    source: str = s.DEFAULT_SOURCE,
) -> MessageRecord | QuarantineRecord | None:
    """One list item of a day file as a message, a quarantine record, or None for a skipped event."""
    if not isinstance(item, dict):
        return QuarantineRecord(source, raw_ref, s.Q_MESSAGE_NOT_AN_OBJECT, safe_excerpt(item))
    if skip_reason(item) is not None:
        return None
    ts = item.get("ts")
    sent_at = parse_ts(ts)
    if sent_at is None or not isinstance(ts, str):
        return QuarantineRecord(source, raw_ref, s.Q_MESSAGE_WITHOUT_TS, safe_excerpt(item))

    thread_ts = item.get("thread_ts")
    thread_ts = thread_ts if parse_ts(thread_ts) is not None else None
    channel_id = conversation.channel_id

    user_id = _str(item.get("user"))
    user = directory.users.get(user_id) if user_id else None
    profile = _dict(item.get("user_profile"))
    reason = automated_reason(item, user)

    text = item.get("text")
    body_full = render_text(text, directory) if isinstance(text, str) else ""
    if not body_full.strip():
        body_full = _file_titles(item.get("files")) or body_full

    return MessageRecord(
        message_key=f"{channel_id}:{ts}",
        channel=CHANNEL_SLACK,
        source=source,
        sent_at=sent_at,
        raw_ref=raw_ref,
        sender=user_id or _str(item.get("bot_id")),
        sender_name=_sender_name(item, user),
        sender_email=(user.email if user else None) or _str(profile.get("email")),
        sender_team_id=_str(item.get("user_team"))
        or _str(item.get("team"))
        or (user.team_id if user else None),
        body_text=strip_quotes(body_full),
        body_full=body_full,
        conversation_key=f"{channel_id}:{thread_ts}" if thread_ts else f"{channel_id}:main",
        is_automated=reason is not None,
        automated_reason=reason,
        slack_channel_id=channel_id,
        slack_channel_name=conversation.channel_name,
        slack_thread_ts=thread_ts,
        flags=list(conversation.flags),
    )


def group_by_id(records: Sequence[SlackUserRecord]) -> dict[str, SlackUserRecord]:
    """Users by id; the first entry wins when users.json repeats an id."""
    by_id: dict[str, SlackUserRecord] = {}
    for record in records:
        by_id.setdefault(record.user_id, record)
    return by_id

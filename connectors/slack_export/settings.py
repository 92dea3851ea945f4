"""Constants of the Slack export connector: file layout, skipped events, automation reasons, patterns."""

from __future__ import annotations

import re

from . import jsonlist

DEFAULT_SOURCE = "slack_export"

# Directory files at the export root. Channels and groups have folders named by channel name; DMs and
# MPIMs by id (some exporters name MPIM folders by name, so both are looked up).
USERS_FILE = "users.json"
# Kinds of conversation, as in raw.slack_channels.kind.
KIND_PUBLIC = "public_channel"
KIND_PRIVATE = "private_channel"
KIND_IM = "im"
KIND_MPIM = "mpim"
DIRECT_KINDS = frozenset({KIND_IM, KIND_MPIM})
# Each directory file lists one kind of conversation (its entries' own flags win when they have some).
CHANNEL_DIRECTORY_FILES = {
    "channels.json": KIND_PUBLIC,
    "groups.json": KIND_PRIVATE,
    "mpims.json": KIND_MPIM,
    "dms.json": KIND_IM,
}
DIRECTORY_FILES = (USERS_FILE, *CHANNEL_DIRECTORY_FILES)

# Zips made by hand (e.g. macOS "Compress") add this folder of resource forks; desktops leave these files.
IGNORED_TOP_FOLDERS = frozenset({"__MACOSX"})
OS_METADATA_FILES = frozenset({".DS_Store", "Thumbs.db", "desktop.ini"})
APPLEDOUBLE_PREFIX = "._"  # macOS resource forks beside each file ("._2024-11-16.json")

# Files read as a stream of chunks of this size; a zip member up to WHOLE_MEMBER_BYTES is read whole first, as
# its checksum is only known at its end (a larger one is read through once to check it, then streamed).
READ_CHUNK_BYTES = 1 << 20
WHOLE_MEMBER_BYTES = 32 << 20
# One JSON value (a message, a user, or a whole file that is not a list) longer than this is not read: memory
# stays bounded whatever the input; Slack messages are at most a few hundred KB of JSON.
MAX_VALUE_CHARS = 16 << 20

# Only files named exactly like this inside a conversation folder are day files.
DAY_FILE_RE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})\.json$")

# Slack ts: seconds since the epoch (UTC), a dot and microseconds.
TS_RE = re.compile(r"^(\d{1,12})(?:\.(\d{1,6}))?$")

# Channel events and hidden edit/delete events: not messages anybody wrote, so never a request or answer.
SKIPPED_SUBTYPES = frozenset(
    {
        "channel_join",
        "channel_leave",
        "channel_topic",
        "channel_purpose",
        "channel_name",
        "channel_archive",
        "channel_unarchive",
        "group_join",
        "group_leave",
        "group_topic",
        "group_purpose",
        "group_name",
        "group_archive",
        "group_unarchive",
        "pinned_item",
        "unpinned_item",
        "tombstone",
        "message_replied",
        "message_changed",
        "message_deleted",
        # Housekeeping notices posted in a person's name: counting them would open or answer requests.
        "bot_add",
        "bot_remove",
        "reminder_add",
        "channel_convert_to_private",
        "channel_convert_to_public",
        "sh_room_created",
        "huddle_thread",
    }
)
SKIP_HIDDEN = "hidden"  # stats key for `"hidden": true` events whose subtype is not in SKIPPED_SUBTYPES

SUBTYPE_BOT_MESSAGE = "bot_message"
SLACKBOT_USER_ID = "USLACKBOT"

AUTOMATED_BOT_MESSAGE = "slack:bot_message"
AUTOMATED_BOT_ID = "slack:bot_id"
AUTOMATED_BOT_USER = "slack:bot_user"

# Quarantine reasons.
Q_EMPTY_FILE = jsonlist.EMPTY
Q_UNREADABLE_FILE = "unreadable_file"
Q_INVALID_JSON = jsonlist.INVALID_JSON
Q_DAY_FILE_NOT_A_LIST = "day_file_not_a_list"
Q_MESSAGE_NOT_AN_OBJECT = "message_not_an_object"
Q_MESSAGE_WITHOUT_TS = "message_without_ts"
Q_PARSE_ERROR = "parse_error"
Q_DIRECTORY_NOT_A_LIST = "directory_file_not_a_list"
Q_USER_NOT_AN_OBJECT = "user_not_an_object"
Q_USER_WITHOUT_ID = "user_without_id"
Q_CHANNEL_NOT_AN_OBJECT = "channel_not_an_object"
Q_CHANNEL_WITHOUT_ID = "channel_without_id"
Q_VALUE_TOO_LARGE = jsonlist.VALUE_TOO_LARGE
Q_UNSAFE_PATH = "unsafe_path"  # "..", NUL, an absolute path, a link out of the export, not a regular file
Q_INVALID_DAY_FILE_NAME = "invalid_day_file_name"  # YYYY-MM-DD.json that is no date (2026-02-30.json)

# Files that are not read, counted by reason in the ingest summary (they are not Slack messages).
SKIP_OS_METADATA = "os_metadata"  # __MACOSX/, .DS_Store, ._* resource forks...
SKIP_ROOT_FILE = "unused_root_file"  # integration_logs.json, canvases... beside the directory files
SKIP_NOT_A_DAY_FILE = "not_a_day_file"  # other files in or under conversation folders
SKIP_OUTSIDE_EXPORT_FOLDER = "outside_export_folder"  # beside the one folder a zip wraps its export in
SKIP_DUPLICATE_NAME = "duplicate_zip_member"  # a zip may hold two members of one name: the last is read

# Slack markup: <@U123|label>, <#C123|name>, <!here>, <!subteam^S1|@team>, <https://x|label>, <mailto:a@b>.
# The target must look like one of these so that a stray "<" in broken input is left alone.
TOKEN_RE = re.compile(r"<([@#!][^<>]*|[A-Za-z][A-Za-z0-9+.\-]*:[^<>]*)>")
ENTITY_RE = re.compile(r"&(lt|gt|amp);")
ENTITIES = {"lt": "<", "gt": ">", "amp": "&"}
BROADCAST_COMMANDS = frozenset({"here", "channel", "everyone"})

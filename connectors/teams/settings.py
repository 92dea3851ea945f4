"""Constants for the Microsoft Teams connector: sources, paths, keys, skip and quarantine reasons."""

from __future__ import annotations

import datetime as dt

from ground.records import CHANNEL_TEAMS as CHANNEL  # noqa: F401 - core.messages.channel

SOURCE = "teams"  # core.messages.source and meta.sync_state.source for the live Graph read
SOURCE_FILES = "teams_export"  # core.messages.source for saved Graph answers read from files

# Keys. Teams chat and channel ids contain ':' ("19:abc@thread.v2"), so the message id is always the last part:
#   message_key      teams:{chat or channel id}:{message id}      (one row however many participants' copies)
#   conversation_key teams:{chat id}:main                         (a chat; measured in segments, like Slack)
#                    teams:{channel id}:{root message id}         (a channel thread)
KEY_PREFIX = "teams"
CHAT_MAIN = "main"

# The Teams export APIs (app permissions Chat.Read.All / ChannelMessage.Read.All): every message of a user's
# chats, or of every channel of a team, replies included, filtered on a lastModifiedDateTime range.
USER_CHATS_PATH = "/users/{user}/chats/getAllMessages"
TEAM_CHANNELS_PATH = "/teams/{team}/channels/getAllMessages"
# A sender's address, from the directory (User.Read.All): what tells a vendor's guest from the company's people
USER_PATH = "/users/{user}"
USER_SELECT = "mail,userPrincipalName"

# Skipped items (counted in the run's notes, never stored)
SKIP_SYSTEM = "system_message"  # messageType other than "message": members added, calls, chat renamed...
SKIP_DELETED = "deleted"  # deletedDateTime is set (rows already stored are kept)

# Quarantine reasons
REASON_UNREADABLE = "teams_unreadable_message"  # no id, no container, no usable createdDateTime
SKIP_OTHER_CHANNEL = "other_channel"  # a channel of a listed team that [sources.teams] channels does not list

# Quarantine reason of a saved answer file that cannot be read as JSON messages
REASON_UNREADABLE_FILE = "teams_unreadable_file"

# Cursor (meta.sync_state.cursor) JSON keys: the next page of a round in progress, and the round's window.
CURSOR_NEXT = "next"
CURSOR_SINCE = "since"
CURSOR_UNTIL = "until"
# A round starts this long before the previous one ended: Graph may index a message modified just before a
# round's end after that round read it. What is read twice merges as already stored.
ROUND_OVERLAP = dt.timedelta(minutes=10)
# Error codes (lower-cased, with 400/404/409) meaning a nextLink is no longer accepted: restart the round.
EXPIRED_LINK_CODES = frozenset(
    {"invalidskiptoken", "skiptokenexpired", "syncstatenotfound", "resyncrequired", "badrequest"}
)

PERMISSIONS_HINT = (
    "the app needs the Chat.Read.All (users' chats) and ChannelMessage.Read.All (teams' channels) application "
    "permissions with admin consent"
)

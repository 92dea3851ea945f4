"""Posting rendered messages and files to Slack; every failure becomes a :class:`SlackPublishError`."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

from slack_sdk import WebClient
from slack_sdk.errors import SlackClientError

from ground.config import channel_key

from .client import CHANNEL_ID, SlackPublishError, publish_error


@dataclass
class RenderedMessage:
    """One Slack message: ``text`` is the notification fallback, ``plain`` the same content without markup."""

    text: str
    blocks: list[dict[str, Any]]
    plain: str = ""

    def payload(self) -> dict[str, Any]:
        """The ``chat.postMessage`` arguments (without channel and thread)."""
        return {"text": self.text, "blocks": self.blocks}


class PostedMessage(NamedTuple):
    channel_id: str
    ts: str


@contextmanager
def _calling(client: WebClient, method: str) -> Iterator[None]:
    try:
        yield
    except (SlackClientError, OSError) as exc:
        raise publish_error(method, exc, client.token) from None


def post_message(
    client: WebClient, channel: str, message: RenderedMessage, thread_ts: str | None = None
) -> PostedMessage:
    """Post ``message`` (in a thread when ``thread_ts`` is given); returns Slack's channel ID and message ts."""
    with _calling(client, "chat.postMessage"):
        response = client.chat_postMessage(
            channel=channel,
            text=message.text,
            blocks=message.blocks,
            thread_ts=thread_ts,
            unfurl_links=False,
            unfurl_media=False,
        )
    return PostedMessage(channel_id=str(response["channel"]), ts=str(response["ts"]))


def resolve_channel_id(client: WebClient, channel: str) -> str:
    """A channel ID for ``channel`` (an ID is returned as is; ``#name`` or ``name`` is looked up)."""
    if CHANNEL_ID.match(channel):
        return channel
    name = channel_key(channel)
    cursor = None
    with _calling(client, "conversations.list"):
        while True:
            response = client.conversations_list(
                types="public_channel,private_channel", exclude_archived=True, limit=200, cursor=cursor
            )
            for conversation in response.get("channels") or []:
                if channel_key(conversation.get("name") or "") == name:
                    return str(conversation["id"])
            cursor = (response.get("response_metadata") or {}).get("next_cursor")
            if not cursor:
                break
    raise SlackPublishError("conversations.list", "channel_not_found")


def upload_file(client: WebClient, channel: str, thread_ts: str | None, path: Path | str, title: str) -> None:
    """Upload ``path`` with ``files_upload_v2`` (getUploadURLExternal, POST, completeUploadExternal).

    ``channel`` should be a channel ID (e.g. ``PostedMessage.channel_id``); a ``#name`` is resolved first.
    """
    path = Path(path)
    channel_id = resolve_channel_id(client, channel)
    with _calling(client, "files.upload_v2"):
        client.files_upload_v2(
            channel=channel_id, thread_ts=thread_ts, file=str(path), filename=path.name, title=title
        )

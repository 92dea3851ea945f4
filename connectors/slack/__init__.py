"""Slack: a configured WebClient, reading channels (history), and posting rendered messages and files."""

from .client import SlackPublishError, make_client
from .publish import (
    PostedMessage,
    RenderedMessage,
    post_message,
    resolve_channel_id,
    upload_file,
)

__all__ = [
    "PostedMessage",
    "RenderedMessage",
    "SlackPublishError",
    "make_client",
    "post_message",
    "resolve_channel_id",
    "upload_file",
]

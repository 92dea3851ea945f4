"""Slack delivery: the daily digest (Block Kit rendering), a configured WebClient, and publishing."""

from .client import SlackPublishError, make_client
from .digest import (
    AlertLine,
    Digest,
    EvidenceItem,
    RenderedDigest,
    RenderedMessage,
    VendorDigest,
    WaitingItem,
    escape_text,
    render_digest,
    render_markdown,
    render_terminal,
    render_vendor_alert,
)
from .publish import (
    PostedMessage,
    post_message,
    resolve_channel_id,
    upload_file,
)

__all__ = [
    "AlertLine",
    "Digest",
    "EvidenceItem",
    "PostedMessage",
    "RenderedDigest",
    "RenderedMessage",
    "SlackPublishError",
    "VendorDigest",
    "WaitingItem",
    "escape_text",
    "make_client",
    "post_message",
    "render_digest",
    "render_markdown",
    "render_terminal",
    "render_vendor_alert",
    "resolve_channel_id",
    "upload_file",
]

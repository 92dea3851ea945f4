"""Slack delivery: the daily digest (Block Kit rendering), a configured WebClient, and publishing."""

from .client import SlackPublishError, make_client
from .digest import (
    AlertLine,
    Digest,
    EvidenceItem,
    RenderedDigest,
    RenderedMessage,
    VendorDigest,
    escape_text,
    render_digest,
    render_terminal,
    render_vendor_alert,
)
from .publish import (
    PostedMessage,
    PublishedDigest,
    post_message,
    publish_digest,
    resolve_channel_id,
    upload_file,
)

__all__ = [
    "AlertLine",
    "Digest",
    "EvidenceItem",
    "PostedMessage",
    "PublishedDigest",
    "RenderedDigest",
    "RenderedMessage",
    "SlackPublishError",
    "VendorDigest",
    "escape_text",
    "make_client",
    "post_message",
    "publish_digest",
    "render_digest",
    "render_terminal",
    "render_vendor_alert",
    "resolve_channel_id",
    "upload_file",
]

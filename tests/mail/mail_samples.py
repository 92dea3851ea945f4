"""Builders for raw test messages and mail files (real bytes on disk, nothing mocked)."""

from __future__ import annotations

from pathlib import Path

DATE = "Mon, 16 Nov 2026 10:12:00 +0100"


def message(
    body: str | bytes = "Hello.\n",
    *,
    subject: str | bytes = "Quote",
    date: str | None = DATE,
    message_id: str | None = "<m1@vendor.example>",
    sender: str | bytes = "Jean Dupont <jean@vendor.example>",
    extra: list[str] | None = None,
    content_type: str | None = "text/plain; charset=utf-8",
    newline: bytes = b"\n",
) -> bytes:
    """One RFC 5322 message as bytes; header values given as bytes are written raw (8-bit)."""
    lines: list[bytes] = []

    def add(name: str, value: str | bytes) -> None:
        lines.append(name.encode() + b": " + (value if isinstance(value, bytes) else value.encode()))

    add("From", sender)
    add("To", "Bob <bob@company.example>")
    add("Subject", subject)
    if date is not None:
        add("Date", date)
    if message_id is not None:
        add("Message-ID", message_id)
    for header in extra or []:
        name, value = header.split(":", 1)
        add(name, value.strip())
    if content_type:
        add("Content-Type", content_type)
    data = body if isinstance(body, bytes) else body.encode()
    return newline.join(lines) + newline + newline + data.replace(b"\n", newline)


def mbox(messages: list[bytes], newline: bytes = b"\n") -> bytes:
    out = b""
    for raw in messages:
        out += b"From sender@example.com Mon Nov 16 10:12:00 2026" + newline + raw
        if not raw.endswith(newline):
            out += newline
        out += newline
    return out


def write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path

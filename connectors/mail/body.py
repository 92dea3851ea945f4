"""Pick and decode the text body of a parsed message without decoding attachments."""

from __future__ import annotations

import binascii
import re
from email.message import Message

from .headers import decode_bytes
from .htmltext import html_to_texts
from .settings import MAX_BODY_CHARS, MAX_PART_BYTES

_CHARSET = re.compile(r'\bcharset\s*=\s*"?([^";\s]+)', re.IGNORECASE)
_NOT_B64 = re.compile(rb"[^A-Za-z0-9+/]")


def _is_attachment(part: Message) -> bool:
    disposition = str(part.get("content-disposition") or "").strip().lower()
    if disposition.startswith("attachment"):
        return True
    if disposition.startswith("inline"):
        return False
    # get_param parses the header on each call; the raw text rules most parts out first.
    if "name" not in str(part.get("content-type") or "").lower() and "name" not in disposition:
        return False
    return (
        part.get_param("name") is not None
        or part.get_param("filename", header="content-disposition") is not None
    )


def _text_parts(msg: Message) -> tuple[Message | None, Message | None]:
    """First text/plain and first text/html body part, not descending into attached messages. The HTML part
    is looked for after the plain one too: some mailers send an empty text/plain beside the real HTML."""
    plain = html = None
    stack = [msg]
    while stack:
        part = stack.pop()
        if part.is_multipart():
            if part is not msg and part.get_content_maintype() == "message":
                continue  # a forwarded/attached message is not this message's body
            payload = part.get_payload()
            if isinstance(payload, list):
                stack.extend(reversed(payload))
            continue
        ctype = part.get_content_type()
        if ctype not in ("text/plain", "text/html") or _is_attachment(part):
            continue
        # `is None`, not `or`: a Message without headers is falsy (its length is its header count).
        if ctype == "text/plain" and plain is None:
            plain = part
        elif ctype == "text/html" and html is None:
            html = part
        if plain is not None and html is not None:
            break
    return plain, html


def _b64decode(data: bytes) -> bytes:
    try:
        return binascii.a2b_base64(data)
    except binascii.Error:  # bad padding or a truncated payload: decode what is well formed
        cleaned = _NOT_B64.sub(b"", data)
        cleaned = cleaned[: len(cleaned) - (len(cleaned) % 4 == 1)]
        try:
            return binascii.a2b_base64(cleaned + b"=" * (-len(cleaned) % 4))
        except binascii.Error:
            return b""


def _decode_text(data: bytes, transfer_encoding: str, content_type: str) -> tuple[str, bool]:
    data = data[:MAX_PART_BYTES]
    cte = transfer_encoding.strip().lower()
    if cte == "base64":
        data = _b64decode(data)
    elif cte == "quoted-printable":
        data = binascii.a2b_qp(data)
    found = _CHARSET.search(content_type)
    return decode_bytes(data, found.group(1) if found else None)


def _decode_part(part: Message) -> tuple[str, bool]:
    # Not get_payload(): it decodes a payload with 8-bit bytes in the declared charset (errors replaced), and
    # _decode_text would decode that text a second time. The stored payload keeps 8-bit bytes as surrogates,
    # one character per byte: the original bytes come back, cut at MAX_PART_BYTES like a raw body.
    payload = part._payload
    if not isinstance(payload, str):
        return "", False
    data = payload[:MAX_PART_BYTES].encode("utf-8", "surrogateescape")
    return _decode_text(
        data, str(part.get("content-transfer-encoding") or ""), str(part.get("content-type") or "")
    )


def extract_body(
    msg: Message | None, raw_body: bytes | None = None, content_type: str = "", transfer_encoding: str = ""
) -> tuple[str, bool, bool, str]:
    """(full text body with LF line ends, charset repaired, taken from HTML, the text to extract the new text from:
    the full text, or for HTML its rendering with blockquotes as "> " lines).

    `raw_body` is the undecoded body of a single-part message whose body the caller did not parse (`msg` is
    then not used and may be None); `content_type` and `transfer_encoding` are then its raw headers.
    """
    text, repaired, markup = "", False, None
    if raw_body is not None:
        ctype = content_type.split(";", 1)[0].strip().lower()
        if ctype == "text/html":
            markup, repaired = _decode_text(raw_body, transfer_encoding, content_type)
        elif ctype == "text/plain" or "/" not in ctype:  # RFC 2045: a missing or invalid type is text/plain
            text, repaired = _decode_text(raw_body, transfer_encoding, content_type)
    elif msg is not None:
        plain, html = _text_parts(msg)
        if plain is not None:
            text, repaired = _decode_part(plain)
        if not text.strip() and html is not None:
            markup, repaired = _decode_part(html)
    if markup is not None and not text.strip():
        text, reply_source = html_to_texts(markup[: MAX_BODY_CHARS * 4])
        return text[:MAX_BODY_CHARS], repaired, True, reply_source[:MAX_BODY_CHARS]
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text[:MAX_BODY_CHARS], repaired, False, text[:MAX_BODY_CHARS]

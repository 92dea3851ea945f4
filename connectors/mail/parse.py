"""One raw message to a MessageRecord (or a QuarantineRecord saying why not)."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from email import policy
from email.message import Message
from email.parser import BytesParser

from ground.records import (
    CHANNEL_EMAIL,
    FLAG_CHARSET_REPAIRED,
    FLAG_DATE_FROM_RECEIVED,
    FLAG_DATE_WITHOUT_ZONE,
    FLAG_HTML_ONLY,
    FLAG_INVALID_REFERENCES,
    FLAG_SYNTHETIC_ID,
    MessageRecord,
    QuarantineRecord,
)

from .automated import automated_reason
from .body import extract_body
from .dates import parse_date
from .headers import (
    clean_message_id,
    decode_text_header,
    parse_addresses,
    parse_id_list,
    parse_sender,
    unescape_raw,
)
from .newtext import extract_new_text
from .settings import (
    REASON_EMPTY_MESSAGE,
    REASON_NO_DATE,
    REASON_NO_HEADERS,
    REASON_UNPARSABLE,
    SYNTHETIC_BODY_BYTES,
    SYNTHETIC_DOMAIN,
)

# compat32: policy.default builds header objects for every header and is several times slower.
_PARSER = BytesParser(policy=policy.compat32)
_FIELD_NAME = re.compile(r"[!-9;-~]+:")  # compat32's header line: printable ASCII but ":", then ":"

MULTIPART_FAST_PATH = True  # False sends every multipart message to the stdlib parser (tests compare the two)
_FAST_MULTIPART = frozenset({"multipart/alternative", "multipart/mixed", "multipart/related"})
_MAX_DEPTH = 8  # deeper (hostile) nesting goes to the stdlib parser: keeps our recursion short
# A Content-Type value read strictly: type/subtype, then "; name=value" params with a token or a quoted value
# without quotes or backslashes in it. Names with "*" (RFC 2231) do not match.
_CTYPE_HEAD = re.compile(r"\s*[A-Za-z0-9.+_-]+/[A-Za-z0-9.+_-]+\s*")
_CTYPE_PARAM = re.compile(r'\s*;\s*([A-Za-z0-9._-]+)\s*=\s*(?:"([^"\\]*)"|([^\s";\\]+))\s*')
# RFC 2046 boundary characters but space: nothing compat32's unquoting or rstrip would change.
_BOUNDARY = re.compile(r"[0-9A-Za-z'()+_,./:=?-]+")


def parse_email(raw: bytes, raw_ref: str, source: str = "mbox") -> MessageRecord | QuarantineRecord:
    """Parse one RFC 5322 message; never raises for bad input."""
    if not raw.strip():
        return QuarantineRecord(source=source, raw_ref=raw_ref, reason=REASON_EMPTY_MESSAGE)
    try:
        return _parse(raw, raw_ref, source)
    except Exception as exc:  # noqa: BLE001 - one broken message must not stop the others
        return QuarantineRecord(
            source=source, raw_ref=raw_ref, reason=REASON_UNPARSABLE, excerpt=f"{type(exc).__name__}: {exc}"
        )


def _parse(raw: bytes, raw_ref: str, source: str) -> MessageRecord | QuarantineRecord:
    items, msg, raw_body = _parse_message(raw)
    headers: dict[str, str] = {}
    address_values: list[str] = []
    for name, value in items:
        key = name.strip().lower()
        headers.setdefault(key, value)
        if key in ("to", "cc"):
            address_values.append(value)
    if not headers:
        return QuarantineRecord(source=source, raw_ref=raw_ref, reason=REASON_NO_HEADERS, excerpt=raw)

    flags: list[str] = []
    repaired = False

    date_raw = headers.get("date")
    sent_at, without_zone = parse_date(unescape_raw(date_raw)[0] if date_raw else None)
    if sent_at is None:
        sent_at, without_zone = _received_date(headers.get("received"))
        if sent_at is None:
            return QuarantineRecord(
                source=source, raw_ref=raw_ref, reason=REASON_NO_DATE, excerpt=f"Date: {date_raw or ''}"
            )
        flags.append(FLAG_DATE_FROM_RECEIVED)

    subject, fixed = decode_text_header(headers.get("subject"))
    repaired |= fixed
    sender, sender_name, fixed = parse_sender(headers.get("from"))
    repaired |= fixed
    pairs, fixed = parse_addresses(address_values)
    repaired |= fixed
    recipients = list(dict.fromkeys(addr for _, addr in pairs if addr))

    references, dropped_refs = parse_id_list(headers.get("references"))
    reply_ids, dropped_reply = parse_id_list(headers.get("in-reply-to"))
    in_reply_to = reply_ids[0] if reply_ids else None

    body_full, fixed, from_html, reply_source = extract_body(
        msg, raw_body, headers.get("content-type", ""), headers.get("content-transfer-encoding", "")
    )
    repaired |= fixed

    message_key = clean_message_id(headers.get("message-id"))
    if message_key is None:
        message_key = _synthetic_key(raw, headers)
        flags.append(FLAG_SYNTHETIC_ID)
    if without_zone:
        flags.append(FLAG_DATE_WITHOUT_ZONE)
    if dropped_refs or dropped_reply:
        flags.append(FLAG_INVALID_REFERENCES)
    if repaired:
        flags.append(FLAG_CHARSET_REPAIRED)
    if from_html:
        flags.append(FLAG_HTML_ONLY)

    reason = automated_reason(headers, subject)
    return MessageRecord(
        message_key=message_key,
        channel=CHANNEL_EMAIL,
        source=source,
        sent_at=sent_at,
        raw_ref=raw_ref,
        sender=sender,
        sender_name=sender_name,
        sender_email=sender,
        recipients=recipients,
        subject=subject,
        body_text=extract_new_text(reply_source, sender_name, sender),
        body_full=body_full,
        in_reply_to=in_reply_to,
        references=references,
        is_automated=reason is not None,
        automated_reason=reason,
        flags=flags,
    )


def _received_date(received: str | None) -> tuple[dt.datetime | None, bool]:
    """The date the topmost Received header ends with ("...; Thu, 20 Nov 2026 10:00:05 +0100"): when the last
    server, the receiving one, got the message. It stands in for a missing, unreadable or impossible Date."""
    if not received:
        return None, False
    return parse_date(unescape_raw(received)[0].rpartition(";")[2])


def _parse_message(raw: bytes) -> tuple[list[tuple[str, str]], Message | None, bytes | None]:
    """(raw header items, parsed message, raw body): a single-part body is left unparsed and returned raw, with
    no message; a plain multipart is split by _multipart_tree; otherwise the whole message is parsed by the
    stdlib. Only the first has a raw body.

    Parsing only the header block (ourselves when it is plain) and decoding a single-part body ourselves is
    several times faster than parsing the whole message; so is splitting a plain multipart ourselves.
    """
    body_start = _body_start(raw)
    if body_start >= 0:
        block = raw[:body_start]
        items = _simple_headers(block)
        if items is not None:
            ctype = next((value for name, value in items if name.lower() == "content-type"), "")
        else:
            msg = _PARSER.parsebytes(block, headersonly=True)
            if msg.defects or msg.get_payload():
                return _parsed_whole(raw)
            items = list(msg.raw_items())
            ctype = str(msg.get("content-type") or "")
        if not ctype.lstrip().lower().startswith(("multipart/", "message/")):
            return items, None, raw[body_start:]
        tree = _multipart_tree(items, raw[body_start:]) if MULTIPART_FAST_PATH else None
        if tree is not None:
            return items, tree, None
    return _parsed_whole(raw)


def _body_start(raw: bytes) -> int:
    """Index after the first blank line, LF or CRLF (where rb"\r?\n\r?\n" first matches ends), or -1."""
    # Two bytes.find calls are ~5x faster than that regex, which has no literal prefix to skip to. The CRLF one
    # stops where the LF one matched: only an earlier match counts, and an LF-only part (a base64 attachment of
    # hundreds of KB) is not scanned to its end for nothing.
    lf = raw.find(b"\n\n")
    crlf = raw.find(b"\n\r\n", 0, lf + 2 if lf >= 0 else len(raw))
    if crlf < 0 or 0 <= lf < crlf:
        return lf + 2 if lf >= 0 else -1
    return crlf + 3


def _parsed_whole(raw: bytes) -> tuple[list[tuple[str, str]], Message, None]:
    msg = _PARSER.parsebytes(raw)
    return list(msg.raw_items()), msg, None


def _multipart_tree(items: list[tuple[str, str]], body: bytes) -> Message | None:
    """The compat32 message the stdlib parser builds from these header items and body, as far as extract_body
    reads it (headers, nesting, leaf payloads), when the message is a plain alternative/mixed/related
    multipart; None for anything else, which the stdlib parser then handles.

    Much faster than the stdlib parser, which splits and scans every line of every part in Python.
    """
    if b"\r" in body and body.count(b"\r") != body.count(b"\r\n"):
        return None  # compat32 also ends a line at a lone CR
    return _with_parts(_headed(items), body, 0)


def _headed(items: list[tuple[str, str]]) -> Message:
    part = Message()
    for name, value in items:
        part.set_raw(name, value)
    return part


def _with_parts(part: Message, body: bytes, depth: int) -> Message | None:
    """`part`, a fast-path multipart, with the parts of its body attached; None if anything is unusual."""
    value = part.get("content-type")
    boundary = _boundary(value) if isinstance(value, str) else None
    if boundary is None or part.get_content_type() not in _FAST_MULTIPART or depth >= _MAX_DEPTH:
        return None
    chunks = _body_parts(body, boundary)
    if chunks is None:
        return None
    for chunk in chunks:
        # The parser reads headers up to the first line that is not a header line; a blank one is dropped.
        # An empty chunk (boundary lines in a row) has no blank line: None.
        head_end = 1 if chunk[:1] == b"\n" else 2 if chunk[:2] == b"\r\n" else _body_start(chunk)
        items = _simple_headers(chunk[:head_end]) if head_end >= 0 else None
        if items is None:
            return None
        sub = _headed(items)
        if sub.get_content_maintype() == "multipart":
            if _with_parts(sub, chunk[head_end:], depth + 1) is None:
                return None
        else:
            # RFC 2046: the line break before a boundary line belongs to the boundary, not to the part.
            # (A chunk ends with a line break; there is no lone CR.)
            sub.set_payload(chunk[head_end:].removesuffix(b"\n").removesuffix(b"\r"))
        part.attach(sub)
    return part


def _boundary(ctype: str) -> bytes | None:
    """The boundary compat32's get_boundary gives for this Content-Type value, when the value reads
    unambiguously: strict syntax, one boundary param, plain characters. None otherwise."""
    head = _CTYPE_HEAD.match(ctype)
    if head is None:
        return None
    pos, found = head.end(), []
    while param := _CTYPE_PARAM.match(ctype, pos):
        if param.group(1).lower() == "boundary":
            found.append(param.group(2) if param.group(2) is not None else param.group(3))
        pos = param.end()
    if ctype[pos:].strip() not in ("", ";") or len(found) != 1 or not _BOUNDARY.fullmatch(found[0]):
        return None
    return found[0].encode("ascii")


def _body_parts(body: bytes, boundary: bytes) -> list[bytes] | None:
    """The body parts of a multipart body, each with the line break before the next boundary line, split
    like compat32's feedparser: a boundary line is "--" boundary, "--" on the closing one, then spaces or tabs;
    preamble and epilogue are dropped. None where the feedparser notes a defect: no start or close boundary.
    Boundary lines in a row (the feedparser skips them) give an empty part, which the caller refuses.
    """
    sep = b"--" + boundary
    parts: list[bytes] = []
    start = -1  # where the current part starts, after its boundary line
    pos = body.find(sep)
    while pos >= 0:
        eol = body.find(b"\n", pos)
        end = len(body) if eol < 0 else eol + 1
        if pos == 0 or body[pos - 1 : pos] == b"\n":
            rest = body[pos + len(sep) : end].removesuffix(b"\n").removesuffix(b"\r")
            closing = rest.startswith(b"--")
            if not rest.removeprefix(b"--").strip(b" \t"):
                if start < 0 and closing:
                    return None
                if start >= 0:
                    parts.append(body[start:pos])
                if closing:
                    return parts
                start = end
        pos = body.find(sep, end)
    return None  # no close boundary, or no boundary at all


def _simple_headers(block: bytes) -> list[tuple[str, str]] | None:
    """The (name, value) items compat32 gives for a header block ending in its blank line, when the block is
    plain: ASCII, every line a field or its continuation. None for anything else (the stdlib handles it).

    Several times faster than the stdlib parser; tests check it gives the same items.
    """
    if not block.isascii():
        return None  # compat32 keeps 8-bit bytes as surrogates and returns such values as Header objects
    text = block.decode("ascii")
    if "\r" in text and text.count("\r") != text.count("\r\n"):
        return None  # compat32 also ends a line at a lone CR
    fields: list[tuple[str, list[str]]] = []
    for line in text.split("\n")[:-2]:  # without the blank line and the empty string after it
        if line.startswith((" ", "\t")):
            if not fields:
                return None  # a continuation before any field: a defect
            fields[-1][1].append(line)
            continue
        colon = _FIELD_NAME.match(line)
        if colon is None:
            return None  # not a field line (or a misplaced "From " line): the body starts early, or a defect
        fields.append((line[: colon.end() - 1], [line[colon.end() :].lstrip(" \t")]))
    # compat32's header_source_parse: continuation lines kept with their line breaks, the trailing one dropped.
    return [(name, "\n".join(parts).rstrip("\r\n")) for name, parts in fields]


def _synthetic_key(raw: bytes, headers: dict[str, str]) -> str:
    """Stable key from what identifies the message: same bytes give the same key, CRLF or LF."""
    body_start = _body_start(raw)
    body = raw[body_start : body_start + 2 * SYNTHETIC_BODY_BYTES] if body_start >= 0 else b""
    body = body.replace(b"\r\n", b"\n")[:SYNTHETIC_BODY_BYTES].rstrip()
    h = hashlib.sha1(usedforsecurity=False)
    for name in ("date", "from", "subject"):
        value = headers.get(name)
        text = unescape_raw(value)[0].strip() if value else ""
        h.update(text.encode("utf-8", "surrogatepass"))
        h.update(b"\x00")
    h.update(body)
    return f"synthetic-{h.hexdigest()}@{SYNTHETIC_DOMAIN}"

"""Header decoding that never raises: raw 8-bit bytes, unknown charsets and broken encoded words are repaired."""

from __future__ import annotations

import codecs
import re
from email.errors import HeaderParseError
from email.header import decode_header
from email.utils import getaddresses, parseaddr

from .settings import MESSAGE_ID_SHAPE

_FOLD = re.compile(r"\r?\n[ \t]*")
_WS = re.compile(r"\s+")
_ID_TOKEN = re.compile(r"<([^<>]*)>|([^\s<>,]+)")
_COMMENT = re.compile(r"\([^()]*\)")
_ID_SHAPE = re.compile(MESSAGE_ID_SHAPE)
_QUICK_ADDR = re.compile(
    r'[\s,]*(?:(?:"((?:[^"\\]|\\.)*)"|([^",<>@]*?))\s*<([^<>\s@]+@[^<>\s@]+)>'
    r'|([^\s,<>"@]+@[^\s,<>"@]+))[\s,]*'
)
_ADDR_FALLBACK = re.compile(r"[\w.!#$%&'*+/=?^`{|}~-]+@[\w-]+(?:\.[\w-]+)*")


def bytes_to_text(data: bytes) -> tuple[str, bool]:
    """Bytes in an unknown encoding as text: utf-8 if valid, else cp1252, else latin-1. Second item: repaired."""
    try:
        return data.decode("utf-8"), False
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252"), True
    except UnicodeDecodeError:
        return data.decode("latin-1"), True


def decode_bytes(data: bytes, charset: str | None) -> tuple[str, bool]:
    """Bytes declared in `charset`; falls back like bytes_to_text when the charset is unknown or wrong."""
    if charset:
        charset = charset.split("*", 1)[0].strip().strip('"').lower()  # RFC 2231 language suffix
    if not charset:
        return bytes_to_text(data)
    try:
        codecs.lookup(charset)
    except LookupError:
        return bytes_to_text(data)[0], True
    try:
        return data.decode(charset), False  # type: ignore[arg-type]
    except (UnicodeDecodeError, LookupError):
        text, _ = bytes_to_text(data)
        return text, True


def unescape_raw(value: str) -> tuple[str, bool]:
    """A compat32 raw header value (8-bit bytes surrogate-escaped) as unfolded text."""
    repaired = False
    if not value.isascii():
        raw = value.encode("ascii", "surrogateescape") if _has_surrogates(value) else value.encode("utf-8")
        value, repaired = bytes_to_text(raw)
    # Most values fit on one line: the regex only runs when there is a line break to unfold.
    return (_FOLD.sub(" ", value) if "\n" in value else value), repaired


def _has_surrogates(value: str) -> bool:
    return any("\udc80" <= ch <= "\udcff" for ch in value)


def decode_words(value: str) -> tuple[str, bool]:
    """RFC 2047 encoded words decoded; text already unescaped by unescape_raw. Second item: repaired."""
    if "=?" not in value:
        return value, False
    try:
        parts = decode_header(value)
    except (
        HeaderParseError,
        ValueError,
        LookupError,
        AssertionError,
    ):  # malformed encoded words: keep them as written
        return value, True
    out: list[str] = []
    repaired = False
    for chunk, charset in parts:
        if isinstance(chunk, str):
            out.append(chunk)
            continue
        if charset is None:
            text, fixed = bytes_to_text(chunk)
        else:
            text, fixed = decode_bytes(chunk, charset)
        repaired = repaired or fixed
        out.append(text)
    return "".join(out), repaired


def decode_text_header(value: str | None) -> tuple[str | None, bool]:
    """A free-text header (Subject) decoded, whitespace folded; None stays None."""
    if value is None:
        return None, False
    text, repaired = unescape_raw(value)
    text, fixed = decode_words(text)
    return _WS.sub(" ", text).strip(), repaired or fixed


def _quick_addresses(text: str) -> list[tuple[str, str]] | None:
    """The common address-list shapes parsed with one regex; None sends the text to the stdlib parser."""
    if "(" in text or "\\" in text or ";" in text:
        return None
    out: list[tuple[str, str]] = []
    pos, end = 0, len(text)
    while pos < end:
        found = _QUICK_ADDR.match(text, pos)
        if found is None:
            return None
        quoted, plain, bracketed, bare = found.groups()
        if bracketed is not None:
            out.append((quoted if quoted is not None else (plain or "").strip(), bracketed))
        elif bare is not None:
            out.append(("", bare))
        pos = found.end()
    return out


def parse_addresses(values: list[str]) -> tuple[list[tuple[str, str]], bool]:
    """(display name, lower-case address) pairs from address headers; names decoded."""
    repaired = False
    texts = []
    for value in values:
        text, fixed = unescape_raw(value)
        repaired = repaired or fixed
        texts.append(text)
    out: list[tuple[str, str]] = []
    quick = [_quick_addresses(text) for text in texts]
    if all(q is not None for q in quick):
        pairs = [pair for q in quick for pair in q]  # type: ignore[union-attr]
    else:
        try:
            pairs = getaddresses(texts)
        except (ValueError, TypeError, IndexError):
            pairs = []
    if not any(addr for _, addr in pairs):
        pairs = [("", m) for text in texts for m in _ADDR_FALLBACK.findall(text)]
    for name, addr in pairs:
        addr = addr.strip().lower()
        if name:
            name, fixed = decode_words(name)
            name = _WS.sub(" ", name).strip()
            repaired = repaired or fixed
        out.append((name, addr))
    return out, repaired


def parse_sender(value: str | None) -> tuple[str | None, str | None, bool]:
    """(address, display name, repaired) of a From header."""
    if value is None:
        return None, None, False
    text, repaired = unescape_raw(value)
    quick = _quick_addresses(text)
    if quick:
        name, addr = quick[0]
    else:
        try:
            name, addr = parseaddr(text)
        except (ValueError, TypeError, IndexError):
            name, addr = "", ""
    if not addr:
        found = _ADDR_FALLBACK.search(text)
        addr = found.group(0) if found else ""
    if name:
        name, fixed = decode_words(name)
        name = _WS.sub(" ", name).strip()
        repaired = repaired or fixed
    return (addr.strip().lower() or None), (name or None), repaired


def clean_message_id(value: str | None) -> str | None:
    """Message-ID without <> and whitespace, or None when missing or not id-shaped."""
    if not value:
        return None
    text, _ = unescape_raw(value)
    text = text.strip()
    start = text.find("<")
    if start >= 0:
        end = text.find(">", start)
        text = text[start + 1 : end] if end > start else text[start + 1 :]
    text = text.strip()
    return text if _ID_SHAPE.fullmatch(text) else None


def parse_id_list(value: str | None) -> tuple[list[str], bool]:
    """Valid message ids of In-Reply-To / References in order, de-duplicated. Second item: something dropped."""
    if not value:
        return [], False
    text, _ = unescape_raw(value)
    text = _COMMENT.sub(" ", text)
    ids: list[str] = []
    seen: set[str] = set()
    dropped = False
    for bracketed, bare in _ID_TOKEN.findall(text):
        token = (bracketed if bracketed or not bare else bare).strip()
        if not _ID_SHAPE.fullmatch(token):
            dropped = True
            continue
        if token not in seen:
            seen.add(token)
            ids.append(token)
    return ids, dropped

"""The items of a JSON list, read from chunks of bytes one item at a time, so a huge file never sits in memory.

Each item is decoded by the standard ``json`` module itself (``JSONDecoder.raw_decode``), from text decoded the
way ``json.loads`` decodes bytes, so an item is exactly what ``json.loads`` of the whole file would hold: the
same message read from an export and from the Web API (parsed by ``json.loads``) stays one message. Incremental
parsers built on other decoders do not promise that (yajl turns "\\ud800" into "?").

Usage::

    try:
        for item in list_items(chunks, max_value_chars=16 << 20):
            ...
    except JsonListError as problem:
        ...  # problem.reason, problem.excerpt; the items before it were good
"""

from __future__ import annotations

import codecs
import json
import re
from collections.abc import Iterable, Iterator
from typing import Any

EMPTY = "empty_file"
NOT_A_LIST = "not_a_list"
INVALID_JSON = "invalid_json"
VALUE_TOO_LARGE = "json_value_too_large"

_SPACE = re.compile(r"[ \t\n\r]*")  # JSON's whitespace
WHOLE_CHARS = 4 << 20  # a document no longer than this is first tried whole
_DECODER = json.JSONDecoder()
_EXCERPT_CHARS = 300


class JsonListError(ValueError):
    """Why the rest of the document gives no more items: ``reason`` (one of the constants above) and an
    ``excerpt`` of the text where it happened; for NOT_A_LIST, ``value`` is the document's value."""

    def __init__(self, reason: str, excerpt: str = "", value: Any = None) -> None:
        super().__init__(f"{reason}: {excerpt[:80]}")
        self.reason, self.excerpt, self.value = reason, excerpt, value


# A value cut by the end of a chunk fails within its last token (a literal, a number's tail, a \u escape), or
# as an unterminated string; an error further from the end is in the text itself.
_CUT_TOKEN_CHARS = 16


def _broken_before_the_end(error: json.JSONDecodeError, length: int) -> bool:
    return error.pos + _CUT_TOKEN_CHARS < length and not error.msg.startswith("Unterminated string")


class _Text:
    """Text decoded from the chunks as it is needed; ``buf[pos:]`` is what is not consumed yet."""

    def __init__(self, chunks: Iterable[bytes]) -> None:
        self._chunks = iter(chunks)
        self._decoder: codecs.IncrementalDecoder | None = None
        self.buf = ""
        self.pos = 0
        self.eof = False
        self.cut_by: str | None = None  # why the text ends before the bytes do (bytes that are not text)

    def more(self, at_least: int = 1) -> bool:
        """Add at least ``at_least`` characters (fewer at the end of the chunks); False when none came."""
        added: list[str] = []
        count = 0
        while count < at_least and not self.eof:
            chunk = next(self._chunks, None)
            if self._decoder is None:
                # As json.loads decodes bytes: UTF-8, -16 or -32 told by the first 4 bytes, surrogates passed on.
                while chunk is not None and len(chunk) < 4 and (following := next(self._chunks, None)):
                    chunk += following
                encoding = json.detect_encoding(chunk or b"")
                self._decoder = codecs.getincrementaldecoder(encoding)("surrogatepass")
            try:
                text = self._decoder.decode(chunk or b"", final=chunk is None)
                self.eof = chunk is None
            except UnicodeDecodeError as exc:
                # The text ends before the bad bytes, wherever the chunks fell; what comes before stays usable.
                text = exc.object[: exc.start].decode(exc.encoding.removesuffix("-sig"), "surrogatepass")
                self.eof, self.cut_by = True, f"bytes that are not {exc.encoding}: {exc.reason}"
            added.append(text)
            count += len(text)
        self.buf = self.buf[self.pos :] + "".join(added)
        self.pos = 0
        return count > 0

    def skip_space(self) -> bool:
        """Move past whitespace; False when the text ends there."""
        while True:
            self.pos = _SPACE.match(self.buf, self.pos).end()  # type: ignore[union-attr]
            if self.pos < len(self.buf):
                return True
            if not self.more():
                return False

    def excerpt(self, start: int | None = None) -> str:
        start = self.pos if start is None else start
        return self.buf[start : start + _EXCERPT_CHARS]

    def ended(self, why: str) -> JsonListError:
        """The error of a document whose text ends too early (cut short, or cut by bytes that are not text)."""
        return JsonListError(INVALID_JSON, f"{self.excerpt()} ({self.cut_by or why})")

    def value(self, max_chars: int) -> Any:
        """The JSON value starting at ``pos`` (after whitespace), which must end within ``max_chars``."""
        while True:
            start = self.pos
            try:
                value, end = _DECODER.raw_decode(self.buf, start)
            except RecursionError:
                raise JsonListError(INVALID_JSON, self.excerpt() + " (nested too deeply)") from None
            except json.JSONDecodeError as exc:
                pending = len(self.buf) - start
                if _broken_before_the_end(exc, len(self.buf)):
                    raise JsonListError(INVALID_JSON, f"{self.excerpt()} ({exc.msg})") from None
                if self.eof:
                    raise self.ended(exc.msg) from None
                if pending > max_chars:
                    raise self._too_large(max_chars) from None
                self.more(at_least=max(pending, 1))  # doubling: a long value is not re-parsed too often
                continue
            if end + _CUT_TOKEN_CHARS >= len(self.buf) and not self.eof:
                self.more()  # a number may go on in the next chunk ("-1" of "-1.5e3")
                continue
            if end - start > max_chars:  # judged on the value alone, however the chunks fell
                raise self._too_large(max_chars)
            self.pos = end
            return value

    def _too_large(self, max_chars: int) -> JsonListError:
        return JsonListError(
            VALUE_TOO_LARGE, f"no JSON value ends within {max_chars:,} characters of: {self.excerpt()}"
        )


def list_items(
    chunks: Iterable[bytes], *, max_value_chars: int, whole_chars: int = WHOLE_CHARS
) -> Iterator[Any]:
    """Each item of the JSON list in ``chunks`` (the bytes of one file, in order), as ``json.loads`` gives it.

    Raises JsonListError once the document cannot give more items: it is empty, not a list, not valid JSON
    from some point on (items before that point have been given), or holds a value longer than
    ``max_value_chars`` characters, the memory bound. A document of at most ``whole_chars`` characters is
    first tried whole (faster, same result).
    """
    text = _Text(chunks)
    text.more(at_least=whole_chars)
    if text.eof and text.cut_by is None and len(text.buf) <= min(whole_chars, max_value_chars):
        # A usual file, whole in memory, none of its values over the cap: json.loads reads it in one call, twice
        # as fast as value by value, with the same result. Broken, it is read value by value below to find
        # what is good and where it breaks.
        try:
            whole = json.loads(text.buf)
        except (ValueError, RecursionError):
            pass
        else:
            if not isinstance(whole, list):
                raise JsonListError(NOT_A_LIST, value=whole)
            yield from whole
            return
    if not text.skip_space():
        raise JsonListError(EMPTY)
    if text.buf[text.pos] != "[":
        value = text.value(max_value_chars)  # the whole document, to show what it is
        if text.skip_space() or text.cut_by:
            raise text.ended("extra data")
        raise JsonListError(NOT_A_LIST, value=value)
    text.pos += 1
    if not text.skip_space():
        raise text.ended("the list never ends")
    if text.buf[text.pos] == "]":
        text.pos += 1
    else:
        while True:
            value = text.value(max_value_chars)
            # Given only once "," or "]" follows: at a document's cut end, "12" may be the start of "123".
            if not text.skip_space():
                raise text.ended("the list never ends")
            separator = text.buf[text.pos]
            if separator not in ",]":
                raise JsonListError(INVALID_JSON, f"{text.excerpt()} (expected , or ])")
            text.pos += 1
            yield value
            if separator == "]":
                break
            if not text.skip_space():
                raise text.ended("the list never ends")
    if text.skip_space() or text.cut_by:
        raise text.ended("extra data after the list")

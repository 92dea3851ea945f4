"""The new text of an email body: quoted history, sign-offs, device lines and disclaimers removed."""

from __future__ import annotations

import heapq
import re
from collections.abc import Iterator

from mailparser_reply.parser import EmailMessage

from .settings import (
    ATTRIBUTION_TIME,
    ATTRIBUTION_VERBS,
    ATTRIBUTION_YEAR,
    DEVICE_LINE,
    DISCLAIMER_START,
    FORWARD_SEPARATOR,
    HEADER_BLOCK,
    LIBRARY_LINE_MARKERS,
    LIBRARY_MARKERS,
    LIST_FOOTER,
    NAME_TAIL,
    NEWTEXT_LINE_MARKERS,
    NEWTEXT_MARKERS,
    NEWTEXT_MAX_CHARS,
    OTHER_ATTRIBUTION_STEMS,
    OTHER_ATTRIBUTION_VERB,
    QUOTED_LINE,
    SEPARATOR_LINE,
    SIG_DELIMITER,
    SIGNOFF_PHRASES,
    THANKS_PHRASES,
    WROTE_DATE_LED,
    WROTE_EN,
    WROTE_FR,
    WROTE_INLINE,
    WROTE_OTHER,
)

_FLAGS = re.IGNORECASE | re.MULTILINE


def _line_start(pattern: str, flags: int = _FLAGS) -> re.Pattern[str]:
    """`pattern` at the start of a line, to search in "\n" + text; a match starts at the line's index in text."""
    # The regex engine jumps to a literal "\n" but tries a leading "^" at every position: ~5x faster.
    return re.compile(rf"\n(?:{pattern})", flags)


# IGNORECASE makes the regex engine try every branch at every position. The markers that match anywhere are
# written in lower case and searched without it in a case-folded copy of the text instead (several times faster):
# str.lower() plus the three letters that IGNORECASE also matches with "i" or "s" (tests check every code point).
_FOLD_FIXES = str.maketrans({"\u0130": "i", "\u0131": "i", "\u017f": "s"})


def _folded(text: str) -> str:
    if not text.isascii() and ("\u0130" in text or "\u0131" in text or "\u017f" in text):
        text = text.translate(_FOLD_FIXES)
    return text.lower()


_LINE_MARKERS = _line_start(NEWTEXT_LINE_MARKERS)
_MARKERS = re.compile(NEWTEXT_MARKERS)  # in _folded(text)
_SEPARATOR = _line_start(SEPARATOR_LINE)
_HEADER_BLOCK = _line_start(HEADER_BLOCK, re.MULTILINE)  # header names are capitalised in real blocks
_WROTE = _line_start(f"[ \t]*(?:(?:{WROTE_EN})|(?:{WROTE_FR})|(?:{WROTE_OTHER})|(?:{WROTE_DATE_LED}))")
_WROTE_INLINE = re.compile(WROTE_INLINE, _FLAGS)
_ATTRIBUTION_TIME = re.compile(ATTRIBUTION_TIME)
_ATTRIBUTION_YEAR = re.compile(ATTRIBUTION_YEAR)
_OTHER_VERB = re.compile(OTHER_ATTRIBUTION_VERB)
_MAX_VERB_TO_COLON = 120
_MAX_WRAPPED_TAIL = 60  # "Apr. 2017 um 11:53 Uhr:" under "... schrieb am Fr., 28."
_MAX_ATTRIBUTION_LINE = 400
_MAX_FORWARD_NOTE = 40
_FORWARD = re.compile(FORWARD_SEPARATOR, re.IGNORECASE)
_LIST_FOOTER = re.compile(LIST_FOOTER, _FLAGS)
_QUOTED = re.compile(QUOTED_LINE, re.MULTILINE)
_UNQUOTE = re.compile(r"^[ \t]*> ?", re.MULTILINE)
_SIG_DELIMITER = re.compile(SIG_DELIMITER, re.MULTILINE)
_DEVICE = re.compile(DEVICE_LINE, _FLAGS)
# Phrases match in any case, but a name must be capitalised: "Thanks, Priya" signs off, "Thanks, that works." does not.
_SIGNOFF = re.compile(
    rf"^[ \t]*(?i:{SIGNOFF_PHRASES})[ \t]*[,.!…]*[ \t]*{NAME_TAIL}[ \t]*[,.!]*[ \t]*$", re.MULTILINE
)
_THANKS_WITH_NAME = re.compile(rf"^[ \t]*(?i:{THANKS_PHRASES})[ \t]*[,.!]*{NAME_TAIL}[ \t]*$", re.MULTILINE)
_GREETING_ONLY = re.compile(
    r"^[ \t]*(?:hi|hello|hey|dear|good (?:morning|afternoon|evening)|bonjour|bonsoir|salut|cher|ch[èe]re)\b"
    r"[^\n]{0,40}$",
    re.IGNORECASE,
)
_THANKS_LINE = re.compile(rf"^[ \t]*(?:{THANKS_PHRASES})[ \t]*[,.!]*[ \t]*$", _FLAGS)
_DISCLAIMER = re.compile(DISCLAIMER_START, _FLAGS)
# A signed name: up to three words, "-" or "—" before it allowed ("Priya", "- John S.", "JS").
_NAME_LINE = re.compile(r"^[ \t]*(?:[-–—~][ \t]*)?[^\W\d_][\w'’.-]*(?:[ \t]+[^\W\d_][\w'’.-]*){0,2}[ \t]*$")
_WORD = re.compile(r"[^\W\d_]+")
_LIBRARY_LINE_MARKERS = _line_start(LIBRARY_LINE_MARKERS)
_LIBRARY_MARKERS = re.compile(LIBRARY_MARKERS)  # in _folded(text)
_TRACKER_MARK = "\u1427"  # "ᐧ"
_TRAILING_RULE = re.compile(r"(?:\n[ \t]*[-_=*]{3,}[ \t]*)+\Z")
_BLANK_RUN = re.compile(r"\n[ \t]*\n(?:[ \t]*\n)+")
_SPACES = str.maketrans({"\xa0": " ", "\u202f": " ", "\u2007": " ", "\u200b": None, "\ufeff": None})
_ODD_SPACES = re.compile("[\xa0\u202f\u2007\u200b\ufeff]")
_WRAP_WIDTH = 60  # a quoted line at least this long may have been wrapped by the replying client
_PLAIN_WORD = re.compile(r"(?:^|\s)[^\W\d_]{2,}[.,;:!?)\"']*(?=\s|$)")
_MAX_SIGNATURE_LINE = 50  # a library "signature" starting with a longer line is a sentence, not a sign-off


def extract_new_text(text: str, sender_name: str | None = None, sender_email: str | None = None) -> str:
    """The text the sender wrote in this message, without quoted history, signature or disclaimer.

    `sender_name` and `sender_email` (the From header's) let a last line that is only the sender's name go as a
    signature; without them such a line stays: "Approved" or "Confirmed" alone on a line is an answer, not a name.
    """
    if not text:
        return ""
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = text[:NEWTEXT_MAX_CHARS]
    # str.translate with a dict costs a lookup per character; most bodies have none of these characters.
    if not text.isascii() and _ODD_SPACES.search(text):
        text = text.translate(_SPACES)
    if not (_LINE_MARKERS.search("\n" + text) or _MARKERS.search(_folded(text))):
        return _tidy(text)
    text = _cut_tail(_QUOTED.sub("", _cut_history(text)))
    if _LIBRARY_LINE_MARKERS.search("\n" + text) or _LIBRARY_MARKERS.search(_folded(text)):
        # What is left still looks like a header or signature this module does not know: let the
        # library split it (other languages, other clients). Skipped otherwise: it costs ~100 µs a message.
        text = _cut_tail(_library_pass(text))
    return _drop_trailing_name(_tidy(text), _name_words(sender_name, sender_email))


def _name_words(sender_name: str | None, sender_email: str | None) -> frozenset[str]:
    """The lower-case words the sender signs with: those of the display name and of the address before the @
    ("john.smith"), and the name's initials ("js")."""
    words = _WORD.findall((sender_name or "").lower())
    initials = "".join(word[0] for word in words) if len(words) > 1 else ""
    local = (sender_email or "").partition("@")[0].lower()
    return frozenset(words + _WORD.findall(local) + ([initials] if initials else []))


def _drop_trailing_name(text: str, names: frozenset[str]) -> str:
    """A last line that is only the sender's name, after a blank line or a thanks line, is a signature."""
    head, sep, last = text.rpartition("\n")
    if not sep or not names or not _NAME_LINE.match(last):
        return text
    words = _WORD.findall(last.lower())
    if not words or not all(word in names for word in words):
        return text
    previous = head.rstrip(" \t").rpartition("\n")[2]
    if head.endswith("\n") or _THANKS_LINE.match(previous) or _THANKS_WITH_NAME.match(previous):
        return _tidy(head)
    return text


def _cut_history(text: str) -> str:
    cut = len(text)
    lines = "\n" + text  # matches of the line-start patterns start at the line's index in text
    for pattern in (_SEPARATOR, _HEADER_BLOCK):
        found = pattern.search(lines)
        if found and found.start() < cut:
            cut = found.start()
    first_line = text[cut:].partition("\n")[0]
    if _FORWARD.search(first_line) and _is_forward_note(text[:cut].strip()):
        # A forward with nothing above it but "FYI": the forwarded message is what this one says (Apple Mail
        # quotes it: one level of quoting goes).
        return text[:cut] + _UNQUOTE.sub("", text[cut:])
    for start, end in _attributions(lines, cut + 1):
        if _is_inline_reply(text[end:cut]) or not text[:start].strip():
            # Interleaved answers: the attribution line goes, quoted lines go later, the answers stay. Nothing
            # written above it: what it introduces (a forward, a bottom post) is the message.
            text = text[:start] + " " * (end - start) + text[end:]
            continue
        cut = start
        break
    return text[:cut]


def _is_forward_note(above: str) -> bool:
    """Nothing, or one short line that asks nothing ("FYI", "See below."), written above a forward."""
    return not above or (len(above) <= _MAX_FORWARD_NOTE and "\n" not in above and "?" not in above)


def _attributions(lines: str, stop: int) -> Iterator[tuple[int, int]]:
    """(start, end) in text of each attribution in `lines` ("\n" + text) before `stop`, in order, found lazily:
    the caller usually stops at the first one."""
    line_led = ((match.start(), match.end() - 1) for match in _WROTE.finditer(lines, 0, stop))
    return heapq.merge(line_led, _inline_attributions(lines, stop), _verb_attributions(lines, stop))


def _inline_attributions(lines: str, stop: int) -> Iterator[tuple[int, int]]:
    for match in _WROTE_INLINE.finditer(lines, 0, stop):
        line_start = lines.rfind("\n", 0, match.start())  # in text: the index of the line's first character
        before = lines[line_start + 1 : match.start()]
        if len(before) > _MAX_ATTRIBUTION_LINE:
            continue
        if match.group().startswith("<"):
            verb = (match.group("verb") or "").lower()
            if verb in ATTRIBUTION_VERBS or _ATTRIBUTION_TIME.search(before):
                yield line_start, match.end() - 1
        elif before.strip(" \t-"):  # "On ..." after the reply on its line: the reply stays
            yield line_start + len(before.rstrip(" \t-")), match.end() - 1


def _verb_attributions(lines: str, stop: int) -> Iterator[tuple[int, int]]:
    """Attributions ending with a verb of another language and ":" ("Dnia 3 marca 2026 09:14 Dana <a@b> napisał(a):",
    "пн, 3 мар. 2026 г. пользователь Dana написал:"), the verb on the line or the one above."""
    if not any(stem in lines for stem in OTHER_ATTRIBUTION_STEMS):
        return
    for colon, line_end in _line_end_colons(lines, stop):
        line_start = lines.rfind("\n", 0, colon)  # in text: the index of the line's first character
        line = lines[line_start + 1 : colon]
        previous_start = lines.rfind("\n", 0, line_start) if line_start > 0 else -1
        previous = lines[previous_start + 1 : line_start] if previous_start >= 0 else ""
        verb = _OTHER_VERB.search(line)
        if verb:
            if len(line) - verb.end() > _MAX_VERB_TO_COLON or len(line) > _MAX_ATTRIBUTION_LINE:
                continue
            # A wrapped address starts the line: the attribution starts on the line above.
            start = previous_start if line.lstrip().startswith("<") and previous.strip() else line_start
            verb_ends_line = not line[verb.end() :].strip()
        elif previous.strip() and len(line) <= _MAX_WRAPPED_TAIL and len(previous) <= _MAX_ATTRIBUTION_LINE:
            verb = _OTHER_VERB.search(previous)
            if not verb or len(previous) - verb.end() > _MAX_VERB_TO_COLON:
                continue
            start, verb_ends_line = previous_start, False
        else:
            continue
        span = lines[start + 1 : colon]
        if span.lstrip().startswith(">"):
            continue
        if "@" in span or _ATTRIBUTION_TIME.search(span):
            yield start, line_end - 1
        elif _ATTRIBUTION_YEAR.search(span) and verb_ends_line:
            # Only a year: the verb must end the line ("... 2014 г. пользователь lidel написал:"); "Jeg skrev til
            # dem i 2025 om det:" is a sentence.
            yield start, line_end - 1


def _line_end_colons(lines: str, stop: int) -> Iterator[tuple[int, int]]:
    """(index of the colon, end of its line) of each line of `lines` before `stop` that ends with ":" or "：".

    str.find from colon to colon: a regex scanning for them costs as much as the rest of the attribution search."""
    for colon_char in ":：":
        if colon_char == "：" and colon_char not in lines:
            return
        at = lines.find(colon_char, 0, stop)
        while at >= 0:
            line_end = lines.find("\n", at)
            if line_end < 0:
                line_end = len(lines)
            at = lines.rfind(colon_char, at, line_end)  # the line's last colon ("... 17:48 schrieb ...:")
            if not lines[at + 1 : line_end].strip(" \t"):
                yield at, line_end
            at = lines.find(colon_char, line_end, stop)


def _is_inline_reply(after: str) -> bool:
    """True when quoted lines after an attribution are followed by unquoted text (bottom/inline posting).

    Unquoted lines that only continue a quoted line (a client wrapped it, or a link broke it) are no answer, and
    nothing under a signature delimiter is."""
    lines = after.split("\n")
    first = next((line.strip() for line in lines if line.strip()), "")
    if not first.startswith(">"):
        return False
    for index, line in enumerate(lines):
        stripped = line.strip()
        if _SIG_DELIMITER.match(line):
            return False
        if not stripped or stripped.startswith(">") or _DEVICE.match(stripped):
            continue
        if not _continues_quote(lines, index):
            return True
    return False


def _continues_quote(lines: list[str], index: int) -> bool:
    """The unquoted line at `index`, between two quoted lines, is the end of the quoted line above: it starts in
    lower case or with a sign, the line above asks nothing, and either that line is as long as clients wrap or this
    one holds no word (the end of a broken link)."""
    line = lines[index].strip()
    above = lines[index - 1].strip() if index > 0 else ""
    below = lines[index + 1].strip() if index + 1 < len(lines) else ""
    if not (above.startswith(">") and below.startswith(">")) or line[0].isupper() or line[0].isdigit():
        return False
    if above.endswith("?"):  # "> Can you ...?\nyes" is an answer
        return False
    return len(above) >= _WRAP_WIDTH or not _PLAIN_WORD.search(line)


def _library_pass(text: str) -> str:
    """mailparser_reply on what is left: where it finds a header or a signature, `text` is cut; sentences are kept.

    The library's own rendering of the reply is not used: it rewrites lines (dashes, line breaks) it does not cut.
    """
    message = EmailMessage(text=text, languages=["en", "fr"], keep_hyphen_lists=True).read()
    if not message.replies:
        return text
    reply = message.replies[0]
    cut = len(text)
    if reply.headers.strip():
        cut = _position_of(text, reply.headers, last=False)
    signature = reply.signatures
    if signature and _looks_like_signature(signature):
        at = _position_of(text, signature, last=True)
        if not _GREETING_ONLY.match(text[:at].strip()):
            cut = min(cut, at)
    return text[:cut] if text[:cut].strip() else text


def _position_of(text: str, found: str, last: bool) -> int:
    """Where the library's `found` (which it may have re-spaced) starts in `text`: the line that starts with its
    first line, the first such line for a header, the last for a signature (the same words may be said above)."""
    first = found.strip().split("\n", 1)[0].strip()
    if not first:
        return len(text)
    lines = "\n" + text
    at = lines.rfind("\n" + first) if last else lines.find("\n" + first)
    return at if at >= 0 else len(text)


def _looks_like_signature(signature: str) -> bool:
    first = signature.strip().split("\n", 1)[0].strip()
    if first.startswith(("--", "__")) or _DEVICE.match(first):
        return True
    if len(first) > _MAX_SIGNATURE_LINE:
        return False
    return bool(_SIGNOFF.match(first) or _THANKS_WITH_NAME.match(first) or _THANKS_LINE.match(first))


def _cut_tail(text: str) -> str:
    """Cut at the first sign-off, signature delimiter, device line or disclaimer that has text above it."""
    footer = _LIST_FOOTER.search(text) if "mailing list" in text.lower() else None  # the regex is slow
    if footer and text[: footer.start()].strip():
        text = text[: footer.start()]
    lines = text.split("\n")
    offset = 0
    has_before = False
    for index, line in enumerate(lines):
        if _DEVICE.match(line):
            return text[:offset]
        if _DISCLAIMER.match(line):
            if has_before:
                return text[:offset]
            # A banner at the top ("CAUTION: external email"): drop its paragraph, keep the rest.
            rest = text[offset:]
            end = rest.find("\n\n")
            return _cut_tail(rest[end + 2 :]) if end >= 0 else ""
        thanks_signoff = (_THANKS_WITH_NAME.match(line) and "," in line) or (
            _THANKS_LINE.match(line) and _is_name_line(lines, index + 1)
        )
        # Under a mere greeting, "Thanks, Priya" is the whole message (an acknowledgement), not a sign-off.
        if thanks_signoff and _GREETING_ONLY.match(text[:offset].strip()):
            thanks_signoff = False
        if has_before and (_SIG_DELIMITER.match(line) or _SIGNOFF.match(line) or thanks_signoff):
            return text[:offset]
        offset += len(line) + 1
        has_before = has_before or bool(line.strip())
    return text


def _is_name_line(lines: list[str], index: int) -> bool:
    """A short non-empty line right after "Thanks,": the sender's name, so "Thanks," was a sign-off."""
    if index >= len(lines):
        return False
    line = lines[index].strip()
    return 0 < len(line) <= 40 and not line.endswith(("?", ".", ":"))


def _tidy(text: str) -> str:
    text = "\n".join(line.rstrip() for line in text.split("\n")).strip()
    if text.endswith(_TRACKER_MARK):  # the mark a mail tracker (Streak, Mixmax) appends to what was written
        text = text[: -len(_TRACKER_MARK)].rstrip()
    if text.endswith(("-", "_", "=", "*")):  # the text is stripped: a trailing rule ends it with one of these
        text = _TRAILING_RULE.sub("", text)
    return _BLANK_RUN.sub("\n\n", text).strip()

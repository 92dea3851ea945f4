"""HTML bodies to plain text, with quoted history removed."""

from __future__ import annotations

import re
import warnings

from bs4 import BeautifulSoup, Comment, Declaration, Doctype, NavigableString, ProcessingInstruction, Tag
from bs4.builder import XMLParsedAsHTMLWarning

try:
    from bs4 import MarkupResemblesLocatorWarning
except ImportError:  # older bs4
    MarkupResemblesLocatorWarning = UserWarning  # type: ignore[misc,assignment]

from .settings import HTML_BLOCK_TAGS, HTML_DROP_TAGS, HTML_HISTORY_IDS, HTML_QUOTE_CLASSES, HTML_QUOTE_TAGS

# What HTML-to-text renderers share (this one and connectors.teams.parse): a walk writes SOFT_BREAK at each block
# boundary; soft_breaks_resolved turns them into line breaks, one per boundary.
SOFT_BREAK = "\x00"  # a block boundary: a line break unless one is already there
MARKUP_STRINGS = (Comment, Doctype, Declaration, ProcessingInstruction)  # strings that are markup, not text
_WS = re.compile(r"[ \t\r\n\f\v\u200b\x00]+")  # \xa0 kept: Outlook's <p>&nbsp;</p> is a blank line
_SOFT = SOFT_BREAK
_SOFT_RUN = re.compile(r" *\x00[ \x00]*")
_SOFT_AFTER_HARD = re.compile(r"(^|\n)\x00")
_BLANKS = re.compile(r"\n{3,}")
_QUOTE_CLASSES = frozenset(HTML_QUOTE_CLASSES)
_QUOTE_OPEN, _QUOTE_CLOSE = "\x01", "\x02"  # around a quoting <blockquote> while rendering
_END_QUOTE = object()  # on the walk's stack: the end of a quoting blockquote


def html_to_text(html: str) -> str:
    """The stored text of an HTML body (body_full): visible text, line breaks kept for <br> and block elements,
    quoted history (blockquotes, Gmail/Yahoo/Thunderbird quotes, Outlook's history) dropped.

    When dropping the history leaves nothing (a Gmail forward sits entirely in its "gmail_quote" block, some
    clients wrap the whole reply in a <blockquote>), the history is kept: it is what the message says.
    """
    return html_to_texts(html)[0]


def html_to_texts(html: str) -> tuple[str, str]:
    """(html_to_text's text, the text to extract the new text from), from one parse.

    In the second, a <blockquote> comes out as "> " lines, as a plain-text client quotes, so the new-text rules
    tell a quoted history from answers written between quotes; one that only indents (border: none) is the
    sender's own text. The first is left as it always was: it is part of a stored message's content hash.
    """
    soup = _soup(html, drop_history=True)
    full = _render(soup, quotes=_DROP)
    if not full:
        full = _render(_soup(html, drop_history=False), quotes=_KEEP)
        return full, full
    return full, _render(soup, quotes=_MARK)


_DROP, _MARK, _KEEP = "drop", "mark", "keep"  # what _render does with blockquotes


def quiet_soup(html: str) -> BeautifulSoup:
    """`html` parsed by html.parser, without bs4's warnings about text that looks like a file name or XML."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MarkupResemblesLocatorWarning)
        warnings.simplefilter("ignore", XMLParsedAsHTMLWarning)
        return BeautifulSoup(html, "html.parser")


def soft_breaks_resolved(text: str) -> str:
    """Each run of soft breaks (with the spaces around it) one line break, none right after a line break."""
    return _SOFT_AFTER_HARD.sub(r"\1", _SOFT_RUN.sub(_SOFT, text)).replace(_SOFT, "\n")


def at_most_one_blank_line(lines: list[str]) -> str:
    """The lines joined, runs of blank lines (block boundaries) cut to one, the ends stripped."""
    return _BLANKS.sub("\n\n", "\n".join(lines)).strip()


def _soup(html: str, drop_history: bool) -> BeautifulSoup:
    soup = quiet_soup(html)
    # One walk over the tags instead of a find_all per name, class and id.
    dropped: list[Tag] = []
    markers: list[tuple[str, Tag]] = []
    for tag in soup.find_all(True):
        if tag.name in HTML_DROP_TAGS or (
            drop_history and not _QUOTE_CLASSES.isdisjoint(tag.get_attribute_list("class"))
        ):
            dropped.append(tag)
        tag_id = tag.get("id")
        # Inside a blockquote, html_to_text dropped it with the blockquote before looking (its text must not change).
        if drop_history and tag_id in HTML_HISTORY_IDS and tag.find_parent(HTML_QUOTE_TAGS) is None:
            markers.append((str(tag_id), tag))
    for tag in dropped:
        if not tag.decomposed:  # not inside a tag dropped before it
            tag.decompose()
    for history_id in HTML_HISTORY_IDS:
        marker = next((tag for tag_id, tag in markers if tag_id == history_id and _in_tree(tag, soup)), None)
        if marker is not None:
            _drop_from(marker)
    return soup


def _in_tree(tag: Tag, soup: BeautifulSoup) -> bool:
    """False once `tag` was decomposed or cut off with its ancestors."""
    if tag.decomposed:
        return False
    node = tag
    while node.parent is not None:
        node = node.parent
    return node is soup


def _drop_from(marker: Tag) -> None:
    """Remove `marker` and everything after it in document order (Outlook puts the history there)."""
    node: Tag | None = marker
    while node is not None and node.name not in ("body", "html", "[document]"):
        for sibling in list(node.next_siblings):
            sibling.extract()
        parent = node.parent
        if node is marker:
            node.decompose()
        node = parent


def _is_quote(tag: Tag) -> bool:
    """A blockquote that quotes; Gmail's and Apple Mail's "indent" button make ones without a border."""
    return "border:none" not in str(tag.get("style", "")).replace(" ", "").lower()


def _render(soup: BeautifulSoup, quotes: str) -> str:
    out: list[str] = []
    # Iterative walk: deeply nested HTML must not hit the recursion limit.
    stack: list[object] = [soup]
    while stack:
        node = stack.pop()
        if node is None:  # end of a block element
            out.append(_SOFT)
            continue
        if node is _END_QUOTE:
            out.append(_QUOTE_CLOSE + _SOFT)
            continue
        if isinstance(node, NavigableString):
            if not isinstance(node, MARKUP_STRINGS):
                piece = _WS.sub(" ", str(node))
                # A text holding the marker characters must not be taken for a quote's bounds.
                if quotes == _MARK and (_QUOTE_OPEN in piece or _QUOTE_CLOSE in piece):
                    piece = piece.replace(_QUOTE_OPEN, " ").replace(_QUOTE_CLOSE, " ")
                out.append(piece)
            continue
        if not isinstance(node, Tag):
            continue
        name = node.name
        if name == "br":
            out.append("\n")
            continue
        if quotes != _KEEP and name in HTML_QUOTE_TAGS:
            if quotes == _DROP:
                continue
            if _is_quote(node):
                out.append(_SOFT + _QUOTE_OPEN)
                stack.append(_END_QUOTE)
            else:
                out.append(_SOFT)
                stack.append(None)
        elif name in HTML_BLOCK_TAGS:
            out.append(_SOFT)
            stack.append(None)
        stack.extend(reversed(node.contents))
    text = soft_breaks_resolved("".join(out))
    lines = [line.replace("\xa0", " ").strip() for line in text.split("\n")]
    if quotes == _MARK and _QUOTE_OPEN in text:
        lines = _quote_lines(lines)
    return at_most_one_blank_line(lines)


def _quote_lines(lines: list[str]) -> list[str]:
    """Lines inside quoting blockquotes prefixed with one ">" per level; the markers removed."""
    out: list[str] = []
    depth = 0
    for line in lines:
        depth += line.count(_QUOTE_OPEN)
        text = line.replace(_QUOTE_OPEN, "").replace(_QUOTE_CLOSE, "").strip()
        out.append(f"{'>' * depth} {text}".rstrip() if depth and text else text)
        depth -= line.count(_QUOTE_CLOSE)
    return out

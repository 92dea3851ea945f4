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

_WS = re.compile(r"[ \t\r\n\f\v\u200b\x00]+")  # \xa0 kept: Outlook's <p>&nbsp;</p> is a blank line
_SOFT = "\x00"  # a block boundary: a line break unless one is already there
_SOFT_RUN = re.compile(r" *\x00[ \x00]*")
_SOFT_AFTER_HARD = re.compile(r"(^|\n)\x00")
_BLANKS = re.compile(r"\n{3,}")
_SKIP_STRINGS = (Comment, Doctype, Declaration, ProcessingInstruction)  # markup, not text
_QUOTE_CLASSES = frozenset(HTML_QUOTE_CLASSES)


def html_to_text(html: str) -> str:
    """Visible text of an HTML body, line breaks kept for <br> and block elements, quoted history dropped.

    When dropping the history leaves nothing (a Gmail forward sits entirely in its "gmail_quote" block, some
    clients wrap the whole reply in a <blockquote>), the history is kept: it is what the message says.
    """
    return _to_text(html, drop_history=True) or _to_text(html, drop_history=False)


def _to_text(html: str, drop_history: bool) -> str:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MarkupResemblesLocatorWarning)
        warnings.simplefilter("ignore", XMLParsedAsHTMLWarning)
        soup = BeautifulSoup(html, "html.parser")
    # One walk over the tags instead of a find_all per name, class and id.
    dropped: list[Tag] = []
    markers: list[tuple[str, Tag]] = []
    for tag in soup.find_all(True):
        if tag.name in HTML_DROP_TAGS or (
            drop_history
            and (
                tag.name in HTML_QUOTE_TAGS or not _QUOTE_CLASSES.isdisjoint(tag.get_attribute_list("class"))
            )
        ):
            dropped.append(tag)
        tag_id = tag.get("id")
        if drop_history and tag_id in HTML_HISTORY_IDS:
            markers.append((str(tag_id), tag))
    for tag in dropped:
        if not tag.decomposed:  # not inside a tag dropped before it
            tag.decompose()
    for history_id in HTML_HISTORY_IDS:
        marker = next((tag for tag_id, tag in markers if tag_id == history_id and _in_tree(tag, soup)), None)
        if marker is not None:
            _drop_from(marker)
    return _render(soup)


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


def _render(soup: BeautifulSoup) -> str:
    out: list[str] = []
    # Iterative walk: deeply nested HTML must not hit the recursion limit.
    stack: list[object] = [soup]
    while stack:
        node = stack.pop()
        if node is None:  # end of a block element
            out.append(_SOFT)
            continue
        if isinstance(node, NavigableString):
            if not isinstance(node, _SKIP_STRINGS):
                out.append(_WS.sub(" ", str(node)))
            continue
        if not isinstance(node, Tag):
            continue
        name = node.name
        if name == "br":
            out.append("\n")
            continue
        block = name in HTML_BLOCK_TAGS
        if block:
            out.append(_SOFT)
            stack.append(None)
        stack.extend(reversed(node.contents))
    text = _SOFT_AFTER_HARD.sub(r"\1", _SOFT_RUN.sub(_SOFT, "".join(out))).replace(_SOFT, "\n")
    lines = [line.replace("\xa0", " ").strip() for line in text.split("\n")]
    # Block boundaries produce runs of empty lines; keep at most one blank line between paragraphs.
    return _BLANKS.sub("\n\n", "\n".join(lines)).strip()

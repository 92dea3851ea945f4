"""HTML bodies to plain text, with quoted history removed.

Mail HTML is parsed by lexbor (selectolax), a C parser that builds the tree browsers build (HTML5): about 6 times
faster than BeautifulSoup's html.parser on Outlook's and Gmail's HTML, with the same text wherever the HTML is well
formed (a hypothesis comparison of the two found differences only where a block sits inside a paragraph or a table
is misbuilt, and there the text now breaks where a browser breaks it). Teams' small bodies keep BeautifulSoup
(`quiet_soup`, connectors.teams.parse).
"""

from __future__ import annotations

import re
import warnings

from bs4 import BeautifulSoup, Comment, Declaration, Doctype, ProcessingInstruction
from bs4.builder import XMLParsedAsHTMLWarning
from selectolax.lexbor import LexborHTMLParser, LexborNode

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
_DROP_TAGS = frozenset(HTML_DROP_TAGS)
# lexbor's names of nodes that are markup, not text: comments (processing instructions and CDATA parse as
# comments in HTML), the doctype.
_MARKUP_NODES = frozenset({"-comment", "-doctype"})


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
    tree = _tree(html, drop_history=True)
    full = _render(tree, quotes=_DROP)
    if not full:
        full = _render(_tree(html, drop_history=False), quotes=_KEEP)
        return full, full
    return full, _render(tree, quotes=_MARK)


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


def _tree(html: str, drop_history: bool) -> LexborHTMLParser:
    """`html` parsed by lexbor (a C HTML5 parser, as browsers parse), without what is never visible and, with
    `drop_history`, without the quoted history that classes and Outlook's ids mark."""
    if "\x00" in html:  # lexbor turns NUL into U+FFFD; as blank as any white space in a text
        html = html.replace("\x00", " ")
    parser = LexborHTMLParser(html)
    root = parser.root
    if root is None:
        return parser
    dropped: list[LexborNode] = []
    markers: list[tuple[int, str, LexborNode]] = []  # (position in document order, id, node)
    # One pre-order walk over the elements; a dropped element's subtree goes with it and is not walked.
    stack: list[tuple[LexborNode, bool]] = [(root, False)]
    position = 0
    while stack:
        node, in_quote = stack.pop()
        tag = node.tag
        attributes = node.attributes
        if tag in _DROP_TAGS or (drop_history and _has_quote_class(attributes.get("class"))):
            dropped.append(node)
            continue
        position += 1
        tag_id = attributes.get("id")
        # Inside a blockquote, the blockquote itself goes with the history (its text must not change).
        if drop_history and tag_id in HTML_HISTORY_IDS and not in_quote:
            markers.append((position, tag_id, node))
        inside = in_quote or tag in HTML_QUOTE_TAGS
        stack.extend((child, inside) for child in reversed(list(node.iter())))
    for node in dropped:
        node.decompose()
    # Dropping from a marker removes everything after it in document order: only markers before it remain.
    cut_at = position + 1
    for history_id in HTML_HISTORY_IDS:
        found = next(((at, m) for at, i, m in markers if i == history_id and at < cut_at), None)
        if found is not None:
            cut_at, marker = found
            _drop_from(marker)
    return parser


def _has_quote_class(value: str | None) -> bool:
    return value is not None and not _QUOTE_CLASSES.isdisjoint(value.split())


def _drop_from(marker: LexborNode) -> None:
    """Remove `marker` and everything after it in document order (Outlook puts the history there)."""
    node: LexborNode | None = marker
    while node is not None and node.tag not in ("body", "html", "-document"):
        sibling = node.next
        while sibling is not None:
            following = sibling.next
            sibling.decompose()
            sibling = following
        parent = node.parent
        if node is marker:
            node.decompose()
        node = parent


def _is_quote(node: LexborNode) -> bool:
    """A blockquote that quotes; Gmail's and Apple Mail's "indent" button make ones without a border."""
    return "border:none" not in (node.attributes.get("style") or "").replace(" ", "").lower()


def _render(parser: LexborHTMLParser, quotes: str) -> str:
    root = parser.root
    if root is None:
        return ""
    out: list[str] = []
    # Iterative walk: deeply nested HTML must not hit the recursion limit.
    stack: list[object] = [root]
    while stack:
        node = stack.pop()
        if node is None:  # end of a block element
            out.append(_SOFT)
            continue
        if node is _END_QUOTE:
            out.append(_QUOTE_CLOSE + _SOFT)
            continue
        assert isinstance(node, LexborNode)
        name = node.tag
        if name == "-text":
            piece = _WS.sub(" ", node.text_content or "")
            # A text holding the marker characters must not be taken for a quote's bounds.
            if quotes == _MARK and (_QUOTE_OPEN in piece or _QUOTE_CLOSE in piece):
                piece = piece.replace(_QUOTE_OPEN, " ").replace(_QUOTE_CLOSE, " ")
            out.append(piece)
            continue
        if name in _MARKUP_NODES:
            continue
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
        stack.extend(reversed(list(node.iter(include_text=True))))
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

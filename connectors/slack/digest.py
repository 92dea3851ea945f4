"""The daily vendor digest: what it shows, and how it renders to Slack Block Kit and to plain text.

Everything a vendor can influence (vendor names, subjects, Slack snippets, alert summaries built from them)
goes through :func:`escape_text` before it reaches mrkdwn, so it can never produce a broadcast
(``<!channel>``, ``@here``), a user or channel mention, or a disguised link. Section texts are also sent
with ``verbatim: true`` so Slack does not auto-link or auto-mention anything in them.

Slack limits respected here: at most 50 blocks per message, 3,000 characters per section text and per
top-level ``text`` fallback, 150 characters per header, and about 12,000 characters of block text per
message. Vendors that do not fit in the main message fold into thread replies, and the main message ends
with "…and N more vendors in the thread".
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

# no_data: the data that feeds the vendor failed, went silent or ended; it is not judged
STATUSES = ("ok", "warning", "critical", "no_data")
SEVERITIES = ("warning", "critical")
_RANK = {"critical": 0, "warning": 1, "no_data": 2, "ok": 3}
STATUS_EMOJI = {
    "critical": ":red_circle:",
    "warning": ":large_yellow_circle:",
    "ok": ":large_green_circle:",
    "no_data": ":white_circle:",
    "data_problem": ":warning:",  # not a status: the mark of a problem with the data
}
_STATUS_TAG = {
    "critical": "[CRITICAL]",
    "warning": "[WARNING]",
    "ok": "[OK]",
    "data_problem": "[DATA]",
    "no_data": "[NO DATA]",
}

MAX_BLOCKS = 50
MAX_SECTION_CHARS = 3000
MAX_TEXT_CHARS = 3000
MAX_HEADER_CHARS = 150
MAX_MESSAGE_CHARS = 12000
MAX_EVIDENCE = 3
MAX_ALERTS = 6

# Lengths of vendor-controlled text before escaping (escaping may grow it up to five times).
_NAME_CHARS = 80
_LABEL_CHARS = 150
_DETAIL_CHARS = 120
_SUMMARY_CHARS = 300
_DATA_LINE_CHARS = 500
_URL_CHARS = 500

_ZWJ = "\u2060"  # WORD JOINER: invisible, breaks "@here" so Slack does not see a broadcast
_UNSAFE_CHARS = re.compile(r"[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\u2028\u2029]")
_BROADCAST = re.compile(r"@(here|channel|everyone)", re.IGNORECASE)


# --------------------------------------------------------------------------------------------------- data


@dataclass
class EvidenceItem:
    """One awaiting item: ``label`` is an email subject or a Slack text snippet, ``link`` a Slack permalink."""

    label: str
    link: str | None = None
    waited_business_minutes: float | None = None
    detail: str | None = None


@dataclass
class AlertLine:
    rule: str
    severity: str  # 'warning' | 'critical'
    summary: str

    def __post_init__(self) -> None:
        if self.severity not in SEVERITIES:
            raise ValueError(f"alert severity must be one of {SEVERITIES}, not {self.severity!r}")


@dataclass
class VendorDigest:
    vendor_id: str
    vendor_name: str
    status: str  # 'ok' | 'warning' | 'critical' | 'no_data'
    vendor_median_minutes: float | None  # business minutes, vendor responses, over the digest's recent window
    vendor_p90_minutes: float | None
    company_median_minutes: float | None
    company_p90_minutes: float | None
    vendor_responses: int
    company_responses: int
    sla_breaches: int  # vendor responses over SLA answered on the day
    overdue_on_vendor: int
    overdue_on_company: int
    signals_recent: int
    signals_per_100_recent: float | None
    signals_per_100_baseline: float | None
    alerts: list[AlertLine] = field(default_factory=list)
    evidence: list[EvidenceItem] = field(default_factory=list)  # at most 3 are shown
    alert_channel: str | None = None
    has_data: bool = True  # False: its figures would be built on missing data; "no data" and why instead
    data_reason: str | None = None

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"vendor status must be one of {STATUSES}, not {self.status!r}")


@dataclass
class Digest:
    day: dt.date
    vendors: list[VendorDigest]
    title: str = "Vendor communication health"
    recent_days: int = 7  # [alerts] recent_days: the window the response times and signals cover
    data_problems: list[str] = field(default_factory=list)  # one line each, shown before any vendor

    @property
    def window(self) -> str:
        """The recent window in words, as every label names it."""
        return "the last day" if self.recent_days == 1 else f"the last {self.recent_days} days"

    @property
    def status(self) -> str:
        """The worst vendor status ('ok' when there are no vendors)."""
        return min((v.status for v in self.vendors), key=_RANK.__getitem__, default="ok")


@dataclass
class RenderedMessage:
    """One Slack message: ``text`` is the notification fallback, ``plain`` the same content without markup."""

    text: str
    blocks: list[dict[str, Any]]
    plain: str = ""

    def payload(self) -> dict[str, Any]:
        """The ``chat.postMessage`` arguments (without channel and thread)."""
        return {"text": self.text, "blocks": self.blocks}


@dataclass
class RenderedDigest:
    main: RenderedMessage
    thread_replies: list[RenderedMessage]

    @property
    def messages(self) -> list[RenderedMessage]:
        return [self.main, *self.thread_replies]

    def to_json(self) -> dict[str, Any]:
        """Block Kit payloads, e.g. written beside the warehouse on a dry run."""
        return {"main": self.main.payload(), "thread_replies": [m.payload() for m in self.thread_replies]}


# ----------------------------------------------------------------------------------------------- escaping


def _clean(value: str) -> str:
    """Control characters, line breaks and bidi overrides become spaces (no layout or terminal tricks)."""
    return _UNSAFE_CHARS.sub(" ", value)


def escape_text(value: str) -> str:
    """Make untrusted text inert inside Slack mrkdwn.

    ``&``, ``<`` and ``>`` become entities, so no ``<!channel>``, ``<@U…>``, ``<#C…>`` or ``<url|label>`` can
    form; ``@here``/``@channel``/``@everyone`` get an invisible word joiner after the ``@``; markdown-style
    ``[label](url)`` links get one between ``]`` and ``(``; control characters and bidi overrides become spaces.
    """
    value = _clean(value)
    value = value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    value = _BROADCAST.sub(lambda m: "@" + _ZWJ + m.group(1), value)
    return value.replace("](", "]" + _ZWJ + "(")


def _plain(value: str) -> str:
    """Untrusted text for the terminal: the same neutralisation minus the mrkdwn entities."""
    value = _BROADCAST.sub(lambda m: "@" + _ZWJ + m.group(1), _clean(value))
    return value.replace("](", "]" + _ZWJ + "(")


def _clip(value: str, limit: int) -> str:
    value = " ".join(_clean(value).split())
    return value if len(value) <= limit else value[: limit - 1].rstrip() + "…"


def safe_link(url: str | None) -> str | None:
    """A permalink usable inside ``<url|label>``, or None when it is not a plain https URL."""
    if not url:
        return None
    url = url.strip()
    if len(url) > _URL_CHARS or _UNSAFE_CHARS.search(url) or any(c.isspace() for c in url):
        return None
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme.lower() != "https" or not parts.hostname:
        return None
    return url.replace("&", "&amp;").replace("|", "%7C").replace("<", "%3C").replace(">", "%3E")


# ----------------------------------------------------------------------------------------------- segments
# A line is a list of segments, rendered once as mrkdwn and once as plain text, so both always agree.


@dataclass(frozen=True)
class _Seg:
    kind: str  # 'ours' | 'vendor' | 'bold' | 'link' | 'status'
    value: str = ""
    inner: tuple[_Seg, ...] = ()
    url: str = ""


def _ours(text: str) -> _Seg:
    return _Seg("ours", text)


def _vendor(text: str, limit: int) -> _Seg:
    return _Seg("vendor", _clip(text, limit))


def _bold(*inner: _Seg) -> _Seg:
    return _Seg("bold", inner=inner)


def _status(status: str) -> _Seg:
    return _Seg("status", status)


def _mrkdwn(segments: Iterable[_Seg]) -> str:
    out = []
    for seg in segments:
        if seg.kind == "ours":
            out.append(seg.value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;"))
        elif seg.kind == "vendor":
            out.append(escape_text(seg.value))
        elif seg.kind == "bold":
            out.append("*" + _mrkdwn(seg.inner) + "*")
        elif seg.kind == "link":
            out.append("<" + seg.url + "|" + _mrkdwn(seg.inner) + ">")
        elif seg.kind == "status":
            out.append(STATUS_EMOJI[seg.value])
    return "".join(out)


def _text(segments: Iterable[_Seg]) -> str:
    out = []
    for seg in segments:
        if seg.kind == "ours":
            out.append(seg.value)
        elif seg.kind == "vendor":
            out.append(_plain(seg.value))
        elif seg.kind == "bold":
            out.append(_text(seg.inner))
        elif seg.kind == "link":
            url = seg.url.replace("&amp;", "&")
            out.append(_text(seg.inner) + " (" + url + ")")
        elif seg.kind == "status":
            out.append(_STATUS_TAG[seg.value])
    return "".join(out)


Line = list[_Seg]


@dataclass
class _Block:
    block: dict[str, Any]
    plain: str

    @property
    def size(self) -> int:
        return _block_chars(self.block)


def _block_chars(block: dict[str, Any]) -> int:
    total = 0
    text = block.get("text")
    if isinstance(text, dict):
        total += len(text.get("text", ""))
    for element in block.get("elements", []) or []:
        if isinstance(element, dict):
            total += len(element.get("text", ""))
    return total


def _fit_lines(lines: Sequence[Line], limit: int) -> tuple[str, str]:
    """Join whole lines (mrkdwn, plain) within ``limit`` mrkdwn characters; never cuts inside a line."""
    md: list[str] = []
    plain: list[str] = []
    used = 0
    for index, line in enumerate(lines):
        rendered = _mrkdwn(line)
        if len(rendered) > limit:  # a single absurd line: fall back to its plain form, clipped and escaped
            rendered = escape_text(_clip(_text(line), limit // 5))
        more = f"…and {len(lines) - index} more lines"
        cost = len(rendered) + (1 if md else 0)
        room = limit - used - (len(more) + 1 if index < len(lines) - 1 else 0)
        if cost > room:
            md.append(more)
            plain.append(more)
            break
        md.append(rendered)
        plain.append(_text(line))
        used += cost
    return "\n".join(md), "\n".join(plain)


def _section(lines: Sequence[Line]) -> _Block:
    md, plain = _fit_lines(lines, MAX_SECTION_CHARS)
    block = {"type": "section", "text": {"type": "mrkdwn", "text": md, "verbatim": True}}
    return _Block(block, plain)


def _context(line: Line) -> _Block:
    md, plain = _fit_lines([line], MAX_SECTION_CHARS)
    block = {"type": "context", "elements": [{"type": "mrkdwn", "text": md, "verbatim": True}]}
    return _Block(block, plain)


def _header(text: str) -> _Block:
    text = _clip(text, MAX_HEADER_CHARS)
    return _Block({"type": "header", "text": {"type": "plain_text", "text": text, "emoji": True}}, text)


def _divider() -> _Block:
    return _Block({"type": "divider"}, "")


# ------------------------------------------------------------------------------------------------ content


def format_hours(minutes: float | None) -> str:
    """Business minutes as hours for people: '3.5 h', or '–' when unknown."""
    if minutes is None or (isinstance(minutes, float) and math.isnan(minutes)):
        return "–"
    return f"{minutes / 60:.1f} h"


def _rate(value: float | None) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return f"{value:.1f}"


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" + ("" if count == 1 else "s")


def sort_vendors(vendors: Iterable[VendorDigest]) -> list[VendorDigest]:
    """Critical first, then warning, then no data, then ok; within a status by number of alerts, then by name."""
    return sorted(
        vendors, key=lambda v: (_RANK[v.status], -len(v.alerts), v.vendor_name.casefold(), v.vendor_id)
    )


def _data_lines(problems: Sequence[str]) -> list[Line]:
    """The data's problems, one line each; their text names channels and mailboxes, so it is escaped."""
    return [[_status("data_problem"), _ours(" "), _vendor(problem, _DATA_LINE_CHARS)] for problem in problems]


def _no_data_line(vendor: VendorDigest) -> Line:
    reason = vendor.data_reason or "its sources gave nothing to judge"
    return [
        _status("no_data"),
        _ours(" "),
        _bold(_vendor(vendor.vendor_name, _NAME_CHARS)),
        _ours(" · no data: "),
        _vendor(reason, _DATA_LINE_CHARS),
    ]


def _summary_lines(vendor: VendorDigest, recent_days: int) -> list[Line]:
    latency_vendor = (
        f"{format_hours(vendor.vendor_median_minutes)} / {format_hours(vendor.vendor_p90_minutes)}"
    )
    latency_company = (
        f"{format_hours(vendor.company_median_minutes)} / {format_hours(vendor.company_p90_minutes)}"
    )
    signals = f"{vendor.signals_recent} · {_rate(vendor.signals_per_100_recent)} per 100 msgs"
    if vendor.signals_per_100_baseline is None:
        signals += " (no baseline yet)"
    else:
        signals += f" vs {_rate(vendor.signals_per_100_baseline)} baseline"
    return [
        [
            _status(vendor.status),
            _ours(" "),
            _bold(_vendor(vendor.vendor_name, _NAME_CHARS)),
            _ours(f" · {vendor.status}"),
        ],
        [
            _bold(_ours("Vendor → us")),
            _ours(f" {latency_vendor} ({_plural(vendor.vendor_responses, 'response')})   "),
            _bold(_ours("Us → vendor")),
            _ours(f" {latency_company} ({_plural(vendor.company_responses, 'response')})"),
        ],
        [
            _bold(_ours("SLA breaches today")),
            _ours(f" {vendor.sla_breaches}   "),
            _bold(_ours("Overdue")),
            _ours(f" {vendor.overdue_on_vendor} on vendor, {vendor.overdue_on_company} on us   "),
            _bold(_ours(f"Signals {recent_days}d")),
            _ours(f" {signals}"),
        ],
    ]


def _evidence_line(item: EvidenceItem) -> Line:
    label = _vendor(item.label or "(no subject)", _LABEL_CHARS)
    url = safe_link(item.link)
    line: Line = [_ours("• ")]
    line.append(_Seg("link", inner=(label,), url=url) if url else label)
    if item.waited_business_minutes is not None and not math.isnan(item.waited_business_minutes):
        line.append(_ours(f" — waiting {item.waited_business_minutes / 60:.1f} business h"))
    if item.detail:
        line += [_ours(" ("), _vendor(item.detail, _DETAIL_CHARS), _ours(")")]
    return line


def _detail_lines(vendor: VendorDigest) -> list[Line]:
    lines: list[Line] = []
    alerts = sorted(vendor.alerts, key=lambda a: _RANK[a.severity])
    for alert in alerts[:MAX_ALERTS]:
        lines.append(
            [_status(alert.severity), _ours(" "), _vendor(alert.summary or alert.rule, _SUMMARY_CHARS)]
        )
    if len(alerts) > MAX_ALERTS:
        lines.append([_ours(f"…and {len(alerts) - MAX_ALERTS} more alerts")])
    if vendor.evidence:
        lines.append([_bold(_ours("Waiting"))])
        lines += [_evidence_line(item) for item in vendor.evidence[:MAX_EVIDENCE]]
        if len(vendor.evidence) > MAX_EVIDENCE:
            lines.append([_ours(f"…and {len(vendor.evidence) - MAX_EVIDENCE} more")])
    return lines


def _vendor_blocks(vendor: VendorDigest, recent_days: int, *, divider: bool = True) -> list[_Block]:
    if not vendor.has_data:  # no figures, and no judgement built on missing data
        return [_section([_no_data_line(vendor)]), *([_divider()] if divider else [])]
    blocks = [_section(_summary_lines(vendor, recent_days))]
    details = _detail_lines(vendor)
    if details:
        blocks.append(_section(details))
    if divider:
        blocks.append(_divider())
    return blocks


def _counts(vendors: Sequence[VendorDigest]) -> str:
    counts = {s: sum(1 for v in vendors if v.status == s) for s in ("critical", "warning", "no_data", "ok")}
    # "no data" only when some vendor has none: the usual line stays as it was
    return " · ".join(f"{n} {_status_words(s)}" for s, n in counts.items() if n or s != "no_data")


def _status_words(status: str) -> str:
    return status.replace("_", " ")


def _names_within(prefix: str, vendors: Sequence[VendorDigest], limit: int) -> str:
    """``prefix`` plus escaped vendor names with their status, as many as fit in ``limit`` characters."""
    text = prefix
    for index, vendor in enumerate(vendors):
        piece = (
            ", " if index else " "
        ) + f"{escape_text(_clip(vendor.vendor_name, _NAME_CHARS))} ({vendor.status})"
        rest = f", +{len(vendors) - index} more"
        if len(text) + len(piece) + len(rest) > limit:
            return text + (rest if index else f" {len(vendors)} vendors")
        text += piece
    return text


def _message(blocks: list[_Block], text: str) -> RenderedMessage:
    plain = "\n".join(b.plain if b.block["type"] != "divider" else "-" * 40 for b in blocks)
    return RenderedMessage(text=text[:MAX_TEXT_CHARS], blocks=[b.block for b in blocks], plain=plain)


def _fits(blocks: list[_Block], extra: list[_Block], reserve_blocks: int, reserve_chars: int) -> bool:
    count = len(blocks) + len(extra) + reserve_blocks
    chars = sum(b.size for b in blocks) + sum(b.size for b in extra) + reserve_chars
    return count <= MAX_BLOCKS and chars <= MAX_MESSAGE_CHARS


def render_digest(digest: Digest) -> RenderedDigest:
    """The digest as one main message plus, when it does not fit, thread replies with the remaining vendors."""
    vendors = sort_vendors(digest.vendors)
    status = digest.status
    day = digest.day.isoformat()
    head = [
        _header(f"{digest.title} · {day}"),
        *([_section(_data_lines(digest.data_problems))] if digest.data_problems else []),
        _section(
            [
                [
                    _status(status),
                    _ours(" "),
                    _bold(_ours(_status_words(status).capitalize())),
                    _ours(f" · {_counts(vendors)}"),
                ],
                [_ours(f"Response times in business hours over {digest.window}, median / p90.")],
            ]
        ),
        _divider(),
    ]
    if not vendors:
        head.append(_context([_ours("No vendors configured.")]))
    groups = [_vendor_blocks(v, digest.recent_days) for v in vendors]
    more_reserve = len("…and 9999 more vendors in the thread")

    main = list(head)
    index = 0
    while index < len(groups) and _fits(main, groups[index], 1, more_reserve):
        main += groups[index]
        index += 1
    left = len(groups) - index
    if left:
        main.append(_context([_ours(f"…and {left} more vendors in the thread")]))
    worst = [v for v in vendors if v.status != "ok"]
    first_problem = (
        escape_text(_clip(digest.data_problems[0], _DATA_LINE_CHARS)) + " " if digest.data_problems else ""
    )
    text = _names_within(
        f"{digest.title} {day}: {first_problem}{_status_words(status)} ({_counts(vendors)}).",
        worst,
        MAX_TEXT_CHARS,
    )
    main_message = _message(main, text)

    chunks: list[list[VendorDigest]] = []
    bodies: list[list[_Block]] = []
    while index < len(groups):
        body: list[_Block] = []
        chunk: list[VendorDigest] = []
        while index < len(groups) and (not body or _fits(body, groups[index], 1, 200)):
            body += groups[index]
            chunk.append(vendors[index])
            index += 1
        chunks.append(chunk)
        bodies.append(body)
    replies = []
    for number, (chunk, body) in enumerate(zip(chunks, bodies, strict=True), start=1):
        label = f"{digest.title} · {day} · continued {number}/{len(chunks)}"
        blocks = [_context([_ours(label)]), *body]
        replies.append(_message(blocks, _names_within(label + ":", chunk, MAX_TEXT_CHARS)))
    return RenderedDigest(main=main_message, thread_replies=replies)


def render_vendor_alert(digest: Digest, vendor: VendorDigest) -> RenderedMessage:
    """The alert posted to the vendor's own ``alert_channel`` (used for critical vendors)."""
    day = digest.day.isoformat()
    blocks = [
        _header(f"{vendor.status.capitalize()} vendor alert · {day}"),
        *_vendor_blocks(vendor, digest.recent_days, divider=False),
    ]
    note = (
        f"From the daily digest ({digest.title}, {day}). Business hours over {digest.window}, median / p90."
    )
    blocks.append(_context([_ours(note)]))
    name = escape_text(_clip(vendor.vendor_name, _NAME_CHARS))
    text = f"{name} is {vendor.status} on {day}"
    summaries = [escape_text(_clip(a.summary or a.rule, _SUMMARY_CHARS)) for a in vendor.alerts]
    for index, summary in enumerate(summaries):
        piece = (": " if index == 0 else "; ") + summary
        if len(text) + len(piece) > MAX_TEXT_CHARS - 20:
            text += f"; +{len(summaries) - index} more"
            break
        text += piece
    return _message(blocks, text)


def render_terminal(rendered: RenderedDigest) -> str:
    """Plain text for dry runs: no mrkdwn, no emoji codes, no Slack link syntax."""
    parts = [_message_plain(rendered.main)]
    for reply in rendered.thread_replies:
        parts.append("  ↳ thread reply\n" + _message_plain(reply))
    return "\n\n".join(parts).rstrip() + "\n"


def _message_plain(message: RenderedMessage) -> str:
    if message.plain:
        return message.plain
    return _blocks_to_plain(message.blocks)


_LINK = re.compile(r"<(https://[^|>]+)\|([^>]*)>")


def _blocks_to_plain(blocks: Sequence[dict[str, Any]]) -> str:
    """Best effort for messages built elsewhere (no ``plain``): strip our markup from the block texts."""
    lines = []
    for block in blocks:
        if block.get("type") == "divider":
            lines.append("-" * 40)
            continue
        texts = [block.get("text", {}).get("text", "")] if isinstance(block.get("text"), dict) else []
        texts += [e.get("text", "") for e in block.get("elements", []) or [] if isinstance(e, dict)]
        for text in texts:
            text = _LINK.sub(lambda m: f"{m.group(2)} ({m.group(1)})", text)
            for status, emoji in STATUS_EMOJI.items():
                text = text.replace(emoji, _STATUS_TAG[status])
            text = text.replace("*", "").replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
            lines.append(text)
    return "\n".join(lines)

"""The daily vendor digest rendered: Slack Block Kit (with a plain-text twin for the terminal), markdown for the
Prefect artifact, and the artifact's table. What it shows is digest.model.

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

import math
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from connectors.slack.publish import RenderedMessage
from digest.model import (
    RANK,
    RULE_NAMES,
    STATUS_EMOJI,
    STATUS_TAG,
    STILL_OPEN_SQL,
    AlertLine,
    Digest,
    EvidenceItem,
    VendorDigest,
    WaitingItem,
    plural,
)

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
_URL_CHARS = 500

_ZWJ = "\u2060"  # WORD JOINER: invisible, breaks "@here" so Slack does not see a broadcast
_UNSAFE_CHARS = re.compile(r"[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\u2028\u2029]")
_BROADCAST = re.compile(r"@(here|channel|everyone)", re.IGNORECASE)


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
    kind: str  # 'ours' | 'vendor' | 'bold' | 'link' | 'status' | 'code'
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


def _code(text: str) -> _Seg:
    return _Seg("code", text)


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
        elif seg.kind == "code":
            out.append("`" + seg.value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;") + "`")
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
        elif seg.kind in ("status", "code"):
            out.append(STATUS_TAG[seg.value] if seg.kind == "status" else seg.value)
    return "".join(out)


def _md_escape(text: str) -> str:
    """Vendor text inside markdown: no markup, links or HTML of its own."""
    return "".join("\\" + ch if ch in "\\`*_[]()<>#|!" else ch for ch in _plain(text))


def _markdown(segments: Iterable[_Seg]) -> str:
    out = []
    for seg in segments:
        if seg.kind == "ours":
            out.append(seg.value)
        elif seg.kind == "vendor":
            out.append(_md_escape(seg.value))
        elif seg.kind == "bold":
            out.append("**" + _markdown(seg.inner) + "**")
        elif seg.kind == "link":
            out.append("[" + _markdown(seg.inner) + "](" + seg.url.replace("&amp;", "&") + ")")
        elif seg.kind == "status":
            out.append("**" + STATUS_TAG[seg.value] + "**")
        elif seg.kind == "code":
            out.append("`" + seg.value + "`")
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


def sort_vendors(vendors: Iterable[VendorDigest]) -> list[VendorDigest]:
    """Critical first, then warning, then ok; within a status by number of alerts, then by name."""
    return sorted(
        vendors, key=lambda v: (RANK[v.status], -len(v.alerts), v.vendor_name.casefold(), v.vendor_id)
    )


_STATUS_WORD = {"critical": "critical", "warning": "warning", "no_data": "no data", "ok": "ok"}

# Each list section has its own budget, so the fixed parts of the main message always fit Slack's limits and
# what is left goes to the flagged vendors' sections (the rest fold into the thread).
_SECTION_BUDGET = {"data": 1000, "new": 2500, "open": 600, "resolved": 1500, "us": 2500, "ok": 1000}


def _status_word(status: str) -> str:
    return _STATUS_WORD[status]


def _summary_lines(vendor: VendorDigest, recent_days: int) -> list[Line]:
    status_line: Line = [
        _status(vendor.status),
        _ours(" "),
        _bold(_vendor(vendor.vendor_name, _NAME_CHARS)),
        _ours(f" · {_status_word(vendor.status)}"),
    ]
    if vendor.status == "no_data":
        return [status_line, [_ours("no data: "), _vendor(vendor.data_reason or "unknown", _DETAIL_CHARS)]]
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
        status_line,
        [
            _bold(_ours("Vendor → us")),
            _ours(f" {latency_vendor} ({plural(vendor.vendor_responses, 'response')})   "),
            _bold(_ours("Us → vendor")),
            _ours(f" {latency_company} ({plural(vendor.company_responses, 'response')})"),
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
    line: Line = [_ours("• " + (f"{item.kind}: " if item.kind else ""))]
    line.append(_Seg("link", inner=(label,), url=url) if url else label)
    if item.waited_business_minutes is not None and not math.isnan(item.waited_business_minutes):
        hours = f"{item.waited_business_minutes / 60:.1f} business h"
        line.append(
            _ours(f" — answered in {hours}" if item.kind == "answered late" else f" — waiting {hours}")
        )
    if item.detail:
        line += [_ours(" ("), _vendor(item.detail, _DETAIL_CHARS), _ours(")")]
    return line


def _waiting_line(item: WaitingItem) -> Line:
    label = _vendor(item.label or "(no subject)", _LABEL_CHARS)
    url = safe_link(item.link)
    return [
        _ours("• "),
        _Seg("link", inner=(label,), url=url) if url else label,
        _ours(" — "),
        _vendor(item.waiter, _NAME_CHARS),
        _ours(" waits on "),
        _vendor(item.waited_on, _NAME_CHARS),
        _ours(f" since {item.since.isoformat()}"),
    ]


def _at_most(lines: list[Line], limit: int, noun: str) -> list[Line]:
    if len(lines) <= limit:
        return lines
    return [*lines[:limit], [_ours(" ".join(f"…and {len(lines) - limit} more {noun}".split()))]]


def _by_severity(alerts: Iterable[AlertLine]) -> list[AlertLine]:
    return sorted(alerts, key=lambda a: RANK[a.severity])


def _alert_line(alert: AlertLine, vendor: VendorDigest | None = None) -> Line:
    line: Line = [_status(alert.severity), _ours(" ")]
    if vendor is not None:
        line += [_bold(_vendor(vendor.vendor_name, _NAME_CHARS)), _ours(" · ")]
    line += [_ours(RULE_NAMES.get(alert.rule, alert.rule) + ": "), _vendor(alert.summary, _SUMMARY_CHARS)]
    if vendor is None and alert.first_seen is not None:
        line.append(_ours(f" — since {alert.first_seen.isoformat()} ({alert.state})"))
    return line


def _vendor_lines(vendor: VendorDigest, recent_days: int) -> list[Line]:
    """A flagged vendor: its figures against its own normal, what fires since when, evidence, what waits on it."""
    lines = _summary_lines(vendor, recent_days)
    firing = _by_severity(a for a in vendor.alerts_about("vendor") if a.state != "resolved")
    lines += _at_most([_alert_line(a) for a in firing], MAX_ALERTS, "alerts")
    evidence: list[EvidenceItem] = []
    for alert in firing:
        if not alert.is_items:  # items are listed under "Waiting", with who waits on whom
            evidence += [e for e in alert.evidence if e not in evidence]
    lines += _at_most([_evidence_line(e) for e in evidence], MAX_EVIDENCE, "")
    waiting = [w for w in vendor.waiting if not w.on_us]
    if waiting:
        lines.append([_bold(_ours(f"Waiting ({len(waiting)})"))])
        lines += _at_most([_waiting_line(w) for w in waiting], MAX_EVIDENCE, "")
    return lines


@dataclass
class DigestSection:
    """One part of the digest, in reading order; Slack, the markdown artifact and the terminal all render these."""

    kind: str  # head | data | new | vendor | open | resolved | us | ok | dismissed
    title: str | None
    lines: list[Line]
    vendor: VendorDigest | None = None


def _items(alerts: Iterable[AlertLine], count: Callable[[AlertLine], int]) -> int:
    return sum(count(a) for a in alerts)


def digest_sections(digest: Digest) -> list[DigestSection]:
    """The digest's structure, built once: new or worse first, then flagged vendors, then what is still open."""
    vendors = sort_vendors(digest.vendors)
    alerts = [(v, a) for v in vendors for a in v.alerts]
    new_count = _items(
        (a for _, a in alerts),
        lambda a: a.new_items + a.worse_items if a.is_items else 1 if a.is_new_or_worse else 0,
    )
    open_rules = [a for _, a in alerts if not a.is_items and a.subject == "vendor" and a.state == "ongoing"]
    open_vendor = _items((a for _, a in alerts if a.rule == "vendor_overdue"), lambda a: a.ongoing_items)
    open_us = _items((a for _, a in alerts if a.rule == "company_overdue"), lambda a: a.ongoing_items)
    open_us += sum(1 for _, a in alerts if a.rule == "company_latency_drift" and a.state == "ongoing")
    resolved = [(v, a) for v, a in alerts if (a.resolved_items if a.is_items else a.state == "resolved")]
    resolved_count = _items((a for _, a in resolved), lambda a: a.resolved_items if a.is_items else 1)
    on_us = [
        v
        for v in vendors
        if any(a.state != "resolved" for a in v.alerts_about("company")) or any(w.on_us for w in v.waiting)
    ]

    status = digest.status
    counts = _counts(vendors) + (f" · {len(on_us)} waiting on us" if on_us else "")
    sections = [
        DigestSection(
            "head",
            f"{digest.title} · {digest.day.isoformat()}",
            [
                [
                    _status(status),
                    _ours(" "),
                    _bold(_ours(_status_word(status).capitalize())),
                    _ours(f" · {counts}"),
                ],
                [
                    _ours(
                        f"{new_count} new or worse {digest.since} · {len(open_rules) + open_vendor + open_us} still "
                        f"open · {resolved_count} resolved"
                    )
                ],
                [_ours(f"Response times in business hours over {digest.window}, median / p90.")],
            ],
        )
    ]
    if digest.data_problems:
        lines = [[_ours("• "), _vendor(p, _SUMMARY_CHARS)] for p in digest.data_problems]
        sections.append(DigestSection("data", "Data problems", lines))
    if not vendors:
        sections.append(DigestSection("new", None, [[_ours("No vendors configured.")]]))
        return sections

    new = _by_severity(a for _, a in alerts if a.subject == "vendor" and a.is_new_or_worse)
    owner = {id(a): v for v, a in alerts}
    lines = [_alert_line(a, owner[id(a)]) for a in new] or [[_ours("Nothing new or worse.")]]
    sections.append(DigestSection("new", f"New or worse {digest.since}", lines))

    for vendor in vendors:
        if vendor.status != "ok":
            sections.append(DigestSection("vendor", None, _vendor_lines(vendor, digest.recent_days), vendor))

    sections.append(
        DigestSection(
            "open",
            "Still open",
            [
                [
                    _ours(
                        f"{plural(len(open_rules), 'vendor rule')} still firing, {plural(open_vendor, 'item')} "
                        f"waiting on vendors, {open_us} on us (announced before, not repeated)."
                    )
                ],
                [_ours("List them: "), _code(f'commhealth sql "{STILL_OPEN_SQL}"')],
            ],
        )
    )
    if resolved:
        lines = []
        for vendor, alert in resolved:
            line: Line = [_bold(_vendor(vendor.vendor_name, _NAME_CHARS)), _ours(" · ")]
            if alert.is_items:
                side = "the vendor" if alert.rule == "vendor_overdue" else "us"
                line.append(
                    _ours(f"{plural(alert.resolved_items, 'overdue item')} waiting on {side} answered")
                )
            else:
                line += [
                    _ours(RULE_NAMES.get(alert.rule, alert.rule) + ": "),
                    _vendor(alert.summary, _SUMMARY_CHARS),
                ]
            lines.append(line)
        sections.append(DigestSection("resolved", f"Resolved {digest.since}", lines))
    if on_us:
        lines = []
        for vendor in on_us:
            lines.append([_bold(_vendor(vendor.vendor_name, _NAME_CHARS))])
            lines += [
                _alert_line(a)
                for a in _by_severity(vendor.alerts_about("company"))
                if a.state != "resolved" and not a.is_items
            ]
            waiting = [w for w in vendor.waiting if w.on_us]
            if waiting:
                lines.append([_ours(f"{plural(len(waiting), 'item')} past our SLA:")])
                lines += _at_most([_waiting_line(w) for w in waiting], MAX_EVIDENCE, "")
        sections.append(DigestSection("us", "Waiting on us", lines))
    ok = sorted(
        (v for v in vendors if v.status == "ok"), key=lambda v: (v.vendor_name.casefold(), v.vendor_id)
    )
    if ok:
        line = [_ours(f"{plural(len(ok), 'vendor')} ok: ")]
        for index, vendor in enumerate(ok):
            line += [_ours(", ")] * bool(index) + [_vendor(vendor.vendor_name, _NAME_CHARS)]
        sections.append(DigestSection("ok", None, [line]))
    if digest.dismissed_note:
        sections.append(DigestSection("dismissed", None, [[_ours(digest.dismissed_note)]]))
    return sections


def _section_blocks(section: DigestSection) -> list[_Block]:
    if section.kind == "head":
        return [_header(section.title or ""), _section(section.lines), _divider()]
    lines = ([[_bold(_ours(section.title))]] if section.title else []) + section.lines
    if section.kind in ("ok", "dismissed"):
        md, plain = _fit_lines(lines, _SECTION_BUDGET.get(section.kind, MAX_SECTION_CHARS))
        return [
            _Block({"type": "context", "elements": [{"type": "mrkdwn", "text": md, "verbatim": True}]}, plain)
        ]
    md, plain = _fit_lines(lines, _SECTION_BUDGET.get(section.kind, MAX_SECTION_CHARS))
    blocks = [_Block({"type": "section", "text": {"type": "mrkdwn", "text": md, "verbatim": True}}, plain)]
    return blocks + [_divider()] if section.kind in ("new", "vendor") else blocks


def _counts(vendors: Sequence[VendorDigest]) -> str:
    counts = {s: sum(1 for v in vendors if v.status == s) for s in ("critical", "warning", "no_data", "ok")}
    return " · ".join(f"{n} {_status_word(s)}" for s, n in counts.items() if n or s != "no_data")


def _names_within(prefix: str, vendors: Sequence[VendorDigest], limit: int) -> str:
    """``prefix`` plus escaped vendor names with their status, as many as fit in ``limit`` characters."""
    text = prefix
    for index, vendor in enumerate(vendors):
        piece = (
            ", " if index else " "
        ) + f"{escape_text(_clip(vendor.vendor_name, _NAME_CHARS))} ({_status_word(vendor.status)})"
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
    """The digest as one main message plus, when the flagged vendors' sections do not fit, thread replies."""
    sections = digest_sections(digest)
    top = [b for s in sections if s.kind in ("head", "data", "new") for b in _section_blocks(s)]
    tail = [
        b for s in sections if s.kind not in ("head", "data", "new", "vendor") for b in _section_blocks(s)
    ]
    vendor_sections = [s for s in sections if s.kind == "vendor"]
    groups = [_section_blocks(s) for s in vendor_sections]
    more_reserve = len("…and 9999 more vendors in the thread") + sum(b.size for b in tail)

    main = list(top)
    index = 0
    while index < len(groups) and _fits(main, groups[index], 1 + len(tail), more_reserve):
        main += groups[index]
        index += 1
    left = len(groups) - index
    if left:
        main.append(_context([_ours(f"…and {left} more vendors in the thread")]))
    main += tail
    day = digest.day.isoformat()
    status = digest.status
    worst = [v for v in sort_vendors(digest.vendors) if v.status != "ok"]
    # the notification says first what is wrong with the data, as the message does
    data_first = "".join(escape_text(_clip(p, _SUMMARY_CHARS)) + " " for p in digest.data_problems[:1])
    text = _names_within(
        f"{digest.title} {day}: {data_first}{_status_word(status)} ({_counts(digest.vendors)}).",
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
            chunk.append(vendor_sections[index].vendor)  # type: ignore[arg-type]
            index += 1
        chunks.append(chunk)
        bodies.append(body)
    replies = []
    for number, (chunk, body) in enumerate(zip(chunks, bodies, strict=True), start=1):
        label = f"{digest.title} · {day} · continued {number}/{len(chunks)}"
        blocks = [_context([_ours(label)]), *body]
        replies.append(_message(blocks, _names_within(label + ":", chunk, MAX_TEXT_CHARS)))
    return RenderedDigest(main=main_message, thread_replies=replies)


def render_markdown(digest: Digest) -> str:
    """The digest as markdown (the Prefect artifact), section by section like the Slack message."""
    out: list[str] = []
    for section in digest_sections(digest):
        if section.kind == "head":
            out.append(f"# {section.title}")
        elif section.title:
            out.append(f"## {section.title}")
        elif section.kind == "vendor":
            out.append("### " + _markdown(section.lines[0]))
        lines = section.lines[1:] if section.kind == "vendor" and not section.title else section.lines
        out += ["- " + _markdown(line).removeprefix("• ") for line in lines]
        out.append("")
    return "\n".join(out)


def render_vendor_alert(digest: Digest, vendor: VendorDigest) -> RenderedMessage:
    """The alert posted to the vendor's own ``alert_channel`` (critical alerts new or worse on the day)."""
    day = digest.day.isoformat()
    blocks = [
        _header(f"{_status_word(vendor.status).capitalize()} vendor alert · {day}"),
        _section(_vendor_lines(vendor, digest.recent_days)),
    ]
    note = (
        f"From the daily digest ({digest.title}, {day}). Business hours over {digest.window}, median / p90."
    )
    blocks.append(_context([_ours(note)]))
    name = escape_text(_clip(vendor.vendor_name, _NAME_CHARS))
    text = f"{name} is {_status_word(vendor.status)} on {day}"
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
                text = text.replace(emoji, STATUS_TAG[status])
            text = text.replace("*", "").replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
            lines.append(text)
    return "\n".join(lines)


def _hours_value(minutes: float | None) -> float | None:
    return None if minutes is None else round(minutes / 60, 2)


def digest_table(digest: Digest) -> list[dict[str, object]]:
    """The day's vendor metrics as rows, for the Prefect table artifact."""
    return [
        {
            "vendor": v.vendor_id,
            "status": v.status,
            "vendor_median_h": _hours_value(v.vendor_median_minutes),
            "vendor_p90_h": _hours_value(v.vendor_p90_minutes),
            "company_median_h": _hours_value(v.company_median_minutes),
            "company_p90_h": _hours_value(v.company_p90_minutes),
            "sla_breaches": v.sla_breaches,
            "overdue_on_vendor": v.overdue_on_vendor,
            "overdue_on_company": v.overdue_on_company,
            "signals": v.signals_recent,
            "signals_per_100": v.signals_per_100_recent,
            "signals_per_100_baseline": v.signals_per_100_baseline,
            "alerts": len(v.alerts),
            "dismissed": v.dismissed,
            "has_data": v.status != "no_data",
            "data_reason": v.data_reason,
        }
        for v in digest.vendors
    ]

"""Rendering the digest to Block Kit: layout, ordering, Slack limits, folding, escaping, terminal text."""

from __future__ import annotations

import json
import re

import pytest
from slack_samples import DAY, sample_digest, vendor

from digest.model import AlertLine, Digest, EvidenceItem
from digest.render import (
    MAX_BLOCKS,
    RenderedDigest,
    escape_text,
    render_digest,
    render_markdown,
    render_terminal,
    render_vendor_alert,
)

INJECTIONS = [
    "<!channel> pay now",
    "<!here|here> urgent",
    "ping @here and @channel and @Everyone",
    "<@U123> please",
    "<#C0GENERAL>",
    "<https://evil.example|Click>",
    "[Click](https://evil.example)",
    "&lt;!channel&gt;",
    "*bold* _it_ ~x~ `code`",
    "line\nbreak\u202eRTL",
]


def section_texts(blocks: list[dict]) -> list[str]:
    texts = []
    for block in blocks:
        if isinstance(block.get("text"), dict):
            texts.append(block["text"]["text"])
        texts += [e["text"] for e in block.get("elements", [])]
    return texts


def vendor_names_in(rendered: RenderedDigest, names: list[str]) -> list[str]:
    """Vendor names as they appear at the start of a vendor section (bold, after the status emoji)."""
    found = []
    for message in rendered.messages:
        for text in section_texts(message.blocks):
            match = re.match(r":[a-z_]+: \*(.+?)\* · (ok|warning|critical|no data)\n", text)
            if match and match[1] in names:
                found.append(match[1])
    return found


def test_layout_header_status_and_vendor_sections() -> None:
    rendered = render_digest(sample_digest())
    blocks = rendered.main.blocks
    assert blocks[0]["type"] == "header"
    assert "2026-03-10" in blocks[0]["text"]["text"]
    assert blocks[1]["text"]["text"].startswith(":red_circle: *Critical* · 1 critical · 1 warning · 2 ok")
    assert "2 waiting on us" in blocks[1]["text"]["text"]
    assert "4 new or worse since 2026-03-09 · 2 still open · 2 resolved" in blocks[1]["text"]["text"]
    assert rendered.thread_replies == []
    kappa = next(t for t in section_texts(blocks) if t.startswith(":red_circle: *Kappa Offshore*"))
    assert "*Vendor → us* 3.5 h / 9.0 h" in kappa
    assert "*Us → vendor* 1.2 h / –" in kappa
    assert "*SLA breaches today* 3" in kappa
    assert "2 on vendor, 1 on us" in kappa
    assert "2.1 per 100 msgs vs 0.8 baseline" in kappa
    assert (
        ":red_circle: slower than usual: Answers take 12.5 business hours against 3.0 usually"
        " — since 2026-03-06 (worse)" in kappa
    )
    assert (
        "• waiting: <https://fake-workspace.slack.com/archives/C0KAPPA/p1767225601000001|Invoice 42 clarification>"
        " — waiting 12.5 business h" in kappa
    )
    assert "• answered late: Re: release plan — answered in 1.5 business h (email)" in kappa
    # The Waiting list: only items still waiting on the vendor, who waits on whom since when.
    assert "*Waiting (2)*\n• Access request — Alice Martin waits on Kappa Offshore since 2026-03-02" in kappa
    assert "NDA" not in kappa and "company_overdue" not in kappa
    for block in blocks:
        if block["type"] == "section":
            assert block["text"] == {"type": "mrkdwn", "text": block["text"]["text"], "verbatim": True}
    assert rendered.main.text.startswith("Vendor communication health 2026-03-10: critical")


def test_sections_in_reading_order() -> None:
    """New or worse first, flagged vendors, still open (counts and the query), resolved, waiting on us, ok."""
    texts = section_texts(render_digest(sample_digest()).main.blocks)
    titles = [t.split("\n")[0] for t in texts]
    assert titles[2:] == [
        "*New or worse since 2026-03-09*",
        ":red_circle: *Kappa Offshore* · critical",
        ":large_yellow_circle: *Mira Labs* · warning",
        "*Still open*",
        "*Resolved since 2026-03-09*",
        "*Waiting on us*",
        "2 vendors ok: Lumen Nearshore, Nova Systems",
    ]
    new, _, mira, still_open, resolved, on_us = texts[2], texts[3], texts[4], texts[5], texts[6], texts[7]
    assert new.split("\n")[1:] == [
        ":red_circle: *Kappa Offshore* · slower than usual: Answers take 12.5 business hours against 3.0 usually",
        (
            ":red_circle: *Kappa Offshore* · overdue, waiting on the vendor: 2 waiting on the vendor past the 8 h"
            " SLA (1 new today, 1 newly past 3x); 1 answered today"
        ),
    ]
    assert "Mira" not in new  # ongoing: counted under "Still open", not announced again
    assert "since 2026-03-04 (ongoing)" in mira and "chasing" not in mira and "they chase" not in mira
    assert "1 vendor rule still firing, 0 items waiting on vendors, 1 on us" in still_open
    assert '`commhealth sql "SELECT vendor_id, rule, item_key' in still_open
    assert resolved.split("\n")[1:] == [
        "*Kappa Offshore* · 1 overdue item waiting on the vendor answered",
        "*Mira Labs* · we chase them more: No longer fires (it did from 2026-03-03 to 2026-03-09)",
    ]
    assert on_us.split("\n")[1:] == [
        "*Kappa Offshore*",
        "1 item past our SLA:",
        "• Can you sign the NDA? — Kappa Offshore (Priya) waits on Claire Petit since 2026-03-05",
        "*Nova Systems*",
        (
            ":large_yellow_circle: we answer slower than usual: We answer in 6.0 business hours against 2.0"
            " usually — since 2026-03-10 (new)"
        ),
    ]


def test_markdown_and_terminal_follow_the_slack_structure() -> None:
    digest = sample_digest()
    terminal = render_terminal(render_digest(digest))
    markdown = render_markdown(digest)
    titles = ["New or worse since 2026-03-09", "Kappa Offshore", "Mira Labs", "Still open"]
    titles += ["Resolved since 2026-03-09", "Waiting on us", "2 vendors ok: Lumen Nearshore, Nova Systems"]
    terminal_order = [
        terminal.index(t if "Offshore" not in t and "Mira" not in t else f"{t} ·") for t in titles
    ]
    markdown_order = [
        markdown.index(t if "Offshore" not in t and "Mira" not in t else f"{t}** ·") for t in titles
    ]
    assert terminal_order == sorted(terminal_order)
    assert markdown_order == sorted(markdown_order)
    assert "## New or worse since 2026-03-09" in markdown
    assert "- Access request — Alice Martin waits on Kappa Offshore since 2026-03-02" in markdown
    assert "• Access request — Alice Martin waits on Kappa Offshore since 2026-03-02" in terminal


def test_hooks_no_data_vendor_data_problems_and_dismissed() -> None:
    silent = vendor("orbit", "Orbit Data", "no_data")
    silent.data_reason = "no message since 2026-02-20 (the source is silent)"
    lumen = vendor("lumen")
    lumen.dismissed = 2
    digest = Digest(day=DAY, vendors=[silent, lumen], data_problems=["mbox /data/in.mbox failed"])
    texts = section_texts(render_digest(digest).main.blocks)
    assert texts[2] == "*Data problems*\n• mbox /data/in.mbox failed"
    orbit = next(t for t in texts if "Orbit Data" in t and "no data:" in t)
    assert orbit.startswith(":white_circle: *Orbit Data* · no data\nno data: no message since 2026-02-20")
    assert "Vendor → us" not in orbit
    assert texts[-1] == "2 alerts dismissed (left out of the statuses); `commhealth dismiss list` shows them."
    assert "no data" in texts[1]


def test_vendors_sorted_critical_first() -> None:
    rendered = render_digest(sample_digest())
    names = ["Kappa Offshore", "Mira Labs", "Lumen Nearshore"]
    assert vendor_names_in(rendered, names) == names[:2]  # ok vendors are folded into one line


def test_digest_status_is_worst_vendor_status() -> None:
    assert sample_digest().status == "critical"
    assert Digest(day=DAY, vendors=[vendor("a"), vendor("b", status="warning")]).status == "warning"
    assert Digest(day=DAY, vendors=[]).status == "ok"
    with pytest.raises(ValueError):
        vendor("x", status="bad")
    with pytest.raises(ValueError):
        AlertLine("r", "info", "s")


def test_at_most_three_evidence_items() -> None:
    evidence = [EvidenceItem(f"subject {i}", waited_business_minutes=60.0 * i) for i in range(5)]
    rendered = render_digest(Digest(day=DAY, vendors=[vendor("v", status="warning", evidence=evidence)]))
    text = "\n".join(section_texts(rendered.main.blocks))
    assert "subject 2" in text and "subject 3" not in text
    assert "…and 2 more" in text


def test_permalinks_only_https_and_escaped() -> None:
    evidence = [
        EvidenceItem("http one", link="http://example.com/a"),
        EvidenceItem("js one", link="javascript:alert(1)"),
        EvidenceItem("pipe one", link="https://x.slack.com/archives/C1/p1?a=1&b=2|evil>x"),
    ]
    rendered = render_digest(Digest(day=DAY, vendors=[vendor("v", status="warning", evidence=evidence)]))
    text = "\n".join(section_texts(rendered.main.blocks))
    assert "• http one" in text and "http://example.com" not in text
    assert "• js one" in text and "javascript" not in text
    assert "<https://x.slack.com/archives/C1/p1?a=1&amp;b=2%7Cevil%3Ex|pipe one>" in text


@pytest.mark.parametrize("raw", INJECTIONS)
def test_escape_text_neutralises(raw: str) -> None:
    out = escape_text(raw)
    assert "<" not in out and ">" not in out
    assert not re.search(r"@(here|channel|everyone)", out, re.IGNORECASE)
    assert "](" not in out
    assert "\n" not in out and "\u202e" not in out


def test_escape_text_examples() -> None:
    assert escape_text("<!channel> & co") == "&lt;!channel&gt; &amp; co"
    assert escape_text("@here") == "@\u2060here"
    assert escape_text("&lt;!here&gt;") == "&amp;lt;!here&amp;gt;"
    assert escape_text("*bold*") == "*bold*"  # formatting is cosmetic and cannot mention or link


def test_injection_in_every_vendor_field_is_neutralised() -> None:
    vendors = [
        vendor(
            f"v{i}",
            name=raw,
            status="critical",
            alerts=[AlertLine("vendor_overdue", "critical", f"waiting on {raw}")],
            evidence=[EvidenceItem(raw, link=None, waited_business_minutes=30.0, detail=raw)],
        )
        for i, raw in enumerate(INJECTIONS)
    ]
    digest = Digest(day=DAY, vendors=vendors)
    rendered = render_digest(digest)
    payloads = [m.payload() for m in rendered.messages] + [
        render_vendor_alert(digest, v).payload() for v in vendors
    ]
    for payload in payloads:
        raw_json = json.dumps(payload, ensure_ascii=False)
        for forbidden in ("<!", "<@", "<#", "<http", "](", "\u202e"):
            assert forbidden not in raw_json
        texts = [payload["text"], *section_texts(payload["blocks"])]
        for text in texts:
            assert not re.search(r"@(here|channel|everyone)", text, re.IGNORECASE)
    # Every vendor still shows up once, with its (escaped) name.
    names = [escape_text(v.vendor_name) for v in vendors]
    assert sorted(vendor_names_in(rendered, names)) == sorted(names)


def test_oversized_digest_folds_into_thread_replies() -> None:
    long_subject = "Re: " + "very long subject about the quarterly invoice & delivery plan " * 8
    vendors = [
        vendor(
            f"vendor{i:02d}",
            name=f"Vendor {i:02d} " + "X" * 60,
            status=("critical", "warning")[i % 2],
            alerts=[AlertLine("vendor_overdue", "warning", long_subject[:280]) for _ in range(8)],
            evidence=[
                EvidenceItem(
                    long_subject,
                    link=f"https://w.slack.com/archives/C1/p{i}{j}",
                    waited_business_minutes=99.0,
                )
                for j in range(5)
            ],
        )
        for i in range(40)
    ]
    rendered = render_digest(Digest(day=DAY, vendors=vendors))
    assert rendered.thread_replies, "40 long vendors cannot fit in one message"
    for message in rendered.messages:
        assert len(message.blocks) <= MAX_BLOCKS
        assert len(message.text) <= 3000
        assert all(1 <= len(t) <= 3000 for t in section_texts(message.blocks))
        assert sum(len(t) for t in section_texts(message.blocks)) <= 12000
        assert all(len(b["text"]["text"]) <= 150 for b in message.blocks if b["type"] == "header")
    in_main = len(vendor_names_in(RenderedDigest(rendered.main, []), [v.vendor_name for v in vendors]))
    notes = [b["elements"][0]["text"] for b in rendered.main.blocks if b["type"] == "context"]
    assert notes == [f"…and {40 - in_main} more vendors in the thread"]
    # the summary sections still close the main message, after the note
    assert section_texts(rendered.main.blocks)[-1].startswith("*Still open*")
    names = vendor_names_in(rendered, [v.vendor_name for v in vendors])
    assert sorted(names) == sorted(v.vendor_name for v in vendors)  # each vendor exactly once
    assert names[:20] == [v.vendor_name for v in vendors if v.status == "critical"]  # still critical first


def test_many_small_vendors_respect_block_limit() -> None:
    vendors = [vendor(f"v{i:03d}", status="warning") for i in range(120)]
    rendered = render_digest(Digest(day=DAY, vendors=vendors))
    assert len(rendered.messages) > 2
    assert all(len(m.blocks) <= MAX_BLOCKS for m in rendered.messages)
    assert len(vendor_names_in(rendered, [f"V{i:03d}" for i in range(120)])) == 120


def test_empty_digest() -> None:
    rendered = render_digest(Digest(day=DAY, vendors=[]))
    assert rendered.thread_replies == []
    assert "No vendors configured." in section_texts(rendered.main.blocks)


def test_vendor_alert_message() -> None:
    digest = sample_digest()
    kappa = next(v for v in digest.vendors if v.vendor_id == "kappa")
    message = render_vendor_alert(digest, kappa)
    assert message.blocks[0]["type"] == "header"
    assert message.blocks[0]["text"]["text"] == "Critical vendor alert · 2026-03-10"
    assert message.text.startswith(
        "Kappa Offshore is critical on 2026-03-10: Answers take 12.5 business hours against 3.0 usually; 2 waiting"
    )
    assert any("Invoice 42" in t for t in section_texts(message.blocks))


def test_render_terminal_has_no_markup() -> None:
    digest = sample_digest()
    digest.vendors += [
        vendor(f"extra{i}", status="warning", evidence=[EvidenceItem("Long " * 300)]) for i in range(30)
    ]
    rendered = render_digest(digest)
    assert rendered.thread_replies
    out = render_terminal(rendered)
    assert "[CRITICAL] Kappa Offshore · critical" in out
    assert "Vendor → us 3.5 h / 9.0 h (12 responses)" in out
    assert (
        "waiting: Invoice 42 clarification (https://fake-workspace.slack.com/archives/C0KAPPA/p1767225601000001)"
        in out
    )
    assert "thread reply" in out
    for markup in ("*", ":red_circle:", ":large_", "<http", "|", "&amp;", "&lt;", "&gt;", '"type"'):
        assert markup not in out

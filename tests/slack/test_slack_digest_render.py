"""Rendering the digest to Block Kit: layout, ordering, Slack limits, folding, escaping, terminal text."""

from __future__ import annotations

import json
import re

import pytest
from slack_samples import DAY, sample_digest, vendor

from connectors.slack.digest import (
    MAX_BLOCKS,
    AlertLine,
    Digest,
    EvidenceItem,
    RenderedDigest,
    escape_text,
    render_digest,
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
            match = re.match(r":[a-z_]+: \*(.+?)\* · (ok|warning|critical)\n", text)
            if match and match[1] in names:
                found.append(match[1])
    return found


def test_layout_header_status_and_vendor_sections() -> None:
    rendered = render_digest(sample_digest())
    blocks = rendered.main.blocks
    assert blocks[0]["type"] == "header"
    assert "2026-03-10" in blocks[0]["text"]["text"]
    assert blocks[1]["text"]["text"].startswith(":red_circle: *Critical*")
    assert rendered.thread_replies == []
    kappa = next(t for t in section_texts(blocks) if "*Kappa Offshore*" in t)
    assert "*Vendor → us* 3.5 h / 9.0 h" in kappa
    assert "*Us → vendor* 1.2 h / –" in kappa
    assert "*SLA breaches today* 3" in kappa
    assert "2 on vendor, 1 on us" in kappa
    assert "2.1 per 100 msgs vs 0.8 baseline" in kappa
    details = next(t for t in section_texts(blocks) if "Invoice 42" in t)
    assert ":red_circle: 3 vendor responses over SLA today" in details
    assert (
        "<https://fake-workspace.slack.com/archives/C0KAPPA/p1767225601000001|Invoice 42 clarification>"
        " — waiting 12.5 business h" in details
    )
    assert "Re: release plan — waiting 1.5 business h (email)" in details
    for block in blocks:
        if block["type"] == "section":
            assert block["text"] == {"type": "mrkdwn", "text": block["text"]["text"], "verbatim": True}
    assert rendered.main.text.startswith("Vendor communication health 2026-03-10: critical")


def test_vendors_sorted_critical_first() -> None:
    rendered = render_digest(sample_digest())
    names = ["Kappa Offshore", "Mira Labs", "Lumen Nearshore"]
    assert vendor_names_in(rendered, names) == names


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
    rendered = render_digest(Digest(day=DAY, vendors=[vendor("v", evidence=evidence)]))
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
            status=("critical", "warning", "ok")[i % 3],
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
    last = rendered.main.blocks[-1]
    in_main = len(vendor_names_in(RenderedDigest(rendered.main, []), [v.vendor_name for v in vendors]))
    assert last["type"] == "context"
    assert last["elements"][0]["text"] == f"…and {40 - in_main} more vendors in the thread"
    names = vendor_names_in(rendered, [v.vendor_name for v in vendors])
    assert sorted(names) == sorted(v.vendor_name for v in vendors)  # each vendor exactly once
    assert names[:14] == [v.vendor_name for v in vendors if v.status == "critical"]  # still critical first


def test_many_small_vendors_respect_block_limit() -> None:
    rendered = render_digest(Digest(day=DAY, vendors=[vendor(f"v{i:03d}") for i in range(120)]))
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
    assert message.text == (
        "Kappa Offshore is critical on 2026-03-10: 3 vendor responses over SLA today; 1 item waiting on us past SLA"
    )
    assert any("Invoice 42" in t for t in section_texts(message.blocks))


def test_render_terminal_has_no_markup() -> None:
    digest = sample_digest()
    digest.vendors += [vendor(f"extra{i}", evidence=[EvidenceItem("Long " * 300)]) for i in range(30)]
    rendered = render_digest(digest)
    assert rendered.thread_replies
    out = render_terminal(rendered)
    assert "[CRITICAL] Kappa Offshore · critical" in out
    assert "Vendor → us 3.5 h / 9.0 h (12 responses)" in out
    assert (
        "Invoice 42 clarification (https://fake-workspace.slack.com/archives/C0KAPPA/p1767225601000001)"
        in out
    )
    assert "thread reply" in out
    for markup in ("*", ":red_circle:", ":large_", "<http", "|", "&amp;", "&lt;", "&gt;", '"type"'):
        assert markup not in out

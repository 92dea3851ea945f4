"""The needs-reply rule on sentences, through the real build (normalisation and matching in DuckDB).

tests/transforms/data/needs_reply_{en,fr}.yaml list sentences that ask the other side for something, statements
that do not (courtesy closings, links, code, quotes, rhetorical questions included), and acknowledgements. Each is
a company message to a vendor in a conversation of its own; staging.stg_message_requests must classify it as listed.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import duckdb
import pytest
import yaml
from transforms_testlib import insert_messages, make_config

from transforms.build import build_marts
from warehouse.db import open_writer

DATA = Path(__file__).parent / "data"
AS_OF = dt.datetime(2026, 11, 5, 17, tzinfo=dt.UTC)


def _sentences() -> list[tuple[str, str, str]]:
    """(language, expected class, text) for every listed sentence."""
    found = []
    for lang in ("en", "fr"):
        data = yaml.safe_load((DATA / f"needs_reply_{lang}.yaml").read_text(encoding="utf-8"))
        for expected in ("asks", "statements", "acks"):
            found += [(lang, expected, text) for text in data[expected]]
    return found


SENTENCES = _sentences()


@pytest.fixture(scope="module")
def classified() -> dict[str, dict[str, Any]]:
    """stg_message_requests rows by message key, the sentences built once for the whole module."""
    rows = [
        {
            "message_key": f"s{i}",
            "conversation_key": f"c{i}",
            "sent_at": dt.datetime(2026, 11, 4, 9, tzinfo=dt.UTC),
            "side": "company",
            "recipient_vendor_ids": ["kappa"],
            "body_text": text,
        }
        for i, (_, _, text) in enumerate(SENTENCES)
    ]
    with open_writer(":memory:", threads=2) as con:
        insert_messages(con, rows)
        build_marts(con, make_config(), AS_OF)
        rel = con.table("staging.stg_message_requests")
        names = rel.columns
        return {row[0]: dict(zip(names, row, strict=True)) for row in rel.fetchall()}


def test_every_language_has_enough_sentences() -> None:
    for lang in ("en", "fr"):
        assert sum(1 for s in SENTENCES if s[0] == lang) >= 150, lang


@pytest.mark.parametrize(
    ("index", "expected"),
    [(i, s[1]) for i, s in enumerate(SENTENCES)],
    ids=[f"{s[0]}-{s[1]}-{s[2][:50]}" for s in SENTENCES],
)
def test_sentence(classified: dict[str, dict[str, Any]], index: int, expected: str) -> None:
    row = classified[f"s{index}"]
    text = SENTENCES[index][2]
    if expected == "asks":
        assert row["asks"], f"{text!r} should ask: {row['reason']}"
        assert not row["is_acknowledgement"]
    elif expected == "acks":
        assert row["is_acknowledgement"] and not row["asks"], f"{text!r} should be an acknowledgement: {row}"
    else:
        assert not row["asks"] and not row["is_acknowledgement"], (
            f"{text!r} should be a statement: {row['reason']}"
        )


def test_reason_names_the_rule_the_entry_and_the_words(classified: dict[str, dict[str, Any]]) -> None:
    by_text = {s[2]: classified[f"s{i}"] for i, s in enumerate(SENTENCES)}
    assert (
        by_text["We need you to fix the CSV encoding before the release."]["reason"]
        == 'request (req_en_need_you_to): "we need you to"'
    )
    assert by_text["hey, is staging down?"]["reason"] == 'question: "hey, is staging down?"'
    assert by_text["Bumping this up."]["reason"].startswith("nudge: ")
    assert by_text["Deployed to staging."]["reason"] == "statement"
    assert by_text["Thanks!"]["reason"] == "acknowledgement"


def test_text_not_stored_counts_as_asking() -> None:
    """With store_bodies = false there is no text to read: every turn opens a clock, as before the rule."""
    with open_writer(":memory:", threads=2) as con:
        insert_messages(
            con,
            [
                {
                    "message_key": "n1",
                    "sent_at": dt.datetime(2026, 11, 4, 9, tzinfo=dt.UTC),
                    "side": "company",
                    "recipient_vendor_ids": ["kappa"],
                }
            ],
        )
        build_marts(con, make_config(), AS_OF)
        row = con.execute("SELECT asks, ask_rule, reason FROM staging.stg_message_requests").fetchall()
    assert row == [(True, "no_text", "no_text: text not stored, counted as asking")]


def test_lexicon_request_entries_compile(tmp_path: Path) -> None:
    """Every request and courtesy entry is valid RE2 and never matches empty text (lexicon.validate)."""
    from transforms import lexicon

    entries = [e for e in lexicon.builtin_entries() if e.signal in ("request", "courtesy")]
    assert entries
    lexicon.validate(entries, duckdb.connect(":memory:"))

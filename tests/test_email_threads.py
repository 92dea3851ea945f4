"""Email conversations as connected components of the message-id graph, through the real parser and merge:
.eml files in a temp folder, read by connectors.mail, staged and merged into a real DuckDB warehouse."""

from __future__ import annotations

import datetime as dt
import email.utils
import itertools
import random
from collections.abc import Iterable, Iterator
from pathlib import Path

import duckdb
import pytest

from connectors.mail import read_mail
from tests.conftest import load_records
from tests.test_warehouse import rows
from warehouse.db import open_writer
from warehouse.email_threads import resolve_email_conversations

T0 = dt.datetime(2026, 8, 3, 9, tzinfo=dt.UTC)  # with the 30 days of the random test, well before today


def eml(
    key: str,
    hours: float,
    *,
    in_reply_to: str | None = None,
    references: Iterable[str] = (),
    sender: str = "jean@norelec.fr",
    body: str = "Can you check the attached order?",
) -> str:
    """An email as a client sends it; ids without angle brackets. The body asks, so each turn opens a clock."""
    sent = email.utils.format_datetime(T0 + dt.timedelta(hours=hours))
    headers = [f"Message-ID: <{key}>", f"Date: {sent}", f"From: {sender}", "To: priya@kappa-offshore.in"]
    headers.append(f"Subject: Re: order {key.partition('@')[0]}")
    if in_reply_to:
        headers.append(f"In-Reply-To: <{in_reply_to}>")
    if references := list(references):
        headers.append("References: " + "\r\n ".join(f"<{ref}>" for ref in references))
    return "\r\n".join(headers) + f"\r\n\r\n{body}\r\n"


class Mailbox:
    """Writes emails as .eml files, one folder per delivery, and ingests each delivery in its own merge."""

    def __init__(self, con: duckdb.DuckDBPyConnection, root: Path) -> None:
        self.con, self.root, self.deliveries = con, root, 0

    def deliver(self, *emails: str) -> None:
        self.deliveries += 1
        folder = self.root / f"delivery-{self.deliveries:04d}"
        folder.mkdir(parents=True)
        for i, text in enumerate(emails):
            (folder / f"{i:05d}.eml").write_text(text, encoding="utf-8")
        records = list(read_mail([folder]))
        stats = load_records(self.con, records, self.root / "staging")
        assert (stats.new, stats.quarantined_total) == (len(emails), 0)


def conversations(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    return dict(rows(con, "SELECT message_key, conversation_key FROM core.messages"))


def unknown_ids(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    return dict(rows(con, "SELECT message_id, conversation_key FROM core.email_unknown_ids"))


@pytest.fixture
def con() -> Iterator[duckdb.DuckDBPyConnection]:
    with open_writer(":memory:") as connection:
        yield connection


@pytest.mark.parametrize("reply_first", [False, True])
def test_a_reply_whose_references_start_with_a_ticket_id_joins_the_message_it_answers(
    con: duckdb.DuckDBPyConnection, tmp_path: Path, reply_first: bool
) -> None:
    ticket = "RT-Ticket-33575@rt.kappa-offshore.in"
    question = eml("q1@norelec.fr", 0)
    answer = eml(
        "a1@kappa-offshore.in",
        2,
        in_reply_to="q1@norelec.fr",
        references=[ticket, "q1@norelec.fr"],
        sender="support@kappa-offshore.in",
    )
    # The ticketing system's next message names only the ticket and the answer before it.
    follow_up = eml(
        "a2@kappa-offshore.in",
        5,
        in_reply_to="a1@kappa-offshore.in",
        references=[ticket, "a1@kappa-offshore.in"],
        sender="support@kappa-offshore.in",
    )
    mailbox = Mailbox(con, tmp_path)
    for delivery in ([answer, follow_up], [question]) if reply_first else ([question], [answer, follow_up]):
        mailbox.deliver(*delivery)
    assert conversations(con) == {
        "q1@norelec.fr": "q1@norelec.fr",
        "a1@kappa-offshore.in": "q1@norelec.fr",
        "a2@kappa-offshore.in": "q1@norelec.fr",
    }
    assert unknown_ids(con) == {ticket: "q1@norelec.fr"}


def test_disagreeing_in_reply_to_and_references_join_two_stored_conversations(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    mailbox = Mailbox(con, tmp_path)
    mailbox.deliver(
        eml("a1@norelec.fr", 0),
        eml("a2@kappa-offshore.in", 1, in_reply_to="a1@norelec.fr", references=["a1@norelec.fr"]),
        eml("b1@norelec.fr", 3),
        eml("b2@kappa-offshore.in", 4, in_reply_to="b1@norelec.fr", references=["b1@norelec.fr"]),
    )
    assert set(conversations(con).values()) == {"a1@norelec.fr", "b1@norelec.fr"}
    (before,) = rows(con, "SELECT max(changed_at) FROM core.messages")[0]

    # A client that answered a2 but kept the References of the b thread: both conversations are one now.
    mailbox.deliver(eml("m@norelec.fr", 6, in_reply_to="a2@kappa-offshore.in", references=["b1@norelec.fr"]))
    assert set(conversations(con).values()) == {"a1@norelec.fr"}
    # b1's conversation lost its emails: recorded, and its rows stamped, so the next build rebuilds them.
    assert rows(con, "SELECT conversation_key FROM meta.conversation_changes") == [("b1@norelec.fr",)]
    moved = "SELECT message_key FROM core.messages WHERE changed_at > ? ORDER BY 1"
    assert con.execute(moved, [before]).fetchall() == [
        ("b1@norelec.fr",),
        ("b2@kappa-offshore.in",),
        ("m@norelec.fr",),
    ]


def test_emails_naming_only_unknown_ids_share_a_conversation_until_an_earlier_one_arrives(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    mailbox = Mailbox(con, tmp_path)
    mailbox.deliver(
        eml("c1@kappa-offshore.in", 5, in_reply_to="lost@norelec.fr", references=["older@norelec.fr"])
    )
    assert conversations(con) == {"c1@kappa-offshore.in": "c1@kappa-offshore.in"}
    assert unknown_ids(con) == {
        "lost@norelec.fr": "c1@kappa-offshore.in",
        "older@norelec.fr": "c1@kappa-offshore.in",
    }
    # Another email naming one of those ids, none of them stored: the same conversation.
    mailbox.deliver(eml("c2@kappa-offshore.in", 7, references=["older@norelec.fr"]))
    assert set(conversations(con).values()) == {"c1@kappa-offshore.in"}
    # The email carrying an unknown id arrives, sent earlier: its key becomes the conversation's.
    mailbox.deliver(eml("lost@norelec.fr", 1))
    assert set(conversations(con).values()) == {"lost@norelec.fr"}
    assert unknown_ids(con) == {"older@norelec.fr": "lost@norelec.fr"}
    assert resolve_email_conversations(con) == 0


@pytest.mark.parametrize("order", [[0, 1, 2, 3], [3, 2, 1, 0], [2, 0, 3, 1]])
def test_a_thread_is_one_conversation_whatever_the_delivery_order(
    con: duckdb.DuckDBPyConnection, tmp_path: Path, order: list[int]
) -> None:
    thread = [
        eml("root@x", 0),
        eml("r1@x", 1, in_reply_to="root@x"),  # no References header: linked by In-Reply-To
        eml("r2@x", 2, in_reply_to="r1@x"),
        eml("r3@x", 3, in_reply_to="r2@x", references=["r1@x", "r2@x"]),  # truncated References
    ]
    mailbox = Mailbox(con, tmp_path)
    for i in order:  # one delivery each, as if read on different days
        mailbox.deliver(thread[i])
    assert set(conversations(con).values()) == {"root@x"}


@pytest.mark.parametrize("deliveries", [1, 10])
def test_long_chains_of_in_reply_to_only_are_one_conversation(
    con: duckdb.DuckDBPyConnection, tmp_path: Path, deliveries: int
) -> None:
    """200 replies each naming only its parent, newest delivered first when split, so that every delivery is a
    chain segment whose parent is still missing until the last one."""
    chain = [eml("m0@x", 0)] + [eml(f"m{i}@x", i, in_reply_to=f"m{i - 1}@x") for i in range(1, 200)]
    mailbox = Mailbox(con, tmp_path)
    size = len(chain) // deliveries
    for start in reversed(range(0, len(chain), size)):
        mailbox.deliver(*chain[start : start + size])
    assert set(conversations(con).values()) == {"m0@x"}
    assert unknown_ids(con) == {}
    assert resolve_email_conversations(con) == 0


def components_oracle(
    emails: list[tuple[str, float, str | None, list[str]]],
) -> tuple[dict[str, str], dict[str, str]]:
    """The definition, computed apart: components by breadth-first search over every id an email carries or
    names; the key is the earliest stored email by (sent_at, message_key). Also the unknown ids' conversations."""
    neighbours: dict[str, set[str]] = {}
    for key, _, in_reply_to, references in emails:
        for named in [in_reply_to, *references]:
            if named:
                neighbours.setdefault(key, set()).add(named)
                neighbours.setdefault(named, set()).add(key)
    sent = {key: hours for key, hours, _, _ in emails}
    key_of: dict[str, str] = {}
    for start in sent:
        if start in key_of:
            continue
        seen, frontier = {start}, [start]
        while frontier:
            frontier = [n for node in frontier for n in neighbours.get(node, ()) if n not in seen]
            seen.update(frontier)
        first = min((sent[n], n) for n in seen if n in sent)[1]
        key_of.update(dict.fromkeys(seen, first))
    return {k: key_of[k] for k in sent}, {k: v for k, v in key_of.items() if k not in sent}


@pytest.mark.parametrize("seed", range(6))
def test_emails_ingested_in_random_batches_resolve_like_one_global_pass(tmp_path: Path, seed: int) -> None:
    """Replies with the whole References list, a truncated one, only In-Reply-To, a ticket id first, or
    In-Reply-To and References pointing at different conversations; some parents are never stored. Delivered in a
    random order and random batches, the keys equal the definition's, and a global pass moves nothing."""
    rng = random.Random(seed)
    tickets = [f"RT-Ticket-{n}@rt.x" for n in range(5)]
    emails: list[tuple[str, float, str | None, list[str]]] = []
    for i in range(300):
        key, hours = f"m{i}@x", rng.randrange(24 * 30 * 60) / 60  # whole minutes: Date headers keep seconds
        if not emails or rng.random() < 0.15:
            emails.append((key, hours, None, []))
            continue
        parent_key, _, _, parent_refs = rng.choice(emails)
        ancestors = [*parent_refs, parent_key]
        shape = rng.choice(["whole", "truncated", "in_reply_to", "ticket", "disagree", "unknown"])
        references = {
            "whole": ancestors,
            "truncated": ancestors[-2:],
            "in_reply_to": [],
            "ticket": [rng.choice(tickets), parent_key],
            "disagree": [rng.choice(emails)[0]],
            "unknown": [f"never-stored-{rng.randrange(40)}@x", *ancestors[-1:]],
        }[shape]
        in_reply_to = (
            f"never-stored-{rng.randrange(40)}@x" if shape == "unknown" and rng.random() < 0.5 else None
        )
        emails.append((key, hours, in_reply_to or parent_key, references))
    expected_keys, expected_unknown = components_oracle(emails)
    texts = [eml(k, h, in_reply_to=irt, references=refs) for k, h, irt, refs in emails]
    rng.shuffle(texts)
    cuts = sorted(rng.sample(range(1, len(texts)), 7))
    with open_writer(":memory:") as con:
        mailbox = Mailbox(con, tmp_path)
        for start, end in itertools.pairwise([0, *cuts, len(texts)]):
            mailbox.deliver(*texts[start:end])
        assert conversations(con) == expected_keys
        assert unknown_ids(con) == expected_unknown
        assert resolve_email_conversations(con) == 0
        assert conversations(con) == expected_keys

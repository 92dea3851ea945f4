"""Header parsing: encodings, addresses, ids, dates."""

from __future__ import annotations

import datetime as dt

import pytest
from mail_samples import message

from connectors.mail import parse_email
from ground.records import MessageRecord, QuarantineRecord

UTC = dt.UTC


def parse(raw: bytes) -> MessageRecord:
    record = parse_email(raw, "test.eml", source="test")
    assert isinstance(record, MessageRecord), record
    return record


@pytest.mark.parametrize(
    ("subject", "expected"),
    [
        ("=?UTF-8?Q?R=C3=A9union_demain?=", "Réunion demain"),
        ("=?utf-8?B?UsOpdW5pb24gZGVtYWlu?=", "Réunion demain"),
        ("=?ISO-8859-1?Q?Re:_R=E9union?= =?ISO-8859-1?Q?_d=E9cal=E9e?=", "Re: Réunion décalée"),
        ("RE: =?utf-8?q?Devis_n=C2=B0_42?=\n   pour  lundi", "RE: Devis n° 42 pour lundi"),
        ("=?utf-8*fr?q?caf=C3=A9?=", "café"),
    ],
)
def test_rfc2047_subjects(subject: str, expected: str) -> None:
    record = parse(message(subject=subject))
    assert record.subject == expected
    assert record.flags == []


def test_raw_utf8_header_is_not_a_repair() -> None:
    record = parse(message(subject="Réunion".encode()))
    assert record.subject == "Réunion"
    assert record.flags == []


def test_undecodable_header_bytes_are_repaired() -> None:
    record = parse(message(subject=b"R\xe9union \xff\x81 ok", sender=b"Andr\xe9 <andre@vendor.example>"))
    assert record.subject == "R\xe9union \xff\x81 ok"  # latin-1 fallback: cp1252 has no 0x81
    assert record.sender_name == "André"
    assert record.sender == "andre@vendor.example"
    assert record.flags == ["charset_repaired"]


def test_unknown_charset_in_encoded_word() -> None:
    record = parse(
        message(subject="=?x-unknown?Q?caf=C3=A9?= ok", sender="=?x-bogus?Q?Jos=E9?= <j@v.example>")
    )
    assert record.subject == "café ok"
    assert record.sender_name == "José"
    assert record.flags == ["charset_repaired"]


def test_broken_base64_encoded_word_does_not_raise() -> None:
    record = parse(message(subject="=?utf-8?B?%%%?= x"))
    assert isinstance(record.subject, str)


def test_addresses_lowercased_deduplicated_and_decoded() -> None:
    raw = message(
        sender='"=?utf-8?q?Jos=C3=A9_Garc=C3=ADa?=" <Jose.Garcia@Vendor.EXAMPLE>',
        extra=[
            "Cc: bob@company.example, =?utf-8?q?Dupont=2C_Jean?= <JEAN@vendor.example>, , Ann <ann@x.example>"
        ],
    )
    record = parse(raw)
    assert record.sender == "jose.garcia@vendor.example"
    assert record.sender_email == "jose.garcia@vendor.example"
    assert record.sender_name == "José García"
    assert record.recipients == ["bob@company.example", "jean@vendor.example", "ann@x.example"]
    assert record.channel == "email"
    assert record.source == "test"
    assert record.raw_ref == "test.eml"
    assert record.conversation_key is None


def test_message_id_stripped() -> None:
    assert (
        parse(message(message_id="  <Abc.123@Mail.Vendor.example>  ")).message_key
        == "Abc.123@Mail.Vendor.example"
    )


@pytest.mark.parametrize("message_id", [None, "", "   ", "<>", "garbage", "<not an id>"])
def test_synthetic_message_id_is_stable_and_flagged(message_id: str | None) -> None:
    raw = message("Body text.\n", message_id=message_id)
    first, second = parse(raw), parse(raw)
    assert first.message_key == second.message_key
    assert first.message_key.startswith("synthetic-")
    assert first.message_key.endswith("@commhealth.invalid")
    assert len(first.message_key) == len("synthetic-") + 40 + len("@commhealth.invalid")
    assert first.flags == ["synthetic_message_id"]
    # The same message with CRLF line ends gets the same key; another body gets another key.
    assert (
        parse(message("Body text.\n", message_id=message_id, newline=b"\r\n")).message_key
        == first.message_key
    )
    assert parse(message("Other text.\n", message_id=message_id)).message_key != first.message_key


@pytest.mark.parametrize(
    ("date", "expected", "flags"),
    [
        ("Mon, 16 Nov 2026 10:12:00 +0100", dt.datetime(2026, 11, 16, 9, 12, tzinfo=UTC), []),
        ("Mon, 16 Nov 2026 10:12:00 +0100 (CET)", dt.datetime(2026, 11, 16, 9, 12, tzinfo=UTC), []),
        ("16 Nov 2026 10:12:00 -0500", dt.datetime(2026, 11, 16, 15, 12, tzinfo=UTC), []),
        ("Mon, 16 Nov 26 10:12 GMT", dt.datetime(2026, 11, 16, 10, 12, tzinfo=UTC), []),
        ("Mon, 16 Nov 2026 10:12:00 UT", dt.datetime(2026, 11, 16, 10, 12, tzinfo=UTC), []),
        ("Mon, 16 Nov 2026 10:12:00 EST", dt.datetime(2026, 11, 16, 15, 12, tzinfo=UTC), []),
        ("Mon, 16 Nov 2026 10:12:00 PDT", dt.datetime(2026, 11, 16, 17, 12, tzinfo=UTC), []),
        ("Mon, 16 Nov 2026 10:12:00 CET", dt.datetime(2026, 11, 16, 9, 12, tzinfo=UTC), []),
        ("Mon, 16 Nov 2026 10:12:00 +01:00", dt.datetime(2026, 11, 16, 9, 12, tzinfo=UTC), []),
        ("2026-11-16T10:12:00+01:00", dt.datetime(2026, 11, 16, 9, 12, tzinfo=UTC), []),
        ("Mon, 16 Nov 2026 10:12:00", dt.datetime(2026, 11, 16, 10, 12, tzinfo=UTC), ["date_without_zone"]),
        (
            "Mon, 16 Nov 2026 10:12:00 -0000",
            dt.datetime(2026, 11, 16, 10, 12, tzinfo=UTC),
            ["date_without_zone"],
        ),
    ],
)
def test_dates(date: str, expected: dt.datetime, flags: list[str]) -> None:
    record = parse(message(date=date))
    assert record.sent_at == expected
    assert record.sent_at.tzinfo is UTC
    assert record.flags == flags


IN_A_MONTH = (dt.datetime.now(UTC) + dt.timedelta(days=30)).strftime("%a, %d %b %Y %H:%M:%S +0000")
RECEIVED = (
    "Received: from mx.kappa-offshore.in (mx.kappa-offshore.in [203.0.113.7])\n"
    "\tby mail.norelec.fr with ESMTPS id 4F2a; Mon, 16 Nov 2026 10:12:07 +0100 (CET)"
)
EARLIER_HOP = "Received: from laptop by mx.kappa-offshore.in; Mon, 16 Nov 2026 14:40:01 +0530"


@pytest.mark.parametrize(
    "date",
    [
        None,
        "",
        "yesterday",
        "Mon, 31 Feb 2026 10:12:00 +0100",
        "1 Jan 1900 00:00 GMT",
        "Mon, 1 Jan 0000 00:00:00 +0000",  # not the year 2000
        "Thu, 16 Nov 0 10:12:00 +0100",
        pytest.param(IN_A_MONTH, id="a-month-ahead"),  # a sender's clock a month fast
    ],
)
def test_no_usable_date_is_quarantined(date: str | None) -> None:
    record = parse_email(message(date=date), "x.eml", source="test")
    assert isinstance(record, QuarantineRecord)
    assert record.reason == "no_usable_date"
    assert record.raw_ref == "x.eml"
    assert record.source == "test"


@pytest.mark.parametrize(
    "date", [None, "Mon, 1 Jan 0000 00:00:00 +0000", "Mon, 16 Nov 0000 10:12:00", IN_A_MONTH]
)
def test_an_impossible_date_gives_way_to_the_receiving_server_s_flagged(date: str | None) -> None:
    record = parse(message(date=date, extra=[RECEIVED, EARLIER_HOP]))
    assert record.sent_at == dt.datetime(2026, 11, 16, 9, 12, 7, tzinfo=UTC)  # the topmost Received
    assert record.flags == ["date_from_received"]


def test_a_usable_date_is_kept_whatever_received_says() -> None:
    record = parse(message(date="Mon, 16 Nov 2026 10:00:00 +0100", extra=[RECEIVED]))
    assert record.sent_at == dt.datetime(2026, 11, 16, 9, tzinfo=UTC) and record.flags == []


def test_an_impossible_received_date_does_not_stand_in() -> None:
    received = "Received: by mail.norelec.fr; Mon, 1 Jan 0000 00:00:00 +0000"
    record = parse_email(message(date="Mon, 1 Jan 0000 00:00:00 +0000", extra=[received]), "x.eml")
    assert isinstance(record, QuarantineRecord) and record.reason == "no_usable_date"
    assert record.excerpt == "Date: Mon, 1 Jan 0000 00:00:00 +0000"


def test_references_junk_dropped_and_flagged() -> None:
    raw = message(
        extra=[
            "References: <yes> <root@a.example>\n <mid@b.example> <root@a.example> <has space@x> junk",
            "In-Reply-To: <mid@b.example> (Jean's message of Monday)",
        ]
    )
    record = parse(raw)
    assert record.references == ["root@a.example", "mid@b.example"]
    assert record.in_reply_to == "mid@b.example"
    assert record.flags == ["invalid_references_dropped"]


def test_valid_references_not_flagged_and_no_in_reply_to() -> None:
    record = parse(message(extra=["References: <root@a.example> <mid@b.example>"]))
    assert record.references == ["root@a.example", "mid@b.example"]
    assert record.in_reply_to is None
    assert record.flags == []


def test_in_reply_to_garbage_only() -> None:
    record = parse(message(extra=["In-Reply-To: <yes>"]))
    assert record.in_reply_to is None
    assert record.flags == ["invalid_references_dropped"]


def test_no_headers_is_quarantined() -> None:
    record = parse_email(b"just some text\nwithout any header\n", "x#0")
    assert isinstance(record, QuarantineRecord)
    assert record.reason == "no_headers"
    assert record.excerpt.startswith("just some text")

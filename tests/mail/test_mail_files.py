"""read_mail over real files: mbox (LF, CRLF, mboxrd), maildir, .eml folders and bad files."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from mail_samples import mbox, message, write

from connectors.mail import read_mail, total_bytes
from ground.records import MessageRecord, QuarantineRecord


def messages(records: list) -> list[MessageRecord]:
    assert all(isinstance(r, MessageRecord) for r in records), records
    return records


def test_crlf_mbox_with_three_messages(tmp_path: Path) -> None:
    raws = [
        message(f"Body {i}.\n", message_id=f"<m{i}@v.example>", subject=f"S{i}", newline=b"\r\n")
        for i in range(3)
    ]
    data = mbox(raws, newline=b"\r\n")
    path = write(tmp_path / "crlf.mbox", data)
    seen: list[int] = []
    records = messages(list(read_mail([path], source="archive", on_bytes=seen.append)))
    assert [r.message_key for r in records] == ["m0@v.example", "m1@v.example", "m2@v.example"]
    assert [r.subject for r in records] == ["S0", "S1", "S2"]
    assert [r.body_full for r in records] == ["Body 0.\n", "Body 1.\n", "Body 2.\n"]
    assert [r.body_text for r in records] == ["Body 0.", "Body 1.", "Body 2."]
    offsets = [0, data.index(b"From ", 1), data.rindex(b"From sender")]
    assert [r.raw_ref for r in records] == [f"{path}#{o}" for o in offsets]
    assert all(r.source == "archive" for r in records)
    assert sum(seen) == len(data) == total_bytes([path])


def test_mboxrd_from_unescaping_and_body_from_lines(tmp_path: Path) -> None:
    body = "First line\n\n>From the start, one level.\n>>From two levels.\nFrom here on, not a separator.\n"
    path = write(
        tmp_path / "rd.mbox", mbox([message(body), message("Second.\n", message_id="<m2@v.example>")])
    )
    records = messages(list(read_mail([path])))
    assert len(records) == 2
    assert records[0].body_full == (
        "First line\n\nFrom the start, one level.\n>From two levels.\nFrom here on, not a separator.\n"
    )
    assert records[1].message_key == "m2@v.example"


def test_eml_starting_with_from_line_is_one_message(tmp_path: Path) -> None:
    path = write(tmp_path / "one.eml", mbox([message("Only one.\n")]))
    records = messages(list(read_mail([path])))
    assert [r.raw_ref for r in records] == [f"{path}#0"]


def test_message_without_headers_in_mbox(tmp_path: Path) -> None:
    data = mbox([b"just text, no headers\n", message("Fine.\n")])
    path = write(tmp_path / "x.mbox", data)
    records = list(read_mail([path]))
    assert isinstance(records[0], QuarantineRecord)
    assert records[0].reason == "no_headers"
    assert records[0].raw_ref == f"{path}#0"
    assert isinstance(records[1], MessageRecord)
    assert records[1].body_text == "Fine."


def test_quarantined_message_does_not_stop_others(tmp_path: Path) -> None:
    data = mbox([message("A.\n", date=None), message("B.\n", message_id="<b@v.example>")])
    records = list(read_mail([write(tmp_path / "x.mbox", data)]))
    assert [type(r).__name__ for r in records] == ["QuarantineRecord", "MessageRecord"]
    assert records[0].reason == "no_usable_date"


def test_empty_binary_and_non_email_files(tmp_path: Path) -> None:
    empty = write(tmp_path / "empty.eml", b"")
    blank = write(tmp_path / "blank.eml", b"\n\n  \n")
    binary = write(tmp_path / "photo.eml", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + os.urandom(100))
    text = write(tmp_path / "notes.txt", b"Shopping list\n- milk\n")
    records = list(read_mail([empty, blank, binary, text]))
    assert [(r.reason, r.raw_ref) for r in records] == [
        ("empty_file", str(empty)),
        ("empty_file", str(blank)),
        ("binary_file", str(binary)),
        ("not_an_email_file", str(text)),
    ]


@pytest.mark.skipif(sys.platform == "win32" or os.geteuid() == 0, reason="root reads everything")
def test_unreadable_file(tmp_path: Path) -> None:
    path = write(tmp_path / "secret.eml", message())
    path.chmod(0)
    try:
        records = list(read_mail([path]))
    finally:
        path.chmod(0o600)
    assert [(r.reason, r.raw_ref) for r in records] == [("unreadable_file", str(path))]


def test_missing_path_is_unreadable(tmp_path: Path) -> None:
    records = list(read_mail([tmp_path / "nope.mbox"]))
    assert [r.reason for r in records] == ["unreadable_file"]


def test_maildir_folder(tmp_path: Path) -> None:
    root = tmp_path / "Maildir"
    write(root / "cur" / "1700000001.M1P1.host:2,S", message("In cur.\n", message_id="<cur@v.example>"))
    write(root / "new" / "1700000002.M2P2.host", message("In new.\n", message_id="<new@v.example>"))
    write(root / "tmp" / "1700000003.M3P3.host", message("Half delivered.\n", message_id="<tmp@v.example>"))
    write(root / "dovecot-uidlist", b"3 V1 N4\n")
    write(
        root / ".Sent" / "cur" / "1700000004.M4P4.host:2,S", message("Sent.\n", message_id="<sent@v.example>")
    )
    (root / ".Sent" / "new").mkdir()
    records = messages(list(read_mail([root])))
    assert [r.message_key for r in records] == ["cur@v.example", "new@v.example", "sent@v.example"]
    assert records[0].raw_ref == str(root / "cur" / "1700000001.M1P1.host:2,S")
    assert (
        total_bytes([root])
        == sum(len(p.read_bytes()) for p in root.rglob("*") if p.is_file())
        - len(b"3 V1 N4\n")
        - (root / "tmp" / "1700000003.M3P3.host").stat().st_size
    )


def test_folder_of_eml_files_recursive_and_sorted(tmp_path: Path) -> None:
    write(tmp_path / "b.eml", message("B.\n", message_id="<b@v.example>"))
    write(tmp_path / "a.eml", message("A.\n", message_id="<a@v.example>", newline=b"\r\n"))
    write(tmp_path / "sub" / "c.eml", message("C.\n", message_id="<c@v.example>"))
    write(tmp_path / "sub" / "box.mbox", mbox([message("D.\n", message_id="<d@v.example>")]))
    write(tmp_path / "sub" / "box.mbox.msf", b'// <!-- <mdb:mork:z v="1.4"/> -->\n')
    write(tmp_path / ".DS_Store", b"\x00\x00\x00\x01Bud1")
    seen: list[int] = []
    records = messages(list(read_mail([tmp_path], on_bytes=seen.append)))
    assert [r.message_key for r in records] == ["a@v.example", "b@v.example", "d@v.example", "c@v.example"]
    assert [r.body_text for r in records] == ["A.", "B.", "D.", "C."]
    assert sum(seen) == total_bytes([tmp_path])


def test_big_mbox_reports_progress_in_pieces(tmp_path: Path) -> None:
    raws = [message("x" * 70 + "\n" * 1, message_id=f"<m{i}@v.example>") for i in range(5000)]
    path = write(tmp_path / "big.mbox", mbox(raws))
    seen: list[int] = []
    count = sum(1 for _ in read_mail([path], on_bytes=seen.append))
    assert count == 5000
    assert sum(seen) == path.stat().st_size
    assert len(seen) > 1


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    data=st.one_of(
        st.binary(max_size=4000),
        st.lists(
            st.sampled_from(
                [
                    b"From x@y Mon Nov 16 10:12:00 2026\n",
                    b"\n",
                    b"\r\n",
                    b"Subject: =?x?Q?=FF?=\n",
                    b"Date: garbage\n",
                    b"Content-Type: multipart/mixed; boundary=B\n",
                    b"--B\n",
                    b">From \n",
                    b"Message-ID: <yes>\n",
                    b"\xff\xfe\x00",
                    b"Content-Transfer-Encoding: base64\n",
                    b"=?utf-8?B?\n",
                    b"From: <>\n",
                    b"Date: Mon, 16 Nov 2026 10:12:00 +0100\n",
                    b"<p>hi</p>\n",
                    b"body text\n",
                ]
            ),
            max_size=40,
        ).map(b"".join),
    )
)
def test_random_bytes_never_raise(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "random.mbox"
    path.write_bytes(data)
    seen: list[int] = []
    for record in read_mail([path], on_bytes=seen.append):
        assert isinstance(record, MessageRecord | QuarantineRecord)
    assert sum(seen) == len(data)

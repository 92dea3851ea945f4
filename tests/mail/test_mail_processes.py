"""read_mail with worker processes: the same records in the same order as parsing in-process, even when a worker
dies part way (real processes, real files)."""

from __future__ import annotations

import io
import multiprocessing.forkserver
import os
import signal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from mail_samples import mbox, message, write

from commhealth.demo_data import write_demo_dataset
from connectors.mail import read_mail, total_bytes
from connectors.mail.files import mbox_ranges, split_mbox
from connectors.mail.settings import PARSE_BATCH_BYTES, PARSE_BATCH_MESSAGES


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Demo mail (plain, HTML, replies, auto-replies) beside bad files, a maildir and a big mbox: several batches."""
    root = tmp_path_factory.mktemp("corpus")
    write_demo_dataset(root / "demo", weeks=2)
    write(root / "bad" / "empty.eml", b"")
    write(root / "bad" / "photo.eml", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    write(root / "bad" / "notes.txt", b"Shopping list\n- milk\n")
    write(root / "bad" / "undated.mbox", mbox([message("A.\n", date=None), b"no headers at all\n"]))
    write(root / "Maildir" / "cur" / "1.M1P1.host:2,S", message("In cur.\n", message_id="<cur@v.example>"))
    (root / "Maildir" / "new").mkdir()
    raws = [message(f"Body {i}.\n", message_id=f"<m{i}@v.example>") for i in range(3 * PARSE_BATCH_MESSAGES)]
    write(root / "big.mbox", mbox(raws))
    return root


def test_processes_give_the_same_records_in_the_same_order(corpus: Path) -> None:
    seen: list[int] = []
    in_process = list(read_mail([corpus]))
    in_workers = list(read_mail([corpus], processes=2, on_bytes=seen.append))
    assert len(in_process) > 4 * PARSE_BATCH_MESSAGES
    assert {type(r).__name__ for r in in_process} == {"MessageRecord", "QuarantineRecord"}
    assert in_workers == in_process
    assert sum(seen) == total_bytes([corpus])


def _forkserver_children() -> list[int]:
    server = multiprocessing.forkserver._forkserver._forkserver_pid  # private: the test only looks
    children = []
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                stat = Path(entry.path, "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == server:
                children.append(int(entry.name))
    return children


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="finds the workers through /proc")
def test_a_killed_worker_costs_time_not_records(corpus: Path, caplog: pytest.LogCaptureFixture) -> None:
    expected = list(read_mail([corpus]))
    records, killed = [], []
    for record in read_mail([corpus], processes=2):
        if not records:  # the first batch is back, the others in flight: kill every worker
            killed = _forkserver_children()
            for pid in killed:
                os.kill(pid, signal.SIGKILL)
        records.append(record)
    assert killed
    assert "parsing the rest in this process" in caplog.text
    assert records == expected


LINES = [
    b"From x@y Mon Nov 16 10:12:00 2026\n",
    b"From x@y Mon Nov 16 10:12:00 2026\r\n",
    b"From not a separator line\n",
    b"\n",
    b"\r\n",
    b">From escaped\n",
    b"Subject: s\n",
    b"body text\n",
    b"x" * 300 + b"\n",
]


@settings(max_examples=300, deadline=None)
@given(
    lines=st.lists(st.sampled_from(LINES), max_size=80),
    target=st.integers(min_value=1, max_value=400),
)
def test_ranges_split_like_the_whole_file(lines: list[bytes], target: int) -> None:
    data = b"".join(lines)
    whole = list(split_mbox(io.BytesIO(data)))
    pieces, covered = [], 0
    for start, end in mbox_ranges(io.BytesIO(data), len(data), target):
        assert start == covered and end > start
        covered = end
        pieces += [(start + offset, body) for offset, body in split_mbox(io.BytesIO(data[start:end]))]
    assert covered == len(data)
    assert pieces == whole


def test_a_big_mbox_is_parsed_in_ranges_with_the_same_records(tmp_path: Path) -> None:
    # Long bodies: several ranges of PARSE_BATCH_BYTES for little parsing.
    body = "The export ran; every region matches the ledger.\n" * 2000
    raws = [message(f"Run {i}.\n" + body, message_id=f"<m{i}@v.example>") for i in range(250)]
    path = write(tmp_path / "big.mbox", mbox(raws))
    with path.open("rb") as fh:
        assert len(list(mbox_ranges(fh, path.stat().st_size, PARSE_BATCH_BYTES))) > 4
    seen: list[int] = []
    records = list(read_mail([path], processes=2, on_bytes=seen.append))
    assert records == list(read_mail([path]))
    assert [r.message_key for r in records] == [f"m{i}@v.example" for i in range(250)]
    assert sum(seen) == path.stat().st_size

"""Delta sync through the fake Graph: pagination, incremental runs, resync, resume, the same row as mbox."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

from rich.console import Console

from flows.ingest import merge, stage_mail
from tests.fakes.graph import FakeGraph
from tests.graph.graph_testlib import (
    MAILBOX,
    config_at,
    cursors,
    expected_keys,
    extract,
    make_mime,
    message_keys,
    query,
    run_and_merge,
    seed,
)


def test_first_run_follows_every_page_and_stores_the_delta_link(graph: FakeGraph, config_file: Path) -> None:
    inbox_ids = seed(graph, "inbox", range(1, 26))  # 25 messages, 10 a page: 3 pages
    seed(graph, "sentitems", range(101, 104), vendor=False)
    config = config_at(config_file)

    notes, stats = run_and_merge(config)

    assert notes == {"folders": 2, "pages": 4, "messages": 28, "quarantined": 0, "removed": 0, "resyncs": 0}
    assert stats["new"] == 28 and stats["already_stored"] == 0
    assert query(config, "SELECT count(*) FROM core.messages")[0][0] == 28
    inbox_calls = [c for c in graph.calls("delta") if c.folder == "inbox"]
    assert [c.status for c in inbox_calls] == [200, 200, 200]
    first = inbox_calls[0]
    assert first.path == f"/v1.0/users/{MAILBOX}/mailFolders/inbox/messages/delta"
    assert first.query == {"$select": "id,internetMessageId,conversationId,sentDateTime,parentFolderId"}
    assert all(c.headers["prefer"] == "odata.maxpagesize=10" for c in inbox_calls)
    assert [c.query.get("$skiptoken", "").rsplit(".", 1)[-1] for c in inbox_calls[1:]] == ["10", "20"]
    # Each message's MIME read once, in delta order, parsed like a file message.
    assert graph.mime_ids()[:25] == inbox_ids
    row = query(
        config,
        "SELECT source, raw_ref, sender, subject FROM core.messages WHERE message_key = ?",
        ["1.graph-test@kappa-offshore.in"],
    )[0]
    assert row == (
        "graph",
        f"graph:{MAILBOX}/inbox/{inbox_ids[0]}",
        "ravi@kappa-offshore.in",
        "Order 1001: delivery schedule",
    )
    stored = cursors(config)
    assert set(stored) == {f"{MAILBOX}/inbox", f"{MAILBOX}/sentitems"}
    delta = json.loads(stored[f"{MAILBOX}/inbox"] or "")
    assert set(delta) == {"delta"} and "$deltatoken=" in delta["delta"]
    assert delta["delta"].startswith(graph.api_url + f"/users/{MAILBOX}/mailFolders/inbox/messages/delta?")


def test_second_run_starts_from_the_delta_link_and_reads_only_what_is_new(
    graph: FakeGraph, config_file: Path
) -> None:
    first_ids = seed(graph, "inbox", range(1, 13))
    config = config_at(config_file)
    run_and_merge(config)
    delta_link = json.loads(cursors(config)[f"{MAILBOX}/inbox"] or "")["delta"]
    graph.clear_calls()

    new_ids = seed(graph, "inbox", range(13, 16))
    graph.remove_message(first_ids[0])  # deletions are reported as @removed and skipped
    notes, stats = run_and_merge(config)

    inbox_calls = [c for c in graph.calls("delta") if c.folder == "inbox"]
    assert f"{inbox_calls[0].path}?$deltatoken={inbox_calls[0].query['$deltatoken']}" in delta_link
    assert graph.mime_ids() == new_ids
    assert notes["messages"] == 3 and notes["removed"] == 1 and notes["resyncs"] == 0
    assert stats["new"] == 3
    # Nothing is deleted from the warehouse.
    assert query(config, "SELECT count(*) FROM core.messages")[0][0] == 15

    graph.clear_calls()
    notes, _ = run_and_merge(config)  # nothing new: one delta call per folder, no MIME
    assert notes["messages"] == 0 and graph.mime_ids() == []
    assert len(graph.calls("delta")) == 2


def test_updated_message_is_read_again_and_merged_as_already_stored(
    graph: FakeGraph, config_file: Path
) -> None:
    ids = seed(graph, "inbox", range(1, 4))
    config = config_at(config_file)
    run_and_merge(config)
    graph.update_message(ids[1])  # e.g. the read flag changed

    notes, stats = run_and_merge(config)

    assert notes["messages"] == 1
    assert stats["new"] == 0 and stats["already_stored"] == 1 and stats["conflicts"] == 0


def test_expired_delta_token_triggers_a_full_resync_without_duplicates(
    graph: FakeGraph, config_file: Path
) -> None:
    seed(graph, "inbox", range(1, 16))
    config = config_at(config_file)
    run_and_merge(config)
    seed(graph, "inbox", range(16, 18))
    graph.expire_sync_state()  # 410 Gone, SyncStateNotFound
    graph.clear_calls()

    notes, stats = run_and_merge(config)

    inbox_calls = [c for c in graph.calls("delta") if c.folder == "inbox"]
    assert inbox_calls[0].status == 410 and "$deltatoken" in inbox_calls[0].query
    assert "$select" in inbox_calls[1].query and inbox_calls[1].status == 200  # the round starts again
    assert notes["resyncs"] == 2  # the sentitems token expired too
    assert notes["messages"] == 17
    assert stats["new"] == 2 and stats["already_stored"] == 15 and stats["conflicts"] == 0
    assert query(config, "SELECT count(*), count(DISTINCT message_key) FROM core.messages")[0] == (17, 17)
    assert json.loads(cursors(config)[f"{MAILBOX}/inbox"] or "").keys() == {"delta"}

    graph.clear_calls()
    notes, _ = run_and_merge(config)  # the new delta link works
    assert notes["resyncs"] == 0 and notes["messages"] == 0


def test_sync_state_not_found_with_400_also_resyncs(graph: FakeGraph, config_file: Path) -> None:
    seed(graph, "inbox", range(1, 4))
    config = config_at(config_file)
    run_and_merge(config)
    graph.expire_sync_state(status=400, code="syncStateNotFound")

    notes, stats = run_and_merge(config)

    assert notes["resyncs"] == 2 and stats["already_stored"] == 3 and stats["new"] == 0


def test_message_gone_before_its_mime_is_read_is_quarantined(graph: FakeGraph, config_file: Path) -> None:
    ids = seed(graph, "inbox", range(1, 4))
    graph.lose_mime(ids[1])
    config = config_at(config_file)

    notes, stats = run_and_merge(config)

    assert notes["messages"] == 2 and notes["quarantined"] == 1
    assert stats["quarantined_by_reason"] == {"graph_message_gone": 1}
    rows = query(config, "SELECT source, raw_ref, reason, excerpt FROM core.quarantine")
    assert rows == [
        (
            "graph",
            f"graph:{MAILBOX}/inbox/{ids[1]}",
            "graph_message_gone",
            "HTTP 404 ErrorItemNotFound: deleted or moved before its MIME could be read",
        )
    ]


_CHILD = textwrap.dedent(
    """
    import sys
    from tests.graph.graph_testlib import config_at, extract
    extract(config_at(sys.argv[1]))
    """
)


def test_a_run_killed_after_some_pages_resumes_with_nothing_lost_or_doubled(
    graph: FakeGraph, config_file: Path
) -> None:
    ids = seed(graph, "inbox", range(1, 36))  # 4 pages of 10
    seed(graph, "sentitems", range(101, 103), vendor=False)
    config = config_at(config_file)
    graph.hold("delta", 3)  # the request for the third page never gets its answer: the process is killed
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    child = subprocess.Popen(
        [sys.executable, "-c", _CHILD, str(config_file)], cwd=Path(__file__).parents[2], env=env
    )
    try:
        assert graph.held.wait(timeout=30), "the child never asked for the third page"
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=10)
    finally:
        if child.poll() is None:
            child.kill()
        graph.release()
    assert child.returncode == -signal.SIGKILL
    assert graph.mime_ids() == ids[:20]
    graph.clear_calls()

    notes = extract(config)  # resumes from the staged nextLink (the killed run's parts wait for the merge)
    stats = merge(config, [{"graph": notes}]).as_dict()

    first = next(c for c in graph.calls("delta") if c.folder == "inbox")
    assert first.query.get("$skiptoken", "").endswith(".20")
    assert graph.mime_ids()[:15] == ids[20:]
    assert notes["messages"] == 17  # 15 left in the inbox, 2 in sentitems
    assert stats["new"] == 37 and stats["already_stored"] == 0
    assert query(config, "SELECT count(*), count(DISTINCT message_key) FROM core.messages")[0] == (37, 37)
    assert message_keys(config) == sorted(
        expected_keys(range(1, 36)) + expected_keys([101, 102], vendor=False)
    )


def test_the_same_mime_through_mbox_and_graph_is_one_row(
    graph: FakeGraph, config_file: Path, tmp_path: Path
) -> None:
    mbox = tmp_path / "export.mbox"
    lf = make_mime(7, crlf=False)
    mbox.write_bytes(b"From ravi@kappa-offshore.in Tue Mar  3 08:07:00 2026\n" + lf + b"\n")
    config = config_at(config_file)
    stage_mail(config, [mbox], Console(quiet=True))
    merge(config)
    before = query(config, "SELECT message_key, content_hash, source FROM core.messages")
    seed(graph, "inbox", [7])  # the same message as Graph serves it: CRLF line ends

    notes, stats = run_and_merge(config)

    assert notes["messages"] == 1
    assert stats["new"] == 0 and stats["already_stored"] == 1 and stats["conflicts"] == 0
    after = query(config, "SELECT message_key, content_hash, source FROM core.messages")
    assert after == before == [(before[0][0], before[0][1], "mbox")]
    assert before[0][0] == "7.graph-test@kappa-offshore.in"


def test_a_stored_link_for_another_api_url_is_not_followed(graph: FakeGraph, config_file: Path) -> None:
    seed(graph, "inbox", range(1, 4))
    config = config_at(config_file)
    run_and_merge(config)
    moved = config_file.read_text().replace(graph.api_url, graph.api_url.replace("127.0.0.1", "localhost"))
    config_file.write_text(moved)
    graph.clear_calls()

    notes, stats = run_and_merge(config_at(config_file))

    assert all("$select" in c.query for c in graph.calls("delta"))  # the round starts again
    assert notes["messages"] == 3 and stats["already_stored"] == 3 and stats["new"] == 0
    assert "localhost" in (cursors(config)[f"{MAILBOX}/inbox"] or "")

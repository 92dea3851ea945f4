"""The Teams connector through the fake Graph: rounds over lastModifiedDateTime, paging, resume, edits, errors,
and the marts it feeds."""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path
from urllib.parse import unquote

import pytest

from connectors.base import SourceAuthError, SourceError
from connectors.teams.settings import ROUND_OVERLAP
from flows.ingest import merge
from tests.conftest import write_config
from tests.fakes.graph import FakeGraph
from tests.teams.teams_testlib import (
    BUYER,
    GENERAL_CHANNEL,
    INTERNAL_CHAT,
    KAPPA_CHAT,
    RAVI,
    START,
    SUPPORT_CHANNEL,
    TEAM,
    buyer_says,
    config_at,
    cursors,
    extract,
    query,
    run_and_merge,
    seed_world,
    teams_config_text,
)
from tests.test_cli import commhealth, error_lines
from transforms.build import run_build

NOW = START + dt.timedelta(days=10)


def test_first_run_reads_every_page_of_chats_and_channels_once(graph: FakeGraph, config_file: Path) -> None:
    ids = seed_world(graph)
    config = config_at(config_file)

    notes, stats = run_and_merge(config, NOW)

    # 7 chat messages in 2 pages of 5, 3 channel messages in 1 page
    assert notes["partitions"] == 2 and notes["pages"] == 3
    assert notes["messages"] == 10 and notes["quarantined"] == 0
    assert stats["new"] == 10
    chat_calls = graph.calls("teams_chats")
    assert [c.status for c in chat_calls] == [200, 200]
    assert chat_calls[0].query["$top"] == "5"
    assert unquote(chat_calls[0].query["$filter"]) == "lastModifiedDateTime lt 2026-03-12T08:00:00Z"
    rows = query(
        config,
        "SELECT message_key, conversation_key, channel, source, sender_team_id, subject FROM core.messages "
        "WHERE message_key LIKE ? ORDER BY sent_at, message_key",
        [f"teams:{SUPPORT_CHANNEL}:%"],
    )
    root, reply = ids["support"]
    assert rows == [
        (
            f"teams:{SUPPORT_CHANNEL}:{root}",
            f"teams:{SUPPORT_CHANNEL}:{root}",
            "teams",
            "teams",
            graph.tenant_id.lower(),
            "API outage",
        ),
        (
            f"teams:{SUPPORT_CHANNEL}:{reply}",
            f"teams:{SUPPORT_CHANNEL}:{root}",
            "teams",
            "teams",
            "0a0a0a0a-1111-2222-3333-kappa0000001",
            None,
        ),
    ]
    chat_keys = {r[0] for r in query(config, "SELECT DISTINCT conversation_key FROM core.messages")}
    assert f"teams:{KAPPA_CHAT}:main" in chat_keys and f"teams:{INTERNAL_CHAT}:main" in chat_keys
    stored = {key: json.loads(value or "{}") for key, value in cursors(config).items()}
    since = (NOW - ROUND_OVERLAP).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert stored == {f"chats:{BUYER}": {"since": since}, f"team:{TEAM}": {"since": since}}
    reads = query(config, "SELECT partition_key, last_error FROM meta.source_reads WHERE source = 'teams'")
    assert sorted(reads) == [(f"chats:{BUYER}", None), (f"team:{TEAM}", None)]


def test_each_members_copy_of_a_chat_message_is_one_row(graph: FakeGraph, tmp_path: Path) -> None:
    seed_world(graph)
    graph.add_chat(KAPPA_CHAT, [BUYER, "second-buyer"])  # another reader of the same chat
    text = teams_config_text(graph).replace(f'users = ["{BUYER}"]', f'users = ["{BUYER}", "second-buyer"]')
    config = config_at(write_config(tmp_path / "two", text))

    notes, stats = run_and_merge(config, NOW)

    assert notes["messages"] == 16  # the 6 Kappa chat messages twice, the internal one, 3 channel messages
    assert stats["new"] == 10 and stats["already_stored"] == 6 and stats["conflicts"] == 0


def test_the_next_run_reads_only_what_changed_since_the_last_round(
    graph: FakeGraph, config_file: Path
) -> None:
    ids = seed_world(graph)
    config = config_at(config_file)
    run_and_merge(config, NOW)
    graph.clear_calls()

    later = NOW + dt.timedelta(hours=1)
    new = buyer_says(graph, KAPPA_CHAT, "<p>Any update on lot 3?</p>", NOW + dt.timedelta(minutes=20))
    graph.edit_message(
        ids["kappa_chat"][1], "<p>Sure, report 0 attached (v2).</p>", NOW + dt.timedelta(minutes=30)
    )
    graph.delete_message(ids["internal_chat"][0], NOW + dt.timedelta(minutes=40))
    notes, stats = run_and_merge(config, later)

    window = unquote(graph.calls("teams_chats")[0].query["$filter"])
    assert (
        window
        == "lastModifiedDateTime gt 2026-03-12T07:50:00Z and lastModifiedDateTime lt 2026-03-12T09:00:00Z"
    )
    assert notes["messages"] == 2 and notes["deleted"] == 1
    # The edit is another copy of a stored key: the first text stays, the edit is recorded, nothing is replaced.
    assert stats["new"] == 1 and stats["conflicts"] == 1
    (body,) = query(
        config,
        "SELECT body_text FROM core.messages WHERE message_key = ?",
        [f"teams:{KAPPA_CHAT}:{ids['kappa_chat'][1]}"],
    )[0]
    assert body == "Sure, report 0 attached."
    assert query(
        config, "SELECT count(*) FROM core.messages WHERE message_key = ?", [f"teams:{KAPPA_CHAT}:{new}"]
    ) == [(1,)]
    # the deleted message stays stored
    assert query(
        config, "SELECT count(*) FROM core.messages WHERE message_key LIKE ?", [f"teams:{INTERNAL_CHAT}:%"]
    ) == [(1,)]


_CHILD = textwrap.dedent(
    """
    import datetime as dt, sys
    from tests.teams.teams_testlib import config_at, extract
    extract(config_at(sys.argv[1]), dt.datetime.fromisoformat(sys.argv[2]))
    """
)


def kill_while_reading_page(graph: FakeGraph, config_file: Path, page: int) -> None:
    """Run an extraction in a child process and kill it while it waits for the answer for `page`: what the
    earlier pages gave is staged with their cursor, as after a real kill."""
    graph.hold("teams_chats", page)
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    child = subprocess.Popen(
        [sys.executable, "-c", _CHILD, str(config_file), NOW.isoformat()],
        cwd=Path(__file__).parents[2],
        env=env,
    )
    try:
        assert graph.held.wait(timeout=30), f"the child never asked for page {page}"
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=10)
    finally:
        if child.poll() is None:
            child.kill()
        graph.release()
    assert child.returncode == -signal.SIGKILL
    graph.clear_calls()


def one_chat_of_questions(graph: FakeGraph, tmp_path: Path, count: int) -> Path:
    graph.add_chat(KAPPA_CHAT, [BUYER, "r"])
    graph.add_team(TEAM, SUPPORT_CHANNEL)
    for n in range(count):
        buyer_says(graph, KAPPA_CHAT, f"<p>Question {n}?</p>", START, hours=n)
    return write_config(tmp_path / "chat", teams_config_text(graph))


def test_a_run_killed_between_pages_resumes_with_nothing_lost_or_doubled(
    graph: FakeGraph, tmp_path: Path
) -> None:
    config_file = one_chat_of_questions(graph, tmp_path, 12)  # 3 pages of 5
    config = config_at(config_file)
    kill_while_reading_page(graph, config_file, 3)

    notes = extract(config, NOW + dt.timedelta(hours=1))  # resumes from the staged nextLink
    stats = merge(config, [{"teams": notes}]).as_dict()

    first = graph.calls("teams_chats")[0]
    assert "$skiptoken" in first.query  # the killed round's third page, not a new round
    assert notes["messages"] == 2 and stats["new"] == 12 and stats["already_stored"] == 0
    assert query(config, "SELECT count(*), count(DISTINCT message_key) FROM core.messages") == [(12, 12)]
    cursor = json.loads(cursors(config)[f"chats:{BUYER}"] or "{}")
    assert cursor == {"since": (NOW - ROUND_OVERLAP).strftime("%Y-%m-%dT%H:%M:%SZ")}  # the round it finished


def test_a_link_graph_no_longer_accepts_restarts_the_round_once(graph: FakeGraph, tmp_path: Path) -> None:
    config_file = one_chat_of_questions(graph, tmp_path, 8)
    config = config_at(config_file)
    kill_while_reading_page(graph, config_file, 2)  # the first page's 5 messages are staged with its nextLink
    graph.expire_skiptokens()

    notes = extract(config, NOW + dt.timedelta(hours=1))
    stats = merge(config, [{"teams": notes}]).as_dict()

    assert notes["restarts"] == 1
    calls = graph.calls("teams_chats")
    assert [c.status for c in calls] == [400, 200, 200]
    assert "$skiptoken" not in calls[1].query  # a new round from the stored start
    assert query(config, "SELECT count(*), count(DISTINCT message_key) FROM core.messages") == [(8, 8)]
    assert stats["new"] == 8 and stats["already_stored"] == 5


def test_a_link_refused_again_after_the_restart_fails_the_source(graph: FakeGraph, tmp_path: Path) -> None:
    config_file = one_chat_of_questions(graph, tmp_path, 8)
    config = config_at(config_file)
    kill_while_reading_page(graph, config_file, 2)
    graph.expire_skiptokens()
    graph.fail("teams_chats", 400, times=3, code="BadRequest")  # the restarted round's first page too

    with pytest.raises(SourceError, match="HTTP 400 BadRequest"):
        extract(config, NOW + dt.timedelta(hours=1))


def test_throttling_waits_as_told_then_goes_on(graph: FakeGraph, config_file: Path) -> None:
    seed_world(graph)
    graph.fail("teams_chats", 429, retry_after=1)
    config = config_at(config_file)

    _, stats = run_and_merge(config, NOW)

    assert [c.status for c in graph.calls("teams_chats")] == [429, 200, 200]
    assert stats["new"] == 10


def test_a_denied_permission_fails_at_once_with_what_to_grant(graph: FakeGraph, config_file: Path) -> None:
    seed_world(graph)
    graph.deny(f"teams/{TEAM}")
    config = config_at(config_file)

    with pytest.raises(SourceAuthError, match=r"ChannelMessage\.Read\.All"):
        extract(config, NOW)
    merge(config)
    # the chats were read (and stay staged and merged); the team is recorded as failed
    reads = dict(
        query(
            config,
            "SELECT partition_key, last_error IS NOT NULL FROM meta.source_reads WHERE source = 'teams'",
        )
    )
    assert reads == {f"chats:{BUYER}": False, f"team:{TEAM}": True}
    assert query(config, "SELECT count(*) FROM core.messages")[0][0] == 7


def test_listed_channels_limit_what_is_stored(graph: FakeGraph, tmp_path: Path) -> None:
    seed_world(graph)
    config = config_at(write_config(tmp_path / "one", teams_config_text(graph, channels=(SUPPORT_CHANNEL,))))

    notes, _ = run_and_merge(config, NOW)

    assert notes["other_channel"] == 1
    stored = query(
        config, "SELECT count(*) FROM core.messages WHERE message_key LIKE ?", [f"teams:{GENERAL_CHANNEL}:%"]
    )
    assert stored == [(0,)]


def test_the_marts_measure_the_vendors_chats_and_threads_and_nothing_else(
    graph: FakeGraph, config_file: Path
) -> None:
    seed_world(graph)
    config = config_at(config_file)
    run_and_merge(config, NOW)

    run_build(config, NOW)

    scope = query(
        config,
        "SELECT container_id, is_chat, vendor_id, scope_reason FROM staging.stg_teams_conversations ORDER BY 1",
    )
    assert scope == [
        (INTERNAL_CHAT, True, None, "chat_without_vendor_member"),
        (KAPPA_CHAT, True, "kappa", "chat_with_vendor_member"),
        (GENERAL_CHANNEL, False, None, "channel_without_vendor_member"),
        (SUPPORT_CHANNEL, False, "kappa", "channel_with_vendor_member"),
    ]
    sides = dict(
        query(
            config,
            "SELECT p.side, count(*) FROM staging.stg_message_parties AS p JOIN core.messages AS m USING (message_key) "
            "WHERE m.channel = 'teams' GROUP BY ALL",
        )
    )
    assert sides == {"company": 6, "vendor": 4}
    responses = query(
        config,
        "SELECT vendor_id, channel, conversation_key, responded_by_side FROM marts.responses "
        "WHERE channel = 'teams' ORDER BY requested_at",
    )
    # Each day's question in the chat is its own segment (a night of silence), answered by Kappa; the channel
    # thread's question is answered in its thread.
    assert [r[0] for r in responses] == ["kappa"] * 4
    assert {r[3] for r in responses} == {"vendor"}
    chat_segments = {r[2] for r in responses if r[2].startswith(f"teams:{KAPPA_CHAT}:main:")}
    assert len(chat_segments) == 3
    assert any(r[2].startswith(f"teams:{SUPPORT_CHANNEL}:") for r in responses)


def test_a_vendor_tenant_added_later_reclassifies_history(graph: FakeGraph, tmp_path: Path) -> None:
    seed_world(graph)
    text = teams_config_text(graph)
    without = text.replace('teams_tenant_ids = ["0A0A0A0A-1111-2222-3333-KAPPA0000001"]\n', "")
    assert without != text
    path = write_config(tmp_path / "later", without)
    config = config_at(path)
    run_and_merge(config, NOW)
    run_build(config, NOW)
    assert query(config, "SELECT count(*) FROM marts.responses WHERE channel = 'teams'") == [(0,)]

    config = config_at(write_config(tmp_path / "later", text))
    counts = run_build(config, NOW)

    assert counts["full_build"] == 1  # the identifiers are in the build fingerprint
    assert query(config, "SELECT count(*) FROM marts.responses WHERE channel = 'teams'") == [(4,)]


def test_the_cli_reads_teams_live_then_the_same_messages_saved_to_a_file(
    graph: FakeGraph, config_file: Path, tmp_path: Path
) -> None:
    ids = seed_world(graph)
    saved = tmp_path / "saved" / "kappa-chat.json"
    saved.parent.mkdir()
    page = {"value": [graph.teams_message(i).to_json() for i in ids["kappa_chat"]]}
    saved.write_text(json.dumps(page), encoding="utf-8")

    live = commhealth("--config", str(config_file), "ingest", "teams", cwd=tmp_path)
    from_file = commhealth("--config", str(config_file), "ingest", "teams-export", str(saved), cwd=tmp_path)
    missing = commhealth(
        "--config", str(config_file), "ingest", "teams-export", str(tmp_path / "nope"), cwd=tmp_path
    )

    assert live.returncode == 0, live.stderr
    assert graph.client_secret not in live.stdout + live.stderr
    assert from_file.returncode == 0, from_file.stderr
    config = config_at(config_file)
    assert query(config, "SELECT source, count(*) FROM core.messages GROUP BY ALL") == [("teams", 10)]
    assert error_lines(missing) == [f"error: no such file or folder: {tmp_path / 'nope'}"]
    assert missing.returncode == 2


def test_a_vendor_guest_in_the_company_tenant_is_the_vendors_by_its_address(
    graph: FakeGraph, config_file: Path
) -> None:
    guest = "g0000000-0000-0000-0000-0000000guest"
    graph.add_chat(KAPPA_CHAT, [BUYER, guest])
    graph.add_team(TEAM, SUPPORT_CHANNEL)
    graph.add_directory_user(
        guest, mail="Asha@Kappa-Offshore.in", upn="asha_kappa-offshore.in#EXT#@norelec.fr"
    )
    graph.add_directory_user(BUYER, mail="buyer@norelec.fr")
    for day in range(2):
        at = START + dt.timedelta(days=day)
        buyer_says(graph, KAPPA_CHAT, "<p>Could you confirm the shipping date?</p>", at)
        graph.add_chat_message(  # a guest: the company's tenant
            KAPPA_CHAT, sender_id=guest, sender_name="Asha (Guest)", html="<p>Confirmed for Friday.</p>",
            created=at + dt.timedelta(hours=3),
        )  # fmt: skip
    config = config_at(config_file)

    notes, _ = run_and_merge(config, NOW)
    run_build(config, NOW)

    assert notes["senders_looked_up"] == 2  # once per sender and run, not per message
    emails = dict(query(config, "SELECT DISTINCT sender, sender_email FROM core.messages"))
    assert emails == {BUYER: "buyer@norelec.fr", guest: "asha@kappa-offshore.in"}
    sides = query(
        config,
        "SELECT m.sender, p.side, p.vendor_id FROM staging.stg_message_parties AS p "
        "JOIN core.messages AS m USING (message_key) GROUP BY ALL ORDER BY 2",
    )
    assert sides == [(BUYER, "company", None), (guest, "vendor", "kappa")]
    assert query(config, "SELECT count(*) FROM marts.responses WHERE vendor_id = 'kappa'") == [(2,)]


def test_without_directory_access_senders_are_told_apart_by_tenant(
    graph: FakeGraph, config_file: Path
) -> None:
    seed_world(graph)
    graph.add_directory_user(BUYER, mail="buyer@norelec.fr")
    graph.deny(
        f"users/{RAVI}"
    )  # a refused lookup (no User.Read.All): the run goes on without looking up more
    config = config_at(config_file)

    notes, stats = run_and_merge(config, NOW)
    run_build(config, NOW)

    assert stats["new"] == 10
    assert notes["senders_looked_up"] == 2  # the buyer, then Ravi (refused); nobody after
    assert [c.status for c in graph.calls("user")] == [200, 403]
    sides = dict(
        query(
            config,
            "SELECT m.sender, p.side FROM staging.stg_message_parties AS p JOIN core.messages AS m USING (message_key) "
            "GROUP BY ALL",
        )
    )
    assert sides[RAVI] == "vendor" and sides[BUYER] == "company"

"""Exchange, Graph and Teams configured together: all are extracted in the same run, in parallel threads."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import duckdb
from prefect.settings import PREFECT_API_URL

from flows.daily import daily
from tests.fakes.ews import FakeEWS
from tests.fakes.graph import FakeGraph
from tests.flows.live_sources import (
    exchange_section,
    graph_section,
    seed_exchange,
    seed_graph,
    write_live_config,
)
from tests.teams.teams_testlib import BUYER, KAPPA_CHAT, START, buyer_says, ravi_says

ROOT = Path(__file__).resolve().parents[2]
# Before the fix the race failed 2 runs in 3 (13 of 20 fresh processes importing both connectors in two
# threads; the first or second process of this test): four clean processes in a row happen by luck about
# 1 time in 70.
FRESH_PROCESSES = 4

# A worker process: flows.daily is imported (as a deployment does), then one extract run of both sources, each
# with a single attempt so that a failed import shows instead of being mended by a retry.
EXTRACT_BOTH = """
import sys
from flows import daily
daily.stage_live_source.retries = 0
daily.extract(sources=["exchange", "graph"], config=sys.argv[1])
"""


def test_daily_stores_the_mail_of_both_mailboxes(tmp_path: Path, ews: FakeEWS, graph: FakeGraph) -> None:
    exchange_ids = seed_exchange(ews, 3)
    graph_ids = seed_graph(graph, 2)
    config = write_live_config(tmp_path / "project", exchange_section(ews), graph_section(graph))

    result = daily(config=str(config), as_of="2026-11-20", post=False)

    assert result["loaded"]["new"] == 5
    con = duckdb.connect(str(config.parent / "warehouse.published.duckdb"), read_only=True)
    stored = con.execute("SELECT source, message_key FROM core.messages ORDER BY ALL").fetchall()
    assert stored == sorted([("exchange", k) for k in exchange_ids] + [("graph", k) for k in graph_ids])


def test_daily_reads_teams_chats_with_the_graph_app_beside_its_mail(tmp_path: Path, graph: FakeGraph) -> None:
    graph_ids = seed_graph(graph, 2)
    graph.add_chat(KAPPA_CHAT, [BUYER, "ravi"])
    chat_ids = [
        buyer_says(graph, KAPPA_CHAT, "<p>Any news on the fix?</p>", START),
        ravi_says(graph, KAPPA_CHAT, "<p>Deployed.</p>", START, hours=1),
    ]
    # [sources.teams] without an app registration of its own signs in as [sources.graph]
    teams = f'\n[sources.teams]\nusers = ["{BUYER}"]\nbackfill_days = 0\n'
    config = write_live_config(tmp_path / "project", graph_section(graph), teams)

    result = daily(config=str(config), as_of="2026-11-20", post=False)

    assert result["loaded"]["new"] == 4
    con = duckdb.connect(str(config.parent / "warehouse.published.duckdb"), read_only=True)
    stored = con.execute("SELECT source, message_key FROM core.messages ORDER BY ALL").fetchall()
    expected = [("graph", k) for k in graph_ids] + [("teams", f"teams:{KAPPA_CHAT}:{i}") for i in chat_ids]
    assert stored == sorted(expected)
    reads = con.execute("SELECT source, partition_key FROM meta.source_reads ORDER BY ALL").fetchall()
    assert ("teams", f"chats:{BUYER}") in reads


def test_fresh_worker_processes_extract_both_sources_in_parallel(
    tmp_path: Path, ews: FakeEWS, graph: FakeGraph
) -> None:
    seed_exchange(ews, 1)
    seed_graph(graph, 1)
    config = write_live_config(tmp_path / "project", exchange_section(ews), graph_section(graph))
    env = {**os.environ, "PREFECT_API_URL": PREFECT_API_URL.value(), "PYTHONPATH": str(ROOT)}

    for attempt in range(FRESH_PROCESSES):
        done = subprocess.run(
            [sys.executable, "-c", EXTRACT_BOTH, str(config)],
            check=False,
            env=env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=300,
        )
        failure = done.stderr.strip().splitlines()[-1:] if done.returncode else []
        assert failure == [], f"worker process {attempt + 1} of {FRESH_PROCESSES}"

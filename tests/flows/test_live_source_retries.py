"""Live extraction under Prefect: refused or missing credentials fail at once, server errors are retried."""

from __future__ import annotations

from pathlib import Path

import pytest

from flows.daily import extract
from tests.fakes.graph import FakeGraph
from tests.flows.flow_runs import run_counts
from tests.flows.live_sources import GRAPH_SECRET_ENV, graph_section, seed_graph, write_live_config


def test_refused_credentials_are_tried_once(
    tmp_path: Path, graph: FakeGraph, fast_retries: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    seed_graph(graph, 2)
    config = write_live_config(tmp_path / "project", graph_section(graph))
    monkeypatch.setenv(GRAPH_SECRET_ENV, "not-the-secret")

    state = extract(sources=["graph"], config=str(config), return_state=True)

    assert state.is_failed()
    assert "refused the app credentials" in str(state.result(raise_on_failure=False))
    assert len(graph.calls("token")) == 1  # one attempt: a retry would only be refused again
    assert run_counts(state, "stage_live_source") == [1]


def test_a_missing_secret_is_tried_once(
    tmp_path: Path, graph: FakeGraph, fast_retries: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = write_live_config(tmp_path / "project", graph_section(graph))
    monkeypatch.delenv(GRAPH_SECRET_ENV)

    state = extract(sources=["graph"], config=str(config), return_state=True)

    assert state.is_failed() and GRAPH_SECRET_ENV in str(state.result(raise_on_failure=False))
    assert graph.calls() == []
    assert run_counts(state, "stage_live_source") == [1]


def test_a_server_error_is_retried(tmp_path: Path, graph: FakeGraph, fast_retries: None) -> None:
    seed_graph(graph, 2)
    config = write_live_config(tmp_path / "project", graph_section(graph))
    graph.fail("delta", 503)  # the connector does not retry it itself (max_retries = 0): the task must

    state = extract(sources=["graph"], config=str(config), return_state=True)

    assert state.is_completed()
    assert [c.status for c in graph.calls("delta")][:2] == [503, 200]
    assert run_counts(state, "stage_live_source") == [2]
    assert state.result()[0]["graph"]["messages"] == 2

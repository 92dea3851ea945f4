"""What Prefect recorded of one flow run's tasks (the harness is shared by the whole session)."""

from __future__ import annotations

from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId
from prefect.states import State


def run_counts(flow_state: State, task_name: str) -> list[int]:
    """How many times each run of `task_name` in this flow run ran (1: no retry)."""
    with get_client(sync_client=True) as client:
        runs = client.read_task_runs(
            flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_state.state_details.flow_run_id]))
        )
    return [r.run_count for r in runs if r.name.startswith(task_name)]

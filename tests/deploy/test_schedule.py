"""The deployment section of the README, for real: a `prefect server` on 127.0.0.1, the work pool, `prefect deploy
--all` from prefect.yaml, and the server's scheduler creating the upcoming runs of `daily` (issue 11: with
prefect 3.9.0 and SQLAlchemy 2.1 the deploy succeeded, the schedule showed active, and no run was ever created)."""

from __future__ import annotations

import datetime as dt
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest

from tests.conftest import write_config

ROOT = Path(__file__).resolve().parent.parent.parent
PARIS = ZoneInfo("Europe/Paris")
# Bounds on each wait (a healthy run takes well under a minute); generous because the server's first start
# migrates its database, which is slow on a loaded machine.
WAIT_SECONDS = 240

pytestmark = [pytest.mark.deploy, pytest.mark.timeout(6 * WAIT_SECONDS)]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def prefect(*args: str, env: dict[str, str], cwd: Path) -> str:
    """A `prefect` command in its own process; its output is part of the failure message."""
    result = subprocess.run(
        [sys.executable, "-m", "prefect", *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=WAIT_SECONDS,
        check=False,
    )
    assert result.returncode == 0, f"prefect {' '.join(args)}:\n{result.stdout}\n{result.stderr}"
    return result.stdout


class Server:
    def __init__(self, api_url: str, log: Path) -> None:
        self.api_url, self.log = api_url, log

    def tail(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")[-4000:]

    def post(self, path: str, body: dict) -> list[dict]:
        response = httpx.post(f"{self.api_url}{path}", json=body, timeout=30)
        response.raise_for_status()
        return response.json()


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    """The environment the README sets up: its own Prefect home and server, our checkout and a config."""
    base = {k: v for k, v in os.environ.items() if "proxy" not in k.lower() and not k.startswith("PREFECT_")}
    return {
        **base,
        "PREFECT_HOME": str(tmp_path / "prefect-home"),
        "PREFECT_API_URL": f"http://127.0.0.1:{free_port()}/api",
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_UI_ENABLED": "false",
        "DO_NOT_TRACK": "1",
        "COMMHEALTH_HOME": str(ROOT),
        "COMMHEALTH_CONFIG": str(write_config(tmp_path / "company")),
    }


@pytest.fixture
def server(env: dict[str, str], tmp_path: Path) -> Iterator[Server]:
    api_url = env["PREFECT_API_URL"]
    port = api_url.rsplit(":", 1)[1].split("/")[0]
    log = tmp_path / "server.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1", "--port", port],
            env=env,
            cwd=tmp_path,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, so stopping it stops whatever it started
        )
    running = Server(api_url, log)
    try:
        deadline = time.monotonic() + WAIT_SECONDS
        while True:
            assert process.poll() is None, f"prefect server exited:\n{running.tail()}"
            try:
                if httpx.get(f"{api_url}/health", timeout=5).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, (
                f"prefect server not healthy in {WAIT_SECONDS} s:\n{running.tail()}"
            )
            time.sleep(0.5)
        yield running
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def test_deployed_daily_schedule_creates_its_runs(server: Server, env: dict[str, str]) -> None:
    prefect("work-pool", "create", "commhealth", "--type", "process", env=env, cwd=ROOT)
    prefect("--no-prompt", "deploy", "--all", env=env, cwd=ROOT)

    [daily] = server.post("/deployments/filter", {"deployments": {"name": {"any_": ["daily"]}}})
    assert daily["pull_steps"][0]["prefect.deployments.steps.set_working_directory"] == {
        "directory": str(ROOT)
    }
    assert daily["job_variables"]["env"]["COMMHEALTH_CONFIG"] == env["COMMHEALTH_CONFIG"]
    assert [s["active"] for s in daily["schedules"]] == [True]

    deadline = time.monotonic() + WAIT_SECONDS
    runs: list[dict] = []
    while not runs and time.monotonic() < deadline:
        time.sleep(1)
        runs = server.post(
            "/flow_runs/filter",
            {
                "deployments": {"id": {"any_": [daily["id"]]}},
                "flow_runs": {"state": {"type": {"any_": ["SCHEDULED"]}}},
            },
        )
    assert runs, f"the scheduler created no run of daily in {WAIT_SECONDS} s; server log:\n{server.tail()}"
    starts = [dt.datetime.fromisoformat(run["expected_start_time"]).astimezone(PARIS) for run in runs]
    assert all(s.time() == dt.time(7) and s.weekday() < 5 for s in starts), starts
    assert min(starts) > dt.datetime.now(PARIS)

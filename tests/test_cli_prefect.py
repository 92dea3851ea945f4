"""`commhealth run` and Prefect's temporary server, in real processes: a start that takes too long is one line
saying how to point commhealth at a running server (issue 11: it timed out in 2 of 4 runs on a busy machine)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from commhealth.demo_data import write_demo_dataset


def commhealth(*args: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """The CLI with its own Prefect home and no server named, so Prefect starts its temporary one."""
    base = {k: v for k, v in os.environ.items() if "proxy" not in k.lower() and not k.startswith("PREFECT_")}
    full_env = {
        **base,
        "PREFECT_HOME": str(cwd / "prefect-home"),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "COLUMNS": "200",
        **env,
    }
    return subprocess.run(
        [sys.executable, "-m", "commhealth", *args],
        cwd=cwd,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def test_a_server_that_does_not_start_in_time_is_one_line_saying_what_to_do(tmp_path: Path) -> None:
    dataset = write_demo_dataset(tmp_path / "demo", weeks=1)
    result = commhealth(
        "--config",
        str(dataset.config_path),
        "run",
        "--dry-run",
        cwd=tmp_path,
        env={"PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "0"},  # the user's setting wins over ours
    )
    assert result.returncode == 1 and "Traceback" not in result.stdout + result.stderr
    # Prefect's own log says it starts and stops the server; of ours, one line.
    [line] = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert line.startswith("error: Prefect's temporary server did not start within 0 s;")
    assert "prefect server start" in line and "PREFECT_API_URL=http://127.0.0.1:4200/api" in line
    assert not dataset.config_path.with_name("warehouse.duckdb").exists()


def test_run_starts_the_temporary_server_and_reports_the_day(tmp_path: Path) -> None:
    dataset = write_demo_dataset(tmp_path / "demo", weeks=1)
    result = commhealth(
        "--config",
        str(dataset.config_path),
        "run",
        "--dry-run",
        "--as-of",
        "2026-11-20",
        cwd=tmp_path,
        env={},
    )
    assert result.returncode == 0, result.stderr
    assert "Digest of 2026-11-20:" in result.stdout

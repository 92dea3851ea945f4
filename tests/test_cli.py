"""The command line as users meet it: real processes, exit codes, what they print."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import EXAMPLE_CONFIG, write_config

ROOT = Path(__file__).resolve().parent.parent


def commhealth(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run the CLI in a fresh process; proxies are dropped since test servers live on 127.0.0.1."""
    full_env = {k: v for k, v in os.environ.items() if k != "COMMHEALTH_CONFIG" and "proxy" not in k.lower()}
    full_env.update({"COLUMNS": "200", **(env or {})})
    return subprocess.run(
        [sys.executable, "-m", "commhealth", *args],
        check=False,
        cwd=cwd,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_config_error_is_one_line_exit_2_no_traceback(tmp_path: Path) -> None:
    bad = write_config(tmp_path, EXAMPLE_CONFIG.replace('"09:30-18:30"', '"09:30-18:30", "22:00-10:00"'))
    result = commhealth("--config", str(bad), "status", cwd=tmp_path)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr + result.stdout
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1
    assert (
        str(bad) in lines[0]
        and "vendors[0].business_hours" in lines[0]
        and "'22:00-10:00' on mon runs into '09:30-18:30' on tue" in lines[0]
    )


def test_config_found_through_environment(tmp_path: Path) -> None:
    bad = write_config(tmp_path / "conf", EXAMPLE_CONFIG.replace('id = "lumen"', 'id = "kappa"'))
    result = commhealth("status", cwd=tmp_path, env={"COMMHEALTH_CONFIG": str(bad)})
    assert result.returncode == 2 and "duplicate vendor id 'kappa'" in result.stderr


def test_missing_input_path_is_a_clear_error(config_path: Path) -> None:
    result = commhealth(
        "--config", str(config_path), "ingest", "mbox", "nowhere.mbox", cwd=config_path.parent
    )
    assert result.returncode == 2 and "no such file or folder: nowhere.mbox" in result.stderr

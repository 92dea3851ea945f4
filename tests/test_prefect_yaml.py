"""Every entrypoint named in prefect.yaml imports and is a Prefect flow; the deployments say what we promise."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import yaml
from prefect import Flow

ROOT = Path(__file__).resolve().parent.parent
SPEC = yaml.safe_load((ROOT / "prefect.yaml").read_text(encoding="utf-8"))


def test_every_entrypoint_is_a_flow() -> None:
    assert SPEC["deployments"]
    for deployment in SPEC["deployments"]:
        path, name = deployment["entrypoint"].split(":")
        spec = importlib.util.spec_from_file_location(f"entry_{name}", ROOT / path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        assert isinstance(getattr(module, name), Flow), deployment["name"]


def test_daily_runs_weekdays_at_seven_paris_one_at_a_time() -> None:
    daily = next(d for d in SPEC["deployments"] if d["name"] == "daily")
    assert daily["schedules"] == [{"cron": "0 7 * * 1-5", "timezone": "Europe/Paris"}]
    assert daily["concurrency_limit"] == {"limit": 1, "collision_strategy": "CANCEL_NEW"}
    backfill = next(d for d in SPEC["deployments"] if d["name"] == "backfill")
    assert "schedules" not in backfill

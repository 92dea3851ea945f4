"""Scenarios: a small one generates deterministically, its ground truth shows in what was generated, and the
scenario evaluation (`python -m bench.eval --only scenarios`) runs end to end on it. Detection figures are the
evaluation's output, never asserted here."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
from rich.console import Console

from commhealth.demo_data import DemoDataset, write_scenario_dataset
from commhealth.scenario import ATLAS, KAPPA, LUMEN, VINH, Degradation, Scenario, VendorSpec
from flows.ingest import configured_paths, ingest
from ground.config import load_config
from transforms.build import run_build

ROOT = Path(__file__).resolve().parents[1]
END = dt.date(2026, 11, 20)
ONSET = END - dt.timedelta(days=11)  # a Monday: two weeks before it, two weeks from it


def small_scenario() -> Scenario:
    return Scenario(
        "small",
        END,
        28,
        50,
        (
            VendorSpec(KAPPA, degradation=Degradation("latency", ONSET)),
            VendorSpec(VINH, degradation=Degradation("silence", ONSET)),
            # It asks us a lot, so that our own slowness with it shows.
            VendorSpec(
                dataclasses.replace(ATLAS, weight=2.0),
                baseline={"vendor_initiated": 0.5, "notices": 0.1},
                degradation=Degradation("our_side", ONSET),
            ),
            VendorSpec(LUMEN, confounders=("structurally_slow",)),
        ),
    )


def _tree_hash(root: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        digest.update(path.relative_to(root).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def test_same_seed_same_files_and_ground_truth_reads_back(tmp_path: Path) -> None:
    first = write_scenario_dataset(tmp_path / "a", small_scenario(), seed=3)
    write_scenario_dataset(tmp_path / "b", small_scenario(), seed=3)
    write_scenario_dataset(tmp_path / "c", small_scenario(), seed=4)
    assert _tree_hash(tmp_path / "a") == _tree_hash(tmp_path / "b")
    assert _tree_hash(tmp_path / "a") != _tree_hash(tmp_path / "c")

    truth = json.loads(first.scenario_path.read_text(encoding="utf-8"))
    assert truth["seed"] == 3 and truth["as_of"] == first.as_of.isoformat()
    assert Scenario.from_dict(truth) == small_scenario()  # the ground truth is a scenario file too
    by_id = {v["id"]: v for v in truth["vendors"]}
    assert by_id["kappa"]["degradation"] == {"kind": "latency", "onset": ONSET.isoformat()}
    assert by_id["lumen"]["degradation"] is None and by_id["lumen"]["confounders"] == ["structurally_slow"]
    assert by_id["vinh"]["behaviour"]["degraded"]["vendor_ignores"] > 0


def test_a_bad_scenario_is_refused_with_the_reason() -> None:
    data = small_scenario().to_dict()
    data["vendors"][0]["degradation"]["kind"] = "meltdown"
    with pytest.raises(ValueError, match="unknown degradation kind 'meltdown'"):
        Scenario.from_dict(data)
    data = small_scenario().to_dict()
    data["vendors"][1]["confounders"] = ["closure_week"]  # without closed dates in its calendar
    with pytest.raises(ValueError, match="closure_week needs the closed dates"):
        Scenario.from_dict(data)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[DemoDataset, Path]:
    dataset = write_scenario_dataset(tmp_path_factory.mktemp("small"), small_scenario(), seed=5)
    config = load_config(dataset.config_path)
    ingest(
        config,
        Console(quiet=True),
        mail=configured_paths(config, "mbox"),
        slack_exports=configured_paths(config, "slack_export"),
    )
    run_build(config, dataset.as_of)
    return dataset, config.warehouse.published_path


def _requests(published: Path, vendor: str, waiting_on: str) -> tuple[list, list]:
    """(before the onset, from the onset): (answer business minutes or None) of each request `vendor`'s exchanges
    left to `waiting_on`, measured by the marts."""
    onset = dt.datetime.combine(ONSET, dt.time(0), dt.UTC)
    with duckdb.connect(str(published), read_only=True) as con:
        rows = con.execute(
            """
            SELECT t.needs_reply_at, r.business_minutes
            FROM intermediate.int_turns AS t
            LEFT JOIN marts.responses AS r
                ON r.conversation_key = t.conversation_key AND r.vendor_id = t.vendor_id
               AND r.request_message_key = t.needs_reply_message_key
            WHERE t.needs_reply AND t.vendor_id = ? AND t.side <> ?
            """,
            [vendor, waiting_on],
        ).fetchall()
    before = [minutes for at, minutes in rows if at < onset]
    after = [minutes for at, minutes in rows if at >= onset]
    assert len(before) >= 12 and len(after) >= 12, (vendor, len(before), len(after))
    return before, after


def _median_answer(minutes: list) -> float:
    return statistics.median(m for m in minutes if m is not None)


def _unanswered(minutes: list) -> float:
    return sum(m is None for m in minutes) / len(minutes)


def test_latency_vendor_answers_slower_from_its_onset(built: tuple[DemoDataset, Path]) -> None:
    before, after = _requests(built[1], "kappa", waiting_on="vendor")
    assert _median_answer(after) > 2 * _median_answer(before)


def test_structurally_slow_vendor_is_slow_but_stable(built: tuple[DemoDataset, Path]) -> None:
    before, after = _requests(built[1], "lumen", waiting_on="vendor")
    fast_before, _ = _requests(built[1], "kappa", waiting_on="vendor")
    assert _median_answer(before) > 1.5 * _median_answer(fast_before)
    assert 0.6 < _median_answer(after) / _median_answer(before) < 1.6


def test_silent_vendor_leaves_requests_unanswered_from_its_onset(built: tuple[DemoDataset, Path]) -> None:
    before, after = _requests(built[1], "vinh", waiting_on="vendor")
    assert _unanswered(after) > _unanswered(before) + 0.2


def test_our_side_is_the_company_slowing_down_not_the_vendor(built: tuple[DemoDataset, Path]) -> None:
    ours_before, ours_after = _requests(built[1], "atlas", waiting_on="company")
    assert _unanswered(ours_after) > _unanswered(ours_before) + 0.1
    theirs_before, theirs_after = _requests(built[1], "atlas", waiting_on="vendor")
    assert _median_answer(theirs_after) < 1.6 * _median_answer(theirs_before)


def test_eval_scenarios_runs_end_to_end_and_writes_its_report(tmp_path: Path) -> None:
    """The real command on the small scenario, one seed, one week: the report's structure, not its figures."""
    scenario_file = tmp_path / "small.json"
    scenario_file.write_text(json.dumps(small_scenario().to_dict()), encoding="utf-8")
    out = tmp_path / "results"
    args = ["--only", "scenarios", "--scenario", str(scenario_file), "--seeds", "5", "--weeks", "1"]
    done = subprocess.run(
        [sys.executable, "-m", "bench.eval", *args, "--out", str(out), "--workdir", str(tmp_path / "work")],
        check=False,
        cwd=ROOT,
        env={**os.environ, "PREFECT_SERVER_ANALYTICS_ENABLED": "false"},
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, done.stderr
    assert "seed 5: day 5/5" in done.stderr  # progress, day by day
    [report_json] = out.glob("eval-*.json")
    [report_md] = out.glob("eval-*.md")
    section = json.loads(report_json.read_text(encoding="utf-8"))["scenarios"]
    [run] = section["seeds"]
    assert len(run["days"]) == 5 and run["days"][-1] == END.isoformat()
    rows = {r["vendor"]: r for r in run["vendors"]}
    assert set(rows) == {"kappa", "vinh", "atlas", "lumen"}
    for vendor in ("kappa", "vinh", "atlas"):
        assert rows[vendor]["onset"] == ONSET.isoformat()
        assert len(rows[vendor]["statuses"]) == 5 and {"delay", "kind_matches", "passed"} <= set(rows[vendor])
    assert rows["lumen"]["kind"] is None and {"not_ok_days", "critical_days"} <= set(rows["lumen"])
    assert [t["name"] for t in section["summary"]["targets"]] == [
        "degradations flagged within 2 business days",
        "healthy vendor-days not ok",
        "healthy vendor-days critical",
    ]
    text = report_md.read_text(encoding="utf-8")
    for heading in ("## Scenarios", "### Degrading vendors", "### Healthy vendors", "### Day by day"):
        assert heading in text
    assert (tmp_path / "work" / "seed-5" / "scenario.json").is_file()


def test_eval_refuses_a_missing_scenario_file_in_one_line(tmp_path: Path) -> None:
    missing = tmp_path / "nope.json"
    done = subprocess.run(
        [sys.executable, "-m", "bench.eval", "--only", "scenarios", "--scenario", str(missing)],
        check=False,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2
    assert done.stderr.strip().count("\n") == 0 and "nope.json" in done.stderr
    assert "Traceback" not in done.stderr

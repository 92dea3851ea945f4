"""Smoke test of the benchmark script (`make bench`) at a tiny size: it runs and reports every figure."""

from __future__ import annotations

import datetime as dt
import json
import re
import subprocess
import sys
from pathlib import Path

from bench.naive import Calendar
from bench.run import STEP_ORDER

REPO_ROOT = Path(__file__).resolve().parent.parent
FIGURES = (
    "messages",
    "mail_messages",
    "slack_messages",
    "increment_messages",
    "mbox_mb",
    "slack_export_mb",
    "baseline_msgs_per_s",
    "baseline_msgs_per_cpu_s",
    "ingest_mail_msgs_per_cpu_s",
    "ingest_mail_msgs_per_s",
    "ingest_mail_stage_msgs_per_s",
    "ingest_to_baseline_ratio",
    "ingest_to_baseline_cpu_ratio",
    "ingest_slack_msgs_per_s",
    "build_s",
    "increment_ingest_s",
    "increment_build_s",
    "increment_total_s",
    "increment_to_build_ratio",
    "daily_run_s",
    "daily_run_to_build_ratio",
    "ingest_mail_peak_rss_mb_after_staging",
    "ingest_mail_merge_tail_s",
)


def _mbox_bytes(folder: Path) -> bytes:
    return b"".join(path.read_bytes() for path in sorted(folder.glob("mail/*.mbox")))


def test_bench_runs_at_a_tiny_size(tmp_path: Path) -> None:
    out, workdir = tmp_path / "results", tmp_path / "work"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "bench.run",
            "--messages",
            "2000",
            "--realistic-messages",
            "300",
            "--out",
            str(out),
            "--workdir",
            str(workdir),
        ],
        cwd=REPO_ROOT,
        check=True,
        timeout=300,
    )
    [json_path] = out.glob("*.json")
    assert json_path.with_suffix(".md").is_file()
    report = json.loads(json_path.read_text(encoding="utf-8"))

    for key in ("platform", "python", "cpu_model", "cores", "ram_gb"):
        assert key in report["machine"]
    assert report["packages"]["duckdb"] and report["packages"]["pyarrow"]
    assert report["size"]["requested_messages"] == 2000

    fig = report["figures"]
    for name in FIGURES:
        assert isinstance(fig[name], int | float) and fig[name] > 0, name
    assert fig["mail_messages"] + fig["slack_messages"] == fig["messages"]
    assert set(fig["peak_rss_mb"]) == set(STEP_ORDER)
    assert all(rss > 0 for rss in fig["peak_rss_mb"].values())

    assert set(report["steps"]) == {
        *STEP_ORDER,
        "naive",
        "generate_realistic",
        "baseline_realistic",
        "ingest_realistic",
    }
    # The realistic mix: tens of KB a mail, everything the baseline read was ingested.
    real = fig["realistic"]
    assert real["kb_per_mail"] >= 10 and real["ingest_to_baseline_ratio"] > 0
    assert report["steps"]["ingest_realistic"]["stats"]["read"] == real["mail_messages"] > 0
    # The day was cut from the archive's own history: some of its mails answer mails of the history.
    assert fig["increment_messages"] > 0
    history_ids = set(
        re.findall(rb"^Message-ID: <([^>]+)>", _mbox_bytes(workdir / "archive"), re.MULTILINE | re.IGNORECASE)
    )
    answered = set(
        re.findall(
            rb"^In-Reply-To: <([^>]+)>", _mbox_bytes(workdir / "increment"), re.MULTILINE | re.IGNORECASE
        )
    )
    assert history_ids & answered
    for name, step in report["steps"].items():
        for key in ("work_s", "wall_s", "cpu_s", "peak_rss_mb", "peak_memory_mb"):
            assert step[key] >= 0, (name, key)
    # Everything read was stored once: the increment is new data, not a copy of the archive.
    for name in ("ingest_mail", "ingest_slack", "increment_ingest"):
        stats = report["steps"][name]["stats"]
        assert stats["read"] > 0 and stats["already_stored"] == 0 and stats["conflicts"] == 0, name

    assert len(report["targets"]) == 5  # with the plain-script comparison
    assert fig["naive_cpu_s"] > 0 and fig["naive_to_commhealth_cpu_ratio"] > 0
    naive = report["steps"]["naive"]["report"]
    # the plain script measured answers on both sides of the same vendors
    assert set(naive) >= {"kappa", "lumen"}
    assert sum(v["vendor"]["responses"] for v in naive.values()) > 0
    assert sum(v["company"]["responses"] for v in naive.values()) > 0
    for target in report["targets"]:
        assert isinstance(target["passed"], bool) and target["measured"] > 0


def test_the_plain_script_counts_business_minutes_like_a_person_would() -> None:
    paris = Calendar(
        {
            "timezone": "Europe/Paris",
            "holidays": "FR",
            "closures": ["2026-12-24"],
            "business_hours": ["09:00-12:30", "13:30-18:00"],
        }
    )
    at = dt.datetime.fromisoformat
    # Friday 17:00 to Monday 10:00: an hour each side of the weekend.
    assert paris.minutes(at("2026-11-20T17:00+01:00"), at("2026-11-23T10:00+01:00")) == 120
    # Across lunch, and across the 11 November holiday (a Wednesday).
    assert paris.minutes(at("2026-11-17T12:00+01:00"), at("2026-11-17T14:00+01:00")) == 60
    assert paris.minutes(at("2026-11-10T17:00+01:00"), at("2026-11-12T10:00+01:00")) == 120
    # A closure day counts nothing; an answer before the question counts nothing.
    assert paris.minutes(at("2026-12-24T09:00+01:00"), at("2026-12-24T18:00+01:00")) == 0
    assert paris.minutes(at("2026-11-17T14:00+01:00"), at("2026-11-17T12:00+01:00")) == 0

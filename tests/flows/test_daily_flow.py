"""The daily flow end to end on demo data, under Prefect, posting to a fake Slack on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest
from prefect.client.orchestration import get_client

from commhealth.demo_data import write_demo_dataset
from commhealth.scenario import demo_scenario
from flows.daily import backfill, daily, extract
from ground.config import load_config
from ground.secrets import SecretUnavailableError
from tests.fakes.slack_api import FakeSlackAPI
from tests.flows.flow_runs import run_counts
from warehouse.staging import part_kind, staged_parts

TOKEN = "xoxb-flow-test-token"


@pytest.fixture
def slack(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeSlackAPI]:
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SLACK_BOT_TOKEN", TOKEN)
    with FakeSlackAPI() as fake:
        fake.state.add_channel("vendor-health", "C0HEALTH01")
        for vendor in (spec.id for spec in demo_scenario().vendors):
            fake.state.add_channel(f"vendor-{vendor}")
            fake.state.add_channel(f"ext-{vendor}", is_ext_shared=True)
        fake.state.add_user("U0LIVE", "live", team_id="T0KAPPA", profile={"real_name": "Live Kappa"})
        fake.state.add_message("ext-kappa", "Any update on the live feed?", user="U0LIVE", team="T0KAPPA")
        yield fake


def test_daily_posts_once_keeps_artifacts_and_a_rerun_posts_nothing(
    tmp_path: Path, slack: FakeSlackAPI, caplog: pytest.LogCaptureFixture
) -> None:
    dataset = write_demo_dataset(tmp_path / "demo", weeks=3)
    config = dataset.config_path
    live = f'\n[sources.slack]\napi_url = "{slack.url}"\n'  # a live source beside the demo's files
    config.write_text(config.read_text().replace("https://slack.com/api/", slack.url) + live)

    first = daily(as_of=dataset.as_of.isoformat(), config=str(config))
    assert first["day"] == "2026-11-20" and not first["dry_run"]
    assert first["loaded"]["new"] > 500
    main = [m for m in slack.posted("#vendor-health") if m.get("thread_ts", m["ts"]) == m["ts"]]
    assert len(main) == 1
    assert len(slack.calls("files.completeUploadExternal")) == 1
    posted_before = sum(len(slack.posted(c["id"])) for c in slack.state.channels)

    second = daily(as_of=dataset.as_of.isoformat(), config=str(config))
    assert second["posted"] == [] and second["loaded"]["new"] == 0
    assert sum(len(slack.posted(c["id"])) for c in slack.state.channels) == posted_before
    assert TOKEN not in caplog.text

    con = duckdb.connect(str(dataset.config_path.parent / "warehouse.published.duckdb"), read_only=True)
    assert con.execute("SELECT count(*) FROM core.messages WHERE source = 'slack_api'").fetchone()[0] == 1
    delivered = con.execute("SELECT count(*) FROM meta.alert_deliveries WHERE rule = 'digest'").fetchone()[0]
    assert delivered == 1
    assert con.execute("SELECT count(*) FROM marts.alerts WHERE day = DATE '2026-11-20'").fetchone()[0] > 0

    with get_client(sync_client=True) as client:
        keys = {a.key for a in client.read_artifacts()}
    assert {"vendor-health-digest", "vendor-health-metrics"} <= keys


def test_a_forced_run_posts_each_part_once_whatever_the_retries(
    tmp_path: Path, slack: FakeSlackAPI, fast_retries: None
) -> None:
    dataset = write_demo_dataset(tmp_path / "demo", weeks=3)
    config = dataset.config_path
    config.write_text(config.read_text().replace("https://slack.com/api/", slack.url))
    vendor_channels = [f"#vendor-{spec.id}" for spec in demo_scenario().vendors]
    # One critical alert post fails once: the task is retried, and only that post may be made again.
    slack.api_error(  # an error that is not retried within the call (internal_error is)
        "chat.postMessage", "invalid_arguments", when=lambda c: c.params["channel"] in vendor_channels
    )

    state = daily(as_of=dataset.as_of.isoformat(), config=str(config), force=True, return_state=True)

    assert state.is_completed()
    assert run_counts(state, "post_to_slack") == [2]
    top_level = {
        c["name"]: [m for m in slack.posted(c["id"]) if m.get("thread_ts", m["ts"]) == m["ts"]]
        for c in slack.state.channels
    }
    assert len(top_level["vendor-health"]) == 1
    alerted = {name: len(top_level[name.lstrip("#")]) for name in vendor_channels}
    assert set(alerted.values()) <= {0, 1} and sum(alerted.values()) > 0  # each vendor's alerts: once
    charts = [c for c in slack.calls("files.completeUploadExternal") if c.response and c.response["ok"]]
    assert len(charts) == 1


def test_backfill_computes_each_day_without_posting(tmp_path: Path, slack: FakeSlackAPI) -> None:
    dataset = write_demo_dataset(tmp_path / "demo", weeks=2)
    days = backfill(since="2026-11-18", until="2026-11-20", config=str(dataset.config_path))
    assert [d["day"] for d in days] == ["2026-11-18", "2026-11-19", "2026-11-20"]
    assert slack.calls("chat.postMessage") == []
    assert all(Path(d["digest_json"]).is_file() for d in days)


def test_a_missing_secret_block_fails_once_and_the_run_still_publishes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SLACK_BOT_TOKEN", raising=False)
    dataset = write_demo_dataset(tmp_path / "demo", weeks=2)
    config = dataset.config_path
    config.write_text(
        config.read_text().replace("[alerts]\n", '[alerts]\ntoken_secret_block = "no-such-block"\n')
    )

    state = daily(as_of=dataset.as_of.isoformat(), config=str(config), return_state=True)

    with pytest.raises(SecretUnavailableError, match="no-such-block"):
        state.result()
    assert run_counts(state, "post_to_slack") == [1]  # a missing block is not worth a retry

    # Published once, at the end: the copy holds every writing step of the failed run.
    con = duckdb.connect(str(config.parent / "warehouse.published.duckdb"), read_only=True)
    commands = [row[0] for row in con.execute("SELECT command FROM meta.runs ORDER BY started_at").fetchall()]
    assert commands == ["daily ingest", "build", "digest"]
    assert con.execute("SELECT count(*) FROM marts.alerts").fetchone()[0] > 0


def test_extract_stages_without_the_warehouse_and_daily_merges_what_it_staged(
    tmp_path: Path, slack: FakeSlackAPI
) -> None:
    dataset = write_demo_dataset(tmp_path / "demo", weeks=1)
    config = load_config(dataset.config_path)
    with pytest.raises(ValueError, match="not configured"):
        extract(sources=["graph"], config=str(dataset.config_path))

    notes = extract(sources=["mbox"], config=str(dataset.config_path))

    assert notes == [{}]
    assert not config.warehouse.path.exists()  # extraction never opens the warehouse
    staged = staged_parts(config.warehouse.staging_path)
    # the mail, and what was read
    assert staged and {part_kind(p) for p in staged} == {"messages", "source_reads"}
    result = daily(config=str(dataset.config_path), sources=[], post=False)
    assert staged_parts(config.warehouse.staging_path) == []
    con = duckdb.connect(str(config.warehouse.published_path), read_only=True)
    channels = con.execute("SELECT DISTINCT channel FROM core.messages").fetchall()
    assert channels == [("email",)]  # only what extract staged: the daily run extracted nothing itself
    assert con.execute("SELECT DISTINCT source FROM meta.source_reads").fetchall() == [("mbox",)]
    assert result["loaded"]["new"] == con.execute("SELECT count(*) FROM core.messages").fetchone()[0] > 0

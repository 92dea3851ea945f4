"""`commhealth ingest slack` as a user runs it: a real process, the token from the environment, one-line errors."""

from __future__ import annotations

import subprocess
from pathlib import Path

import duckdb

from tests.fakes.slack_api import FakeSlackAPI
from tests.slack_api.conftest import CHANNEL_ID, CONFIG, TOKEN, seed_users
from tests.test_cli import commhealth

ROOT = Path(__file__).resolve().parents[2]


def run_cli(config: Path, token: str) -> subprocess.CompletedProcess[str]:
    return commhealth("--config", str(config), "ingest", "slack", cwd=ROOT, env={"SLACK_BOT_TOKEN": token})


def test_ingest_slack_twice_through_the_cli(tmp_path: Path) -> None:
    with FakeSlackAPI(tokens={TOKEN}) as fake:
        seed_users(fake)
        fake.state.add_channel("ext-kappa", CHANNEL_ID, is_ext_shared=True)
        fake.state.add_message(CHANNEL_ID, "Could you clarify the scope?", user="U0ALICE", team="T0NORELEC")
        fake.state.add_message(CHANNEL_ID, "It covers the API only.", user="U0VIC", team="T0KAPPA")
        config = tmp_path / "commhealth.toml"
        config.write_text(
            CONFIG.format(
                channels='["ext-kappa"]',
                warehouse=tmp_path / "w.duckdb",
                api_url=fake.url,
                page_size=100,
                max_retries=2,
                lookback=14,
                read_dms="false",
            )
        )
        first = run_cli(config, TOKEN)
        assert first.returncode == 0, first.stderr
        fake.state.add_message(CHANNEL_ID, "Thanks!", user="U0ALICE", team="T0NORELEC")
        second = run_cli(config, TOKEN)
        assert second.returncode == 0, second.stderr
        wrong = run_cli(config, "xoxb-wrong-token-value")
    con = duckdb.connect(str(tmp_path / "w.published.duckdb"), read_only=True)
    senders = con.execute("SELECT sender, sender_team_id FROM core.messages ORDER BY sent_at").fetchall()
    assert senders == [("U0ALICE", "T0NORELEC"), ("U0VIC", "T0KAPPA"), ("U0ALICE", "T0NORELEC")]
    assert con.execute("SELECT count(*) FROM meta.sync_state WHERE source = 'slack_api'").fetchone()[0] == 1
    assert wrong.returncode == 2 and "Slack refused the token" in wrong.stderr
    assert "xoxb-wrong-token-value" not in wrong.stderr + wrong.stdout and "Traceback" not in wrong.stderr

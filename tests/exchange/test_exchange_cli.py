"""`commhealth ingest exchange` as a user runs it: the password from the environment, one-line errors."""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests.exchange.conftest import MAILBOX, PASSWORD_ENV, Env, vendor_mail
from tests.test_cli import commhealth

ROOT = Path(__file__).resolve().parents[2]


def run_cli(config: Path, password: str) -> subprocess.CompletedProcess[str]:
    return commhealth("--config", str(config), "ingest", "exchange", cwd=ROOT, env={PASSWORD_ENV: password})


def test_ingest_exchange_through_the_cli(env: Env) -> None:
    env.ews.add_message(MAILBOX, "inbox", vendor_mail(1))
    config = env.write()
    assert config.source_file is not None
    ok = run_cli(config.source_file, env.ews.password)
    assert ok.returncode == 0, ok.stderr
    assert env.rows(config, "SELECT message_key, sender FROM core.messages") == [
        ("k1@kappa-offshore.in", "priya@kappa-offshore.in")
    ]
    wrong = run_cli(config.source_file, "not-the-password")
    assert wrong.returncode == 2 and "Exchange refused the credentials" in wrong.stderr
    assert "not-the-password" not in wrong.stderr + wrong.stdout and "Traceback" not in wrong.stderr
    missing = run_cli(config.source_file, "")
    assert missing.returncode == 2 and PASSWORD_ENV in missing.stderr

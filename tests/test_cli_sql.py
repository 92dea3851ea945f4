"""`commhealth sql`, as analysts meet it: a real process on the published copy, fed through a pipe or a terminal."""

from __future__ import annotations

import datetime as dt
import os
import pty
import select
import subprocess
import sys
from pathlib import Path

import pytest

from ground.config import Config, load_config
from ground.records import MessageRecord
from tests.conftest import load_records, write_config
from warehouse.session import writing

ROOT = Path(__file__).resolve().parent.parent
SENT = dt.datetime(2026, 11, 16, 9, tzinfo=dt.UTC)


def message(key: str, sender: str, subject: str) -> MessageRecord:
    return MessageRecord(
        key,
        "email",
        "mbox",
        SENT,
        f"box#{key}",
        sender=sender,
        subject=subject,
        body_full="hi",
        body_text="hi",
    )


@pytest.fixture
def config(tmp_path: Path) -> Config:
    config = load_config(write_config(tmp_path))
    with writing(config, "test") as (con, _run):
        records = [
            message("a@x", "ana@norelec.fr", "Specs, v2"),
            message("b@x", "raj@kappa-offshore.in", None),
        ]
        load_records(con, records, config.warehouse.staging_path)
    return config


def environment() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "COMMHEALTH_CONFIG" and "proxy" not in k.lower()}
    return {**env, "COLUMNS": "200", "TERM": "dumb", "NO_COLOR": "1"}


def sql(config: Config, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "commhealth", "--config", str(config.source_file), "sql", *args],
        input=stdin,
        cwd=config.source_file.parent,
        env=environment(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_piped_statements_print_a_table_each(config: Config) -> None:
    result = sql(
        config,
        stdin="SELECT sender, subject FROM core.messages ORDER BY sender;\n"
        "SELECT count(*) AS messages FROM core.messages;\n",
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert any("ana@norelec.fr" in line and "Specs, v2" in line for line in lines)
    assert any("raj@kappa-offshore.in" in line and "NULL" in line for line in lines)
    assert any("messages" in line for line in lines) and any(
        line.split() == ["│", "2", "│"] for line in lines
    )


def test_a_query_argument_with_csv_writes_every_row(config: Config) -> None:
    result = sql(config, "--csv", "SELECT sender, subject FROM core.messages ORDER BY sender")
    assert result.returncode == 0, result.stderr
    assert result.stdout == 'sender,subject\nana@norelec.fr,"Specs, v2"\nraj@kappa-offshore.in,\n'


def test_an_error_is_one_line_exit_2_and_nothing_is_written(config: Config) -> None:
    result = sql(config, stdin="SELECT * FROM core.nope;\n")
    assert result.returncode == 2 and "Traceback" not in result.stderr + result.stdout
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("error: Catalog Error: Table with name nope does not exist!")
    refused = sql(config, "DELETE FROM core.messages")
    assert refused.returncode == 2 and "read-only" in refused.stderr
    assert sql(config, "--csv", "SELECT count(*) AS n FROM core.messages").stdout == "n\n2\n"


def test_without_a_published_copy_it_says_so(tmp_path: Path) -> None:
    config = load_config(write_config(tmp_path))
    result = sql(config, "SELECT 1")
    assert result.returncode == 2
    assert (
        result.stderr.strip()
        == f"error: no published warehouse at {config.warehouse.published_path}; run an ingest first"
    )


class Terminal:
    """`commhealth sql` on a pseudo-terminal, as a person at a prompt would drive it."""

    def __init__(self, config: Config) -> None:
        self.master, replica = pty.openpty()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "commhealth", "--config", str(config.source_file), "sql"],
            stdin=replica,
            stdout=replica,
            stderr=replica,
            cwd=config.source_file.parent,
            env=environment(),
            start_new_session=True,
        )
        os.close(replica)
        self.seen = ""

    def type(self, text: str) -> None:
        os.write(self.master, text.encode())

    def read_until(self, marker: str, *, count: int = 1) -> str:
        """What the terminal shows until `marker` appeared `count` times since the last read (bounded wait)."""
        start = len(self.seen)
        while self.seen.count(marker, start) < count:
            ready, _, _ = select.select([self.master], [], [], 60)
            assert ready, f"waited for {marker!r}; the terminal shows:\n{self.seen[start:]}"
            try:
                chunk = os.read(self.master, 65536)
            except OSError:  # the process closed the terminal
                chunk = b""
            assert chunk, f"the shell ended before {marker!r}; the terminal shows:\n{self.seen[start:]}"
            self.seen += chunk.decode(errors="replace")
        return self.seen[start:]

    def close(self) -> int:
        try:
            return self.process.wait(timeout=60)
        finally:
            if self.process.poll() is None:
                self.process.kill()
            os.close(self.master)


def test_the_prompt_runs_statements_over_lines_reports_errors_and_goes_on(config: Config) -> None:
    shell = Terminal(config)
    try:
        assert "Read-only SQL on" in shell.read_until("sql> ")
        shell.type("SELECT sender\n")
        shell.read_until("...> ")
        shell.type("FROM core.messages ORDER BY 1;\n")
        assert "ana@norelec.fr" in shell.read_until("sql> ")
        shell.type("SELECT * FROM nowhere;\n")
        shown = shell.read_until("sql> ")
        assert "error: Catalog Error: Table with name nowhere does not exist!" in shown
        assert "Traceback" not in shown and "LINE 1" not in shown
        shell.type(".tables\n")
        assert "messages" in shell.read_until("sql> ")
        shell.type(".quit\n")
        assert shell.close() == 0
    finally:
        if shell.process.poll() is None:
            shell.process.kill()


def test_an_open_prompt_never_blocks_the_writer_and_ctrl_d_leaves(config: Config) -> None:
    shell = Terminal(config)
    try:
        shell.read_until("sql> ")
        shell.type("SELECT count(*) FROM core.messages;\n")
        shell.read_until("sql> ")
        # The analyst's session stays open on the published copy while a writer loads and publishes again.
        with writing(config, "test") as (con, _run):
            load_records(con, [message("c@x", "ana@norelec.fr", "Later")], config.warehouse.staging_path)
        shell.type("\x04")
        assert shell.close() == 0
    finally:
        if shell.process.poll() is None:
            shell.process.kill()
    assert sql(config, "--csv", "SELECT count(*) AS n FROM core.messages").stdout == "n\n3\n"

"""The command line as users meet it: real processes, exit codes, what they print."""

from __future__ import annotations

import importlib.metadata
import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import duckdb
import pytest

from commhealth.cli import NOTHING_INGESTED
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


def published_keys(folder: Path) -> list[str]:
    with duckdb.connect(str(folder / "warehouse.published.duckdb"), read_only=True) as con:
        return sorted(key for (key,) in con.execute("SELECT message_key FROM core.messages").fetchall())


def error_lines(result: subprocess.CompletedProcess[str]) -> list[str]:
    assert "Traceback" not in result.stderr + result.stdout
    return [line for line in result.stderr.splitlines() if line.startswith("error:")]


def write_slack_export(root: Path) -> Path:
    (root / "ext-kappa").mkdir(parents=True)
    (root / "users.json").write_text(json.dumps([{"id": "U1", "team_id": "T0KAPPA", "name": "priya"}]))
    (root / "channels.json").write_text(json.dumps([{"id": "C1", "name": "ext-kappa"}]))
    message = {"type": "message", "user": "U1", "text": "Any update?", "ts": "1763370000.000100"}
    (root / "ext-kappa" / "2026-11-17.json").write_text(json.dumps([message]))
    return root


def write_mbox(path: Path) -> Path:
    path.write_bytes(
        b"From priya@kappa-offshore.in Mon Nov 16 10:12:00 2026\n"
        b"Message-ID: <ok@kappa-offshore.in>\nDate: Mon, 16 Nov 2026 10:12:00 +0530\n"
        b"From: Priya <priya@kappa-offshore.in>\nTo: jean@norelec.fr\nSubject: Hello\n\nHi Jean\n"
    )
    return path


def test_each_bad_export_gets_one_line_and_the_others_are_still_read(config_path: Path) -> None:
    folder = config_path.parent
    (folder / "notes.txt").write_text("not an export")
    (folder / "empty").mkdir()
    good = write_slack_export(folder / "good-export")
    result = commhealth(
        "--config", str(config_path), "ingest", "slack-export", "notes.txt", "nowhere", str(good), "empty",
        cwd=folder,
    )  # fmt: skip
    assert result.returncode == 2
    lines = error_lines(result)
    assert len(lines) == 3
    assert "no such file or folder: nowhere" in lines[0]
    assert "notes.txt is not a readable zip archive" in lines[1]
    assert "empty is not a Slack export" in lines[2]
    assert published_keys(folder) == ["C1:1763370000.000100"]  # named after the bad ones, read all the same


def test_mail_ingest_that_finds_no_mail_says_where_to_look(config_path: Path) -> None:
    folder = config_path.parent
    export = write_slack_export(folder / "export")
    (folder / "empty").mkdir()
    mbox = write_mbox(folder / "box.mbox")
    result = commhealth(
        "--config", str(config_path), "ingest", "mbox", "export", "empty", str(mbox), cwd=folder
    )
    assert result.returncode == 2
    assert error_lines(result) == [
        f"error: no mail found in export: it is a Slack export; use `commhealth ingest slack-export {export.name}`",
        "error: no mail found in empty (expected mbox files, maildir folders or .eml files)",
    ]
    assert published_keys(folder) == ["ok@kappa-offshore.in"]


def test_ingest_all_accepts_a_configured_mail_folder_that_is_empty_today(config_path: Path) -> None:
    """A drop folder of the daily export may be empty on a given day: `ingest all` reads the rest, exits 0."""
    folder = config_path.parent
    (folder / "drop").mkdir()
    write_slack_export(folder / "export")
    config_path.write_text(
        config_path.read_text(encoding="utf-8")
        + '\n[sources.mbox]\npaths = ["drop"]\n[sources.slack_export]\npaths = ["export"]\n',
        encoding="utf-8",
    )
    result = commhealth("--config", str(config_path), "ingest", "all", cwd=folder)
    assert result.returncode == 0, result.stderr
    assert error_lines(result) == []


def test_build_and_status_before_any_ingest_say_what_to_do(config_path: Path) -> None:
    folder = config_path.parent
    build = commhealth("--config", str(config_path), "build", cwd=folder)
    assert build.returncode == 2
    assert error_lines(build) == [f"error: {NOTHING_INGESTED}"]
    assert not (folder / "warehouse.duckdb").exists()  # nothing made just to say so

    (folder / "empty").mkdir()
    commhealth("--config", str(config_path), "ingest", "mbox", "empty", cwd=folder)  # an empty warehouse
    status = commhealth("--config", str(config_path), "status", cwd=folder)
    assert status.returncode == 0 and f"note: {NOTHING_INGESTED}" in status.stderr
    build = commhealth("--config", str(config_path), "build", cwd=folder)
    assert build.returncode == 2 and error_lines(build) == [f"error: {NOTHING_INGESTED}"]


def test_config_tables_and_patterns_in_brackets_are_printed_as_written(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    no_section = commhealth("--config", str(config), "ingest", "slack", cwd=tmp_path)
    assert error_lines(no_section) == [
        f"error: {config}: no [sources.slack] section; see the README, Live sources"
    ]
    no_sources = commhealth("--config", str(config), "ingest", "all", cwd=tmp_path)
    assert "(see [sources.*] in the README)" in error_lines(no_sources)[0]
    bad_id = write_config(tmp_path / "bad", EXAMPLE_CONFIG.replace('id = "kappa"', 'id = "Kappa"'))
    pattern = commhealth("--config", str(bad_id), "status", cwd=tmp_path)
    assert "vendors[0].id: String should match pattern '^[a-z0-9][a-z0-9_-]*$'" in error_lines(pattern)[0]
    help_text = commhealth("ingest", "all", "--help", cwd=tmp_path).stdout
    assert "files ([sources.mbox], [sources.slack_export], [sources.teams_export])" in " ".join(
        help_text.split()
    )


def _with(text: str) -> str:
    return EXAMPLE_CONFIG + text


# (what is wrong, config text or None for no config file, arguments, exit code, what the line says)
MISTAKES = [
    ("no config", None, ["status"], 2, "config file not found (pass --config PATH"),
    ("broken TOML", "garbage = [", ["status"], 2, "not valid TOML"),
    ("bad --as-of", EXAMPLE_CONFIG, ["build", "--as-of", "soon"], 2, "--as-of 'soon': not an ISO 8601"),
    ("bad --as-of", EXAMPLE_CONFIG, ["run", "--as-of", "soon"], 2, "--as-of 'soon': not an ISO 8601"),
    (
        "missing lexicon",
        _with('[signals]\nextra_lexicon = "gone.yaml"\n'),
        ["run"],
        2,
        "gone.yaml: cannot read",
    ),
    (
        "missing lexicon",
        _with('[signals]\nextra_lexicon = "gone.yaml"\n'),
        ["build"],
        2,
        "gone.yaml: cannot read",
    ),
    ("nothing to run on", EXAMPLE_CONFIG, ["run"], 2, f"no [sources.*] configured, and {NOTHING_INGESTED}"),
    (
        "warehouse is another file",
        EXAMPLE_CONFIG.replace('path = "warehouse.duckdb"', 'path = "commhealth.toml"'),
        ["ingest", "mbox", "commhealth.toml"],
        2,
        "not a valid DuckDB database file! (see [warehouse] path)",
    ),
    ("demo over a file", None, ["demo", "--target", "notes.txt"], 2, "notes.txt is a file"),
]


@pytest.mark.parametrize(
    ("config_text", "args", "code", "says"), [m[1:] for m in MISTAKES], ids=[m[0] for m in MISTAKES]
)
def test_user_mistakes_are_one_line_without_traceback(
    tmp_path: Path, config_text: str | None, args: list[str], code: int, says: str
) -> None:
    config = tmp_path / "commhealth.toml"
    if config_text is not None:
        write_config(tmp_path, config_text)
    (tmp_path / "notes.txt").write_text("mine")
    result = commhealth("--config", str(config), *args, cwd=tmp_path)
    assert result.returncode == code
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert "Traceback" not in result.stderr + result.stdout and len(lines) == 1, result.stderr
    assert says in lines[0]


def test_demo_refuses_a_folder_it_did_not_write(tmp_path: Path) -> None:
    target = tmp_path / "work"
    (target / "mail").mkdir(parents=True)
    (target / "mail" / "inbox.mbox").write_text("precious")
    result = commhealth("demo", "--target", str(target), cwd=tmp_path)
    assert result.returncode == 2
    (line,) = error_lines(result)
    assert (
        f"{target} is not empty and was not written by `commhealth demo` (no .commhealth-demo in it)" in line
    )
    assert sorted(p.name for p in target.rglob("*")) == ["inbox.mbox", "mail"]


COMMANDS = [
    [], ["ingest"], ["ingest", "mbox"], ["ingest", "slack-export"], ["ingest", "all"], ["ingest", "slack"],
    ["ingest", "exchange"], ["ingest", "graph"], ["build"], ["run"], ["status"], ["demo"],
    ["dismiss"], ["dismiss", "alert"], ["dismiss", "item"], ["dismiss", "message"], ["dismiss", "list"],
    ["dismiss", "undo"],
]  # fmt: skip


def test_version_and_short_help_on_every_command(tmp_path: Path) -> None:
    version = commhealth("--version", cwd=tmp_path)
    assert (
        version.returncode == 0
        and version.stdout == f"commhealth {importlib.metadata.version('commhealth')}\n"
    )
    with ThreadPoolExecutor(max_workers=4) as pool:
        helps = list(pool.map(lambda args: commhealth(*args, "-h", cwd=tmp_path), COMMANDS))
    for args, result in zip(COMMANDS, helps, strict=True):
        assert result.returncode == 0, (args, result.stderr)
        assert " ".join(["Usage: python -m commhealth", *args, "[OPTIONS]"]) in result.stdout, args
        assert "Show this message and exit." in result.stdout, args

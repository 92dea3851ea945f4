"""The README's SQL examples run against a real demo warehouse, so the documented query surface stays true."""

from __future__ import annotations

import re
from pathlib import Path

import duckdb
import pytest
from rich.console import Console

from commhealth.demo_data import write_demo_dataset
from flows.ingest import configured_paths, ingest
from ground.config import load_config
from transforms.build import run_build

README = Path(__file__).resolve().parent.parent / "README.md"


def sql_statements() -> list[str]:
    statements = []
    for block in re.findall(r"```sql\n(.*?)```", README.read_text(encoding="utf-8"), re.DOTALL):
        for statement in block.split(";"):
            code = [line for line in statement.strip().splitlines() if not line.strip().startswith("--")]
            if code:
                statements.append(statement.strip())
    return statements


@pytest.fixture(scope="module")
def demo_warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    dataset = write_demo_dataset(tmp_path_factory.mktemp("readme"), weeks=2)
    config = load_config(dataset.config_path)
    quiet = Console(quiet=True)
    ingest(
        config,
        quiet,
        mail=configured_paths(config, "mbox"),
        slack_exports=configured_paths(config, "slack_export"),
    )
    run_build(config, dataset.as_of)
    return config.warehouse.published_path


def test_readme_has_sql_examples() -> None:
    assert len(sql_statements()) >= 8


@pytest.mark.parametrize("statement", sql_statements(), ids=lambda s: s.splitlines()[0][:60])
def test_readme_sql_runs(demo_warehouse: Path, statement: str) -> None:
    con = duckdb.connect(str(demo_warehouse), read_only=True)
    first_key = con.execute("SELECT conversation_key FROM core.messages LIMIT 1").fetchone()[0]
    con.execute(statement.replace("<some message id>", first_key)).fetchall()

"""`commhealth demo` end to end under the Prefect harness: a second demo in the same folder starts clean."""

from __future__ import annotations

from pathlib import Path

import duckdb
from rich.console import Console

from commhealth.demo import run_demo


def test_a_second_demo_replaces_the_first_and_prints_its_paths_as_given(tmp_path: Path) -> None:
    target = tmp_path / "demo[v2]"  # brackets that rich would take for a style tag
    run_demo(target, seed=7, console=Console(quiet=True))
    console = Console(record=True, width=300)
    run_demo(target, seed=8, console=console)

    published = target / "warehouse.published.duckdb"
    with duckdb.connect(str(published), read_only=True) as con:
        runs = con.execute("SELECT count(*) FROM meta.runs WHERE command = 'daily ingest'").fetchone()[0]
    assert runs == 1  # the first demo's warehouse went with it: one dataset, not two merged
    output = console.export_text()
    assert f"Demo dataset written to {target}/" in output
    assert f"commhealth --config {target / 'commhealth.toml'} sql" in output

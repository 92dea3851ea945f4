"""Filling the seed tables of transforms/seeds.sql with data made in Python (config, calendars, lexicon)."""

from __future__ import annotations

import duckdb
import pyarrow as pa

SEEDS = ("parties", "party_identifiers", "calendar_intervals", "signal_lexicon")


def replace_seed(con: duckdb.DuckDBPyConnection, name: str, table: pa.Table) -> int:
    """Replace the rows of marts.<name>, one of SEEDS, with `table`; returns its row count."""
    if name not in SEEDS:
        raise ValueError(f"{name!r} is not a seed table")
    view = f"commhealth_seed_{name}"
    con.register(view, table)
    try:
        con.execute(f"DELETE FROM marts.{name}")
        con.execute(f"INSERT INTO marts.{name} BY NAME SELECT * FROM {view}")
    finally:
        con.unregister(view)
    return table.num_rows

"""What users read in the terminal: ingestion summaries and query results."""

from __future__ import annotations

from pathlib import Path

import duckdb
from rich.console import Console
from rich.table import Table
from rich.text import Text

from warehouse.db import open_reader
from warehouse.load import LoadStats
from warehouse.queries import METRIC_QUERIES, STATUS_QUERIES, VENDOR_SUMMARY


def print_summary(stats: LoadStats, console: Console) -> None:
    table = Table(title="Ingestion summary", show_header=False, title_justify="left")
    table.add_column(style="bold")
    table.add_column(justify="right")
    table.add_row("messages read", f"{stats.read:,}")
    table.add_row("new", f"{stats.new:,}")
    table.add_row("already stored", f"{stats.already_stored:,}")
    table.add_row("conflicting duplicates (first kept)", f"{stats.conflicts:,}")
    table.add_row("quarantined", f"{stats.quarantined_total:,}")
    for reason, count in sorted(stats.quarantined.items()):
        table.add_row(f"  {reason}", f"{count:,}")
    for title, key in (
        ("Slack events skipped", "skipped_events"),
        ("Slack export files not read", "skipped_files"),
    ):
        counts = stats.notes.get(key)
        if isinstance(counts, dict) and counts:
            table.add_row(title, f"{sum(counts.values()):,}")
            for reason, count in sorted(counts.items()):
                table.add_row(f"  {reason}", f"{count:,}")
    console.print(table)


def result_table(columns: list[str], rows: list[tuple], title: str | None = None) -> Table:
    """Query results as a terminal table; values are shown as text, never read as rich markup."""
    table = Table(title=title, title_justify="left")
    for column in columns:
        table.add_column(column)
    for row in rows:
        table.add_row(*(Text("NULL", style="dim") if v is None else Text(str(v)) for v in row))
    return table


def show_query(con: duckdb.DuckDBPyConnection, title: str, query: str, console: Console) -> None:
    result = con.execute(query)
    console.print(result_table([d[0] for d in result.description], result.fetchall(), title))
    console.print(f"[dim]{query}[/]\n", highlight=False)


def print_status(published: Path, console: Console) -> int:
    """Show what the published warehouse holds, with the queries that tell it; returns how many messages."""
    con = open_reader(published)
    try:
        for title, query in STATUS_QUERIES:
            show_query(con, title, query, console)
        has_marts = con.execute(
            "SELECT count(*) FROM duckdb_tables() WHERE schema_name = 'marts' AND table_name = 'responses'"
        ).fetchone()[0]
        if has_marts:
            for title, query in [*METRIC_QUERIES, VENDOR_SUMMARY]:
                show_query(con, title, query, console)
        return con.execute("SELECT count(*) FROM core.messages").fetchone()[0]
    finally:
        con.close()

"""What users read in the terminal: ingestion summaries and query results."""

from __future__ import annotations

from pathlib import Path

import duckdb
from rich.console import Console
from rich.table import Table

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


def show_query(con: duckdb.DuckDBPyConnection, title: str, query: str, console: Console) -> None:
    result = con.execute(query)
    columns = [d[0] for d in result.description]
    table = Table(title=title, title_justify="left")
    for column in columns:
        table.add_column(column)
    for row in result.fetchall():
        table.add_row(*("" if v is None else str(v) for v in row))
    console.print(table)
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

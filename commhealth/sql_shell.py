"""`commhealth sql`: read-only SQL on the analysts' published copy, as a prompt, one query or a piped script.

Only the published copy is opened, read-only: a shell left open never holds the writer's file, so it never blocks
a load, and each publish replaces the file under it (reopen the shell to see the newest copy)."""

from __future__ import annotations

import contextlib
import csv
from typing import TextIO

import duckdb
from rich.console import Console
from rich.text import Text

from commhealth.report import result_table

SHOWN_ROWS = 1000  # a table stops there; --csv writes every row
CSV_BATCH = 10_000
PROMPT, CONTINUATION = "sql> ", "...> "
HELP = "End each statement with ';'. .tables lists the tables, .quit or Ctrl-D leaves."
TABLES = """SELECT schema_name AS schema, table_name AS "table", estimated_size AS rows, comment
FROM duckdb_tables() ORDER BY ALL"""


def one_line(exc: duckdb.Error) -> str:
    """DuckDB's message on one line, without the `LINE n:` excerpt and caret that follow it."""
    kept = []
    for line in str(exc).splitlines():
        if line.startswith("LINE "):
            break
        if line.strip():
            kept.append(line.strip())
    return " ".join(kept)


def run_script(
    con: duckdb.DuckDBPyConnection, text: str, console: Console, out: TextIO, *, as_csv: bool
) -> None:
    """Run each statement of `text` in turn and show what it returns; the first error is raised."""
    for statement in con.extract_statements(text):
        result = con.execute(statement)
        if result.description is None:
            continue
        columns = [d[0] for d in result.description]
        if as_csv:
            _write_csv(result, columns, out)
            continue
        rows = result.fetchmany(SHOWN_ROWS + 1)
        console.print(result_table(columns, rows[:SHOWN_ROWS]))
        if len(rows) > SHOWN_ROWS:
            console.print(f"[dim]only the first {SHOWN_ROWS:,} rows are shown: add a LIMIT, or use --csv[/]")


def _write_csv(result: duckdb.DuckDBPyConnection, columns: list[str], out: TextIO) -> None:
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    while batch := result.fetchmany(CSV_BATCH):
        writer.writerows(batch)
    out.flush()


def interactive(
    con: duckdb.DuckDBPyConnection, console: Console, err_console: Console, out: TextIO, *, as_csv: bool
) -> None:
    """A prompt: statements may span lines until a `;`; an error is one line and the prompt goes on."""
    with contextlib.suppress(ImportError):  # line editing and history for input(), where the platform has it
        import readline  # noqa: F401
    console.print(HELP, highlight=False)
    pending = ""
    while True:
        try:
            line = input(CONTINUATION if pending else PROMPT)
        except EOFError:
            console.print()
            return
        except KeyboardInterrupt:  # Ctrl-C drops the statement being typed, as in other SQL shells
            console.print()
            pending = ""
            continue
        if not pending and line.strip().startswith("."):
            command = line.strip()
            if command in (".quit", ".exit"):
                return
            if command != ".tables":
                console.print(HELP, highlight=False)
                continue
            text = TABLES
        else:
            pending += line + "\n"
            if not pending.rstrip().endswith(";"):
                pending = pending if pending.strip() else ""
                continue
            text, pending = pending, ""
        try:
            run_script(con, text, console, out, as_csv=as_csv)
        except duckdb.Error as exc:
            err_console.print(Text.assemble(("error: ", "bold red"), one_line(exc)))
        except KeyboardInterrupt:
            err_console.print("interrupted")

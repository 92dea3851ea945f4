"""Opening the warehouse: one writer at a time, migrations on open, and a published read-only copy for analysts."""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import tempfile
from collections.abc import Iterator
from importlib import resources
from pathlib import Path

import duckdb
from filelock import FileLock

MIGRATIONS_PACKAGE = "warehouse.migrations"
SQL_PACKAGE = "warehouse.sql"


class WarehouseBusyError(RuntimeError):
    """Another process holds the warehouse file."""


class WarehouseFileError(RuntimeError):
    """The warehouse path holds a file DuckDB cannot open: another kind of file, or a newer DuckDB's."""

    def __init__(self, exc: duckdb.Error) -> None:
        super().__init__(f"{str(exc).splitlines()[0]} (see [warehouse] path)")


@contextlib.contextmanager
def transaction(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """BEGIN … COMMIT, or ROLLBACK on any error. A COMMIT that fails has already ended the transaction (DuckDB
    rolls it back), so the ROLLBACK's own "no transaction is active" is dropped and the first error is raised."""
    con.execute("BEGIN TRANSACTION")
    try:
        yield
        con.execute("COMMIT")
    except BaseException:
        with contextlib.suppress(duckdb.TransactionException):
            con.execute("ROLLBACK")
        raise


def sql(name: str) -> str:
    """A statement from warehouse/sql/, by file name."""
    return resources.files(SQL_PACKAGE).joinpath(name).read_text(encoding="utf-8")


def migration_files() -> list[tuple[int, str, str]]:
    """(version, name, sql) of every numbered migration, in order."""
    found = []
    for entry in resources.files(MIGRATIONS_PACKAGE).iterdir():
        name = entry.name
        if name.endswith(".sql") and name[:3].isdigit():
            found.append((int(name[:3]), name, entry.read_text(encoding="utf-8")))
    return sorted(found)


def apply_migrations(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Apply the migrations not yet recorded in meta.schema_migrations; each in its own transaction."""
    con.execute("CREATE SCHEMA IF NOT EXISTS meta")
    con.execute(
        """
        CREATE TABLE IF NOT EXISTS meta.schema_migrations (
            version INTEGER PRIMARY KEY, name VARCHAR NOT NULL, applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
        )
        """
    )
    con.execute(
        "COMMENT ON TABLE meta.schema_migrations IS 'Numbered SQL migrations from warehouse/migrations.'"
    )
    done = {row[0] for row in con.execute("SELECT version FROM meta.schema_migrations").fetchall()}
    applied = []
    for version, name, sql in migration_files():
        if version in done:
            continue
        with transaction(con):
            comments = _comments(con)
            con.execute(sql)
            _restore_comments(con, comments)
            con.execute("INSERT INTO meta.schema_migrations (version, name) VALUES (?, ?)", [version, name])
        applied.append(name)
    return applied


_OBJECTS = """
SELECT schema_name, table_name, NULL AS column_name, comment FROM duckdb_tables() WHERE NOT temporary
UNION ALL
SELECT schema_name, table_name, column_name, comment FROM duckdb_columns() WHERE database_name <> 'temp'
"""


def _comments(con: duckdb.DuckDBPyConnection) -> dict[tuple[str, str, str | None], str | None]:
    """Every table and column, with its comment (None when it has none)."""
    return {(schema, table, column): text for schema, table, column, text in con.execute(_OBJECTS).fetchall()}


def _restore_comments(
    con: duckdb.DuckDBPyConnection, before: dict[tuple[str, str, str | None], str | None]
) -> None:
    """Comments a migration lost by rebuilding a table (DuckDB cannot drop a constraint in place) come back."""
    after = _comments(con)
    for key, text in before.items():
        if text is None or key not in after or after[key] is not None:
            continue
        schema, table, column = key
        target = f'"{schema}"."{table}"' + (f'."{column}"' if column else "")
        literal = text.replace("'", "''")
        con.execute(f"COMMENT ON {'COLUMN' if column else 'TABLE'} {target} IS '{literal}'")


def configure(
    con: duckdb.DuckDBPyConnection, memory_limit: str | None, threads: int | None, temp_dir: Path | None
) -> None:
    """Bound memory and spill to disk next to the warehouse rather than the system temp."""
    if memory_limit:
        con.execute("SET memory_limit = ?", [memory_limit])
    if threads:
        con.execute("SET threads = ?", [threads])
    if temp_dir is not None:
        con.execute("SET temp_directory = ?", [str(temp_dir)])
    con.execute("SET preserve_insertion_order = false")
    # Timestamps come back in UTC whatever the machine's zone, so numbers do not depend on where they run.
    con.execute("SET TimeZone = 'UTC'")


@contextlib.contextmanager
def open_writer(
    path: Path | str,
    *,
    memory_limit: str | None = "2GB",
    threads: int | None = None,
    temp_dir: Path | None = None,
) -> Iterator[duckdb.DuckDBPyConnection]:
    """The single read-write connection: migrates on open, checkpoints on close."""
    in_memory = str(path) == ":memory:"
    if not in_memory:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    try:
        con = duckdb.connect(str(path))
    except duckdb.IOException as exc:
        if "lock" in str(exc).lower():
            raise WarehouseBusyError(
                f"{path} is held by another process (a writer, or a reader that opened the writer's file). "
                "Analysts should open the published copy instead; retry when the other process ends."
            ) from None
        raise WarehouseFileError(exc) from None
    try:
        if temp_dir is None and not in_memory:
            temp_dir = Path(path).with_suffix(".tmp")
        configure(con, memory_limit, threads, temp_dir)
        apply_migrations(con)
        yield con
        if not in_memory:
            con.execute("CHECKPOINT")
    finally:
        con.close()


def publish_lock(published: Path | str) -> FileLock:
    """The lock every publish of this copy holds: a file beside it, released by the system if its holder
    dies."""
    dst = Path(published)
    return FileLock(dst.with_name(dst.name + ".lock"))


def publish(path: Path | str, published: Path | str) -> Path:
    """Atomically replace the analysts' read-only copy with the current (checkpointed, closed) warehouse. The
    copy gets the writer's file mode: whoever may read the warehouse may read its copy.

    Publishing runs outside the writer's lock (at the end of a flow run, of a CLI command), so publishes take
    turns under their own lock. Holding it, any temp copy found beside the copy was left by a publish that was
    killed mid-copy, and is as big as the warehouse: it is removed first.
    """
    src, dst = Path(path), Path(published)
    with publish_lock(dst):
        for stale in dst.parent.glob(glob.escape(dst.name) + ".*.tmp"):
            if stale.is_file():
                stale.unlink(missing_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=dst.name + ".", suffix=".tmp", dir=dst.parent)
        os.close(fd)
        try:
            shutil.copyfile(src, tmp_name)
            shutil.copymode(src, tmp_name)  # mkstemp made it 0600, readable by its owner only
            os.replace(tmp_name, dst)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp_name)
            raise
    return dst


def open_reader(path: Path | str) -> duckdb.DuckDBPyConnection:
    """A read-only connection, for the published copy."""
    try:
        return duckdb.connect(str(path), read_only=True)
    except duckdb.IOException as exc:
        raise WarehouseFileError(exc) from None

"""A writing session: the one writer, a meta.runs row, then (unless a caller publishes later) the analysts' copy."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import duckdb

from ground.config import Config
from warehouse.db import open_writer, publish, sql


class WarehouseOutOfMemoryError(RuntimeError):
    """A writing session needed more memory than its configured DuckDB limit."""


@dataclass
class Run:
    """What a writing command reports into meta.runs."""

    command: str
    counts: dict[str, int] = field(default_factory=dict)
    detail: dict[str, Any] = field(default_factory=dict)


@contextlib.contextmanager
def writing(
    config: Config, command: str, *, publish: bool = True, memory_setting: str = "memory_limit"
) -> Iterator[tuple[duckdb.DuckDBPyConnection, Run]]:
    """Open the warehouse for writing, record the run, then publish the read-only copy (both also when the
    session fails, so the analysts see what was committed before the failure).

    Publishing copies the whole file, so a pipeline of several sessions (the daily flow) passes
    `publish=False` and calls `publish_snapshot` once at the end. `memory_setting` names the [warehouse] key
    that bounds DuckDB (the merge has its own).
    """
    wh = config.warehouse
    run = Run(command)
    started = dt.datetime.now(dt.UTC)
    limit = getattr(wh, memory_setting)
    opened = interrupted = False
    try:
        with open_writer(wh.path, memory_limit=limit, threads=wh.threads, temp_dir=wh.temp_path) as con:
            opened = True
            status = "failed"
            try:
                yield con, run
                status = "succeeded"
            finally:
                _record_run(con, run, started, status)
    except duckdb.OutOfMemoryException as exc:
        raise WarehouseOutOfMemoryError(
            f"{command}: DuckDB ran out of memory under warehouse.{memory_setting} = {limit!r}; raise it and run "
            f"again (committed work is kept, staged parts wait). {str(exc).splitlines()[0]}"
        ) from None
    except (KeyboardInterrupt, SystemExit):
        interrupted = True
        raise
    finally:
        # Also after a failure: what was committed before it (and the failed run's row) reaches the analysts.
        # Not after Ctrl-C, which asks to stop now.
        if publish and opened and not interrupted:
            publish_snapshot(config)


def publish_snapshot(config: Config) -> None:
    """Replace the analysts' read-only copy with the warehouse as it is now (no writer may be open)."""
    publish(config.warehouse.path, config.warehouse.published_path)


def _record_run(con: duckdb.DuckDBPyConnection, run: Run, started: dt.datetime, status: str) -> None:
    counts = run.counts
    con.execute(
        sql("record_run.sql"),
        [
            str(uuid.uuid4()),
            run.command,
            started,
            dt.datetime.now(dt.UTC),
            status,
            counts.get("read"),
            counts.get("new"),
            counts.get("already_stored"),
            counts.get("conflicts"),
            counts.get("quarantined"),
            json.dumps(run.detail, default=str),
        ],
    )

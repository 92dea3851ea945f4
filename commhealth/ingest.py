"""File ingestion: a connector's records, classified by party, through the single writer."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator
from pathlib import Path

import duckdb
from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
)

from commhealth.config import Config
from commhealth.parties import PartyResolver
from commhealth.records import MessageRecord, QuarantineRecord
from connectors.mail import read_mail, total_bytes
from connectors.slack_export import SlackExport
from warehouse.load import Loader, LoadStats, sql
from warehouse.session import writing

Record = MessageRecord | QuarantineRecord


def _progress(console: Console, *, bytes_total: bool) -> Progress:
    counter = DownloadColumn() if bytes_total else MofNCompleteColumn()
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        counter,
        TimeRemainingColumn(),
        console=console,
        transient=True,
        disable=not console.is_terminal,
    )


def _classified(records: Iterable[Record], resolver: PartyResolver) -> Iterator[Record]:
    for record in records:
        yield resolver.classify(record) if isinstance(record, MessageRecord) else record


def load_mail(
    con: duckdb.DuckDBPyConnection, config: Config, paths: list[Path], console: Console, source: str = "mbox"
) -> LoadStats:
    """Read mbox files, maildirs and .eml files into core.messages on an open writer."""
    resolver = PartyResolver(config)
    loader = Loader(con, store_bodies=config.warehouse.store_bodies, batch_size=config.warehouse.batch_size)
    with _progress(console, bytes_total=True) as progress:
        task = progress.add_task("Reading mail", total=total_bytes(paths))
        records = read_mail(paths, source=source, on_bytes=lambda n: progress.advance(task, n))
        loader.add_all(_classified(records, resolver))
    return loader.finish()


def load_slack_export(
    con: duckdb.DuckDBPyConnection, config: Config, path: Path, console: Console
) -> LoadStats:
    """Read one Slack export (folder or .zip): its users, channels and messages."""
    resolver = PartyResolver(config)
    loader = Loader(con, store_bodies=config.warehouse.store_bodies, batch_size=config.warehouse.batch_size)
    now = dt.datetime.now(dt.UTC)
    with SlackExport(path) as export:
        con.executemany(
            sql("upsert_slack_users.sql"),
            [
                [u.user_id, u.team_id, u.name, u.real_name, u.email, u.is_bot, "slack_export", u.raw_ref, now]
                for u in export.users
            ],
        )
        con.executemany(
            sql("upsert_slack_channels.sql"),
            [
                [
                    c.channel_id,
                    c.name,
                    c.is_shared,
                    resolver.channel_vendor(c.channel_id, c.name),
                    "slack_export",
                    c.raw_ref,
                    now,
                ]
                for c in export.channels
            ],
        )
        with _progress(console, bytes_total=False) as progress:
            task = progress.add_task("Reading Slack export", total=export.total_files())
            records = export.messages(on_file=lambda: progress.advance(task))
            loader.add_all(_classified(records, resolver))
        stats = loader.finish()
        stats.notes.update(export.stats)
    return stats


def ingest(
    config: Config, console: Console, *, mail: list[Path] = (), slack_exports: list[Path] = ()
) -> LoadStats:
    """One writing session over mail paths and Slack exports; the read-only copy is published at the end."""
    names = (["mbox"] if mail else []) + (["slack-export"] if slack_exports else [])
    with writing(config, "ingest " + " ".join(names)) as (con, run):
        total = LoadStats()
        if mail:
            total.merge(load_mail(con, config, list(mail), console))
        for path in slack_exports:
            total.merge(load_slack_export(con, config, path, console))
        run.counts = total.counts()
        run.detail = total.as_dict()
    return total


def configured_paths(config: Config, source: str) -> list[Path]:
    """The paths of a file source in commhealth.toml ([sources.mbox] or [sources.slack_export])."""
    return [Path(p) for p in config.sources.get(source, {}).get("paths", [])]

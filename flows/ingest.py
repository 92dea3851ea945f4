"""Ingestion: connectors' records staged as Parquet parts, merged by the single writer."""

from __future__ import annotations

import collections
import contextlib
import dataclasses
import datetime as dt
import importlib
import logging
import os
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import duckdb
import pyarrow as pa
from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
)

from connectors.mail import read_mail, total_bytes
from connectors.mail import settings as mail_settings
from connectors.slack_export import SlackExport, SlackExportError, is_slack_export
from connectors.slack_export import settings as slack_export_settings
from connectors.slack_export.parse import SlackChannelRecord, SlackUserRecord
from connectors.teams import read_teams_files
from connectors.teams import settings as teams_settings
from ground.config import Config, ExchangeSource, GraphApp, SlackSource
from ground.records import MessageRecord, QuarantineRecord
from ground.secrets import mask_secrets, require_secret
from warehouse.db import open_reader
from warehouse.load import BackgroundMerge, LoadStats, merge_staged
from warehouse.session import writing
from warehouse.staging import (
    SLACK_CHANNEL_SCHEMA,
    SLACK_CHANNELS,
    SLACK_USER_SCHEMA,
    SLACK_USERS,
    SOURCE_READ_SCHEMA,
    SOURCE_READS,
    CursorStore,
    Part,
    StagingWriter,
    rows_table,
    staged_parts,
)

Record = MessageRecord | QuarantineRecord
OnPart = Callable[[Part], None] | None
SLACK_EXPORT_SOURCE = slack_export_settings.DEFAULT_SOURCE
_ERROR_CHARS = 300
log = logging.getLogger(__name__)


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


class StagingSink:
    """What a live connector writes to: records, directory tables, cursors, and which partitions it read.

    Records and cursors are staged in order, so a cursor is stored only with the records before it; the single
    writer merges them later (or meanwhile: `on_part` hands each written part to a merge). No warehouse
    connection is needed, so connectors can run anywhere. Reads are staged when the sink is closed, each stamped
    with the time the sink was opened: a run's reads and the failure that ended it carry the same time.
    """

    def __init__(self, config: Config, partition: str, on_part: OnPart = None) -> None:
        self.read_at = dt.datetime.now(dt.UTC)
        self._reads: dict[tuple[str, str], dict[str, object]] = {}
        self._current: Newest | None = None  # the read in progress, whose newest message add() follows
        self._secrets: list[str] = []
        wh = config.warehouse
        self.writer = StagingWriter(
            wh.staging_path,
            partition,
            store_bodies=wh.store_bodies,
            batch_size=wh.batch_size,
            on_part=on_part,
        )
        self.cursors = CursorStore(self.writer, config.warehouse.published_path)
        self._published = config.warehouse.published_path

    def add(self, record: Record) -> None:
        if isinstance(record, MessageRecord) and self._current is not None:
            self._current.see(record.sent_at)
        self.writer.add(record)

    def add_all(self, records: Iterable[Record]) -> None:
        for record in records:
            self.add(record)

    def add_slack_users(self, users: Iterable[SlackUserRecord], source: str) -> None:
        rows = [{**_fields(user, SLACK_USER_SCHEMA), "source": source} for user in users]
        if rows:
            self.writer.add_table(SLACK_USERS, rows_table(rows, SLACK_USER_SCHEMA))

    def add_slack_channels(
        self, channels: Iterable[SlackChannelRecord], source: str, raw_ref: str | None = None
    ) -> None:
        """Channel rows; `raw_ref` (where they were read) replaces each record's own when given."""
        rows = [
            {**_fields(channel, SLACK_CHANNEL_SCHEMA), "source": source}
            | ({"raw_ref": raw_ref} if raw_ref else {})
            for channel in channels
        ]
        if rows:
            self.writer.add_table(SLACK_CHANNELS, rows_table(rows, SLACK_CHANNEL_SCHEMA))

    def known_slack_users(self) -> dict[str, SlackUserRecord]:
        """The Slack users already in the warehouse (its read-only published copy), by user id, so that a
        connector asks Slack only for the others; none when that copy cannot be read."""
        if not self._published.is_file():
            return {}
        try:
            con = open_reader(self._published)
        except duckdb.Error:
            log.warning(
                "cannot open %s to read known Slack users; asking Slack for everyone", self._published
            )
            return {}
        try:
            rows = con.execute(
                "SELECT user_id, team_id, name, real_name, email, is_bot, raw_ref FROM raw.slack_users"
            ).fetchall()
        except duckdb.Error:
            return {}
        finally:
            con.close()
        return {
            user_id: SlackUserRecord(user_id, team_id, name, real_name, email, bool(is_bot), raw_ref)
            for user_id, team_id, name, real_name, email, is_bot, raw_ref in rows
        }

    def cursor(self, source: str, partition: str) -> str | None:
        return self.cursors.get(source, partition)

    def checkpoint(self, source: str, partition: str, cursor: str | None) -> None:
        self.cursors.set(source, partition, cursor)

    @contextlib.contextmanager
    def reading(self, source: str, partition: str, name: str | None = None) -> Iterator[None]:
        """Reading one partition from start to end: recorded as read when the block ends, as failed (with the
        error's first line) when it raises, with the newest message added meanwhile."""
        self._current = newest = Newest()
        try:
            yield
        except Exception as exc:
            self.record_read(source, partition, name=name, error=exc)
            raise
        else:
            self.record_read(source, partition, name=name, newest=newest.at)
        finally:
            self._current = None

    def record_read(
        self,
        source: str,
        partition: str,
        *,
        name: str | None = None,
        newest: dt.datetime | None = None,
        error: BaseException | str | None = None,
    ) -> None:
        """A partition read to the end (`error` None) or not, with the newest message time it gave."""
        self._reads[(source, partition)] = {
            "source": source,
            "partition_key": partition,
            "partition_name": name,
            "read_at": self.read_at,
            "error": None if error is None else self._error_line(error),
            "newest_sent_at": newest,
        }

    def finish_reads(
        self, source: str, partitions: Iterable[str], error: BaseException | None = None
    ) -> None:
        """After a whole extraction: the `partitions` it was to read that no read recorded yet are recorded as
        read, or, when `error` stopped it, as failed with that error."""
        for partition in partitions:
            if (source, partition) not in self._reads:
                self.record_read(source, partition, error=error)

    def hide(self, secret: str) -> None:
        """A secret that recorded errors must never show."""
        self._secrets.append(secret)

    def _error_line(self, error: BaseException | str) -> str:
        text = str(error).strip() or type(error).__name__
        line = mask_secrets(text.splitlines()[0], self._secrets)
        return line if len(line) <= _ERROR_CHARS else line[: _ERROR_CHARS - 1] + "…"

    def close(self) -> list[Part]:
        if self._reads:
            self.writer.flush()  # the records first: a read is merged after what it gave
            self.writer.add_table(SOURCE_READS, rows_table(list(self._reads.values()), SOURCE_READ_SCHEMA))
            self._reads.clear()
        return self.writer.close()


@dataclasses.dataclass
class Newest:
    """The newest message time seen so far."""

    at: dt.datetime | None = None

    def see(self, sent_at: dt.datetime) -> None:
        if self.at is None or sent_at > self.at:
            self.at = sent_at


PATHS_WITHOUT_MAIL = "paths_without_mail"


def stage_mail(
    config: Config, paths: list[Path], console: Console, source: str = "mbox", on_part: OnPart = None
) -> dict[str, object]:
    """Read mbox files, maildirs and .eml files into staged parts; returns the connector's notes: the given
    paths in which no message was found (a Slack export or an empty folder, say), if any."""
    sink = StagingSink(config, source, on_part)
    size = total_bytes(paths)
    # Worker processes only repay their start on a large read (a backfill, an archive), not on a daily file.
    processes = config.warehouse.parse_processes or os.cpu_count() or 1
    processes = processes if size >= mail_settings.PARSE_PROCESSES_MIN_BYTES else 1
    if processes > 1:
        console.print(f"Parsing {size / 1e6:,.0f} MB of mail in {processes} processes")
    without_mail = []
    try:
        with _progress(console, bytes_total=True) as progress:
            task = progress.add_task("Reading mail", total=size)
            for path in paths:
                found = 0
                try:
                    with sink.reading(source, str(path)):  # re-read whole each time: a read to its end
                        for record in read_mail(
                            [path],
                            source=source,
                            on_bytes=lambda n: progress.advance(task, n),
                            processes=processes,
                        ):
                            sink.add(record)
                            found += isinstance(record, MessageRecord)
                            if _unreadable(record, path):
                                raise _UnreadablePath(f"cannot read {path}: {record.excerpt}")
                except _UnreadablePath:
                    pass  # a failed read of the path (its quarantine row says why); the other paths go on
                if not found:
                    without_mail.append(str(path))
    except Exception as exc:
        sink.finish_reads(source, [str(path) for path in paths], exc)
        raise
    finally:
        sink.close()  # what was read before a failure stays staged, with the failure
    return {PATHS_WITHOUT_MAIL: without_mail} if without_mail else {}


class _UnreadablePath(Exception):
    """A configured mail path that could not be opened (a share unmounted, a file removed)."""


def _unreadable(record: Record, path: Path) -> bool:
    """Whether `record` says the path itself could not be opened (not a file inside a folder)."""
    return (
        isinstance(record, QuarantineRecord)
        and record.reason == mail_settings.REASON_UNREADABLE_FILE
        and record.raw_ref == str(path)
    )


def no_mail_problem(path: Path) -> str:
    """What to tell a user who gave a path without any mail in it."""
    if is_slack_export(path):
        return f"no mail found in {path}: it is a Slack export; use `commhealth ingest slack-export {path}`"
    return f"no mail found in {path} (expected mbox files, maildir folders or .eml files)"


def stage_slack_export(
    config: Config, path: Path, console: Console, on_part: OnPart = None
) -> dict[str, object]:
    """Read one Slack export (folder or .zip): its users, channels and messages, into staged parts; each of its
    channels is recorded as read, with its newest message."""
    sink = StagingSink(config, f"slack_export-{path.name}", on_part)
    names: dict[str, str | None] = {}
    try:
        with SlackExport(path) as export:
            sink.add_slack_users(export.users, export.source)
            sink.add_slack_channels(export.channels, export.source)
            names.update({c.channel_id: c.name for c in export.channels})
            newest: dict[str, Newest] = {channel_id: Newest() for channel_id in names}
            with _progress(console, bytes_total=False) as progress:
                task = progress.add_task("Reading Slack export", total=export.total_files())
                for record in export.messages(on_file=lambda: progress.advance(task)):
                    if isinstance(record, MessageRecord) and record.slack_channel_id:
                        newest.setdefault(record.slack_channel_id, Newest()).see(record.sent_at)
                        names.setdefault(record.slack_channel_id, record.slack_channel_name)
                    sink.add(record)
            for channel_id, seen in newest.items():
                sink.record_read(export.source, channel_id, name=names.get(channel_id), newest=seen.at)
            return dict(export.stats)
    except Exception as exc:
        # An export read part way is a failed read of each of its channels: the digest says so instead of judging
        # on part of it. One that is no export at all is the caller's problem line, not a failed source.
        if names:
            sink.finish_reads(SLACK_EXPORT_SOURCE, list(names), exc)
        raise
    finally:
        sink.close()  # what was read before a failure stays staged, with the failure


def stage_teams_files(
    config: Config, paths: list[Path], console: Console, on_part: OnPart = None
) -> dict[str, object]:
    """Read saved Teams export answers (JSON files or folders of them) into staged parts, each path recorded as
    read with its newest message; returns the connector's notes: the items skipped, by reason."""
    sink = StagingSink(config, teams_settings.SOURCE_FILES, on_part)
    skipped: collections.Counter[str] = collections.Counter()
    try:
        with _progress(console, bytes_total=False) as progress:
            task = progress.add_task("Reading saved Teams messages", total=len(paths))
            for path in paths:
                with sink.reading(teams_settings.SOURCE_FILES, str(path)):
                    for record in read_teams_files([path]):
                        if isinstance(record, str):
                            skipped[record] += 1
                        else:
                            sink.add(record)
                progress.advance(task)
    except Exception as exc:
        sink.finish_reads(teams_settings.SOURCE_FILES, [str(path) for path in paths], exc)
        raise
    finally:
        sink.close()  # what was read before a failure stays staged, with the failure
    return {"teams_export_skipped": dict(skipped)} if skipped else {}


def _fields(obj: object, schema: pa.Schema) -> dict[str, object]:
    return {name: getattr(obj, name, None) for name in schema.names}


def ingest(
    config: Config,
    console: Console,
    *,
    mail: list[Path] = (),
    slack_exports: list[Path] = (),
    teams_files: list[Path] = (),
    live: list[str] = (),
    publish: bool = True,
    empty_mail_is_a_problem: bool = True,
) -> LoadStats:
    """Stage every input while the single writer merges each part as soon as it is written (leftovers of
    interrupted runs first); the read-only copy is published at the end unless the caller publishes later.

    A file input that gives nothing (not a Slack export, no mail in it) does not stop the others: one line per
    such input is in the result's `problems`. A configured mail folder may well be empty on a given day, so
    `ingest all` passes `empty_mail_is_a_problem=False` (the summary still counts such paths). If a live source fails, what was staged so far (its own pages
    included) is still merged, then the error is raised: the next run resumes from the stored cursors. An
    interrupt (Ctrl-C) stops after the transaction under way; staged parts wait for the next run.
    """
    extractions = plan(config, mail=mail, slack_exports=slack_exports, teams_files=teams_files, live=live)
    notes: list[dict[str, object]] = []
    problems: list[str] = []
    staging = config.warehouse.staging_path
    command = "ingest " + " ".join(dict.fromkeys(e.source.replace("_", "-") for e in extractions))
    with writing(config, command, publish=publish, memory_setting="merge_memory_limit") as (con, run):
        merger = BackgroundMerge(con, leftovers=staged_parts(staging))
        drain = True
        try:
            for extraction in extractions:
                try:
                    note = extract(config, extraction, console, on_part=merger.submit)
                except SlackExportError as exc:  # not an export: a line for the user, the other inputs go on
                    problems.append(str(exc))
                    continue
                if empty_mail_is_a_problem:
                    problems += [no_mail_problem(Path(p)) for p in note.get(PATHS_WITHOUT_MAIL, [])]
                notes.append(note)
        except (KeyboardInterrupt, SystemExit):
            drain = False
            raise
        finally:
            stats = merger.finish(drain=drain)
            if drain:
                stats.merge(merge_staged(con, staging))  # parts other processes staged meanwhile
            for note in notes:
                stats.merge(LoadStats(notes=note))
            stats.problems += problems
            run.counts = stats.counts()
            run.detail = stats.as_dict()
    return stats


def merge(
    config: Config, notes: Iterable[dict[str, object]] = (), command: str = "ingest", *, publish: bool = True
) -> LoadStats:
    """The single writer: merge every staged part (leftovers of interrupted runs too), then publish unless
    the caller publishes later. Merging streams batch by batch, so it runs under the smaller memory limit."""
    wh = config.warehouse
    with writing(config, command, publish=publish, memory_setting="merge_memory_limit") as (con, run):
        stats = merge_staged(con, wh.staging_path)
        for note in notes:
            stats.merge(LoadStats(notes=note))
        run.counts = stats.counts()
        run.detail = stats.as_dict()
    return stats


def configured_paths(config: Config, source: str) -> list[Path]:
    """The paths of a file source in commhealth.toml ([sources.mbox], [sources.slack_export] or
    [sources.teams_export])."""
    file_source = getattr(config.sources, source)
    return list(file_source.paths) if file_source else []


# The connector of each live source, with `extract_<source>`, `partitions` and `SOURCE` in it. Importing one imports its client libraries
# (slack_sdk; exchangelib and requests; msal and httpx), so it is only done for configured sources.
LIVE_CONNECTORS = {
    "slack": "connectors.slack.history",
    "exchange": "connectors.exchange",
    "graph": "connectors.graph",
    "teams": "connectors.teams.live",
}
LIVE_SOURCES = tuple(LIVE_CONNECTORS)
FILE_SOURCES = ("mbox", "slack_export", "teams_export")
MAILBOX_SOURCES = ("exchange", "graph")  # sources whose work splits by mailbox


@dataclasses.dataclass(frozen=True)
class Extraction:
    """One unit of extraction work, which `extract` runs: a source and what of it to read. Every mail path goes
    in one (one progress bar), as do all saved Teams answers; each Slack export in its own, each live source in
    its own."""

    source: str  # a key of EXTRACTORS
    paths: tuple[Path, ...] = ()  # file sources: what to read
    mailboxes: tuple[str, ...] | None = None  # exchange, graph: only these of the configured mailboxes

    @property
    def label(self) -> str:
        """How a person names it: "mbox", "slack_export /exports/acme.zip", "graph"."""
        return (
            " ".join([self.source, *map(str, self.paths)]) if self.source == "slack_export" else self.source
        )

    @property
    def over_network(self) -> bool:
        """Whether it talks to a server (worth a retry when the network fails)."""
        return self.source in LIVE_SOURCES


def plan(
    config: Config,
    *,
    mail: Iterable[Path] = (),
    slack_exports: Iterable[Path] = (),
    teams_files: Iterable[Path] = (),
    live: Iterable[str] = (),
    mailboxes: Iterable[str] | None = None,
) -> list[Extraction]:
    """The extractions that read these inputs: mail paths, Slack exports, live sources (Exchange and Graph limited
    to `mailboxes` when given, checked against the config)."""
    found = [Extraction("mbox", tuple(mail))] if mail else []
    found += [Extraction("slack_export", (Path(path),)) for path in slack_exports]
    teams_files = tuple(map(Path, teams_files))
    found += [Extraction("teams_export", teams_files)] if teams_files else []
    for name in live:
        if mailboxes is not None and name in MAILBOX_SOURCES:
            chosen = with_mailboxes(config, name, list(mailboxes)).sources
            found.append(Extraction(name, mailboxes=tuple(getattr(chosen, name).mailboxes)))
        else:
            found.append(Extraction(name))
    return found


def configured_plan(
    config: Config, names: Iterable[str] | None = None, mailboxes: Iterable[str] | None = None
) -> list[Extraction]:
    """The extractions of the configured sources: `names` (checked against the configuration), or every one."""
    chosen = selected_sources(config, names)
    return plan(
        config,
        mail=configured_paths(config, "mbox") if "mbox" in chosen else (),
        slack_exports=configured_paths(config, "slack_export") if "slack_export" in chosen else (),
        teams_files=configured_paths(config, "teams_export") if "teams_export" in chosen else (),
        live=[name for name in chosen if name in LIVE_SOURCES],
        mailboxes=mailboxes,
    )


def extract(
    config: Config, extraction: Extraction, console: Console, on_part: OnPart = None
) -> dict[str, object]:
    """Run one extraction into staged parts (no warehouse access); returns the connector's notes."""
    return EXTRACTORS[extraction.source](config, extraction, console, on_part)


def _extract_mail(
    config: Config, extraction: Extraction, console: Console, on_part: OnPart
) -> dict[str, object]:
    return stage_mail(config, list(extraction.paths), console, on_part=on_part)


def _extract_slack_export(
    config: Config, extraction: Extraction, console: Console, on_part: OnPart
) -> dict[str, object]:
    (path,) = extraction.paths
    return stage_slack_export(config, path, console, on_part=on_part)


def _extract_teams_files(
    config: Config, extraction: Extraction, console: Console, on_part: OnPart
) -> dict[str, object]:
    return stage_teams_files(config, list(extraction.paths), console, on_part=on_part)


def _extract_live(
    config: Config, extraction: Extraction, console: Console, on_part: OnPart
) -> dict[str, object]:
    del console  # live sources log; they have no progress bar
    if extraction.mailboxes is not None:
        config = with_mailboxes(config, extraction.source, list(extraction.mailboxes))
    return stage_live(config, extraction.source, on_part)


# How each source is extracted: the only place that tells them apart.
EXTRACTORS: dict[str, Callable[[Config, Extraction, Console, OnPart], dict[str, object]]] = {
    "mbox": _extract_mail,
    "slack_export": _extract_slack_export,
    "teams_export": _extract_teams_files,
    **dict.fromkeys(LIVE_SOURCES, _extract_live),
}


def configured_live_sources(config: Config) -> list[str]:
    """The live sources configured in [sources.slack], [sources.exchange], [sources.graph] and [sources.teams]."""
    return [name for name in LIVE_SOURCES if getattr(config.sources, name) is not None]


def selected_sources(config: Config, names: Iterable[str] | None) -> list[str]:
    """The sources to extract: `names` checked against the configuration, or every configured one (None)."""
    configured = [n for n in FILE_SOURCES if configured_paths(config, n)] + configured_live_sources(config)
    if names is None:
        return configured
    unknown = [n for n in names if n not in configured]
    if unknown:
        raise ValueError(
            f"{config.source_file}: source(s) {', '.join(unknown)} not configured; configured: "
            f"{', '.join(configured) or 'none'}"
        )
    return list(dict.fromkeys(names))


def with_mailboxes(config: Config, name: str, mailboxes: list[str]) -> Config:
    """The config with [sources.<name>] limited to some of its mailboxes, so extraction can be split by mailbox
    between workers (each mailbox keeps its own cursors)."""
    source = getattr(config.sources, name) if name in MAILBOX_SOURCES else None
    if source is None:
        raise ValueError(
            f"{config.source_file}: only {' and '.join(MAILBOX_SOURCES)} split by mailbox, not {name}"
        )
    configured = {m.lower(): m for m in source.mailboxes}
    unknown = [m for m in mailboxes if m.lower() not in configured]
    if unknown or not mailboxes:
        raise ValueError(
            f"{config.source_file}: mailbox(es) {', '.join(unknown) or '(none given)'} not in [sources.{name}] "
            f"mailboxes ({', '.join(source.mailboxes)})"
        )
    chosen = list(dict.fromkeys(configured[m.lower()] for m in mailboxes))
    sources = config.sources.model_copy(update={name: source.model_copy(update={"mailboxes": chosen})})
    return config.model_copy(update={"sources": sources})


def import_connectors(names: Iterable[str]) -> None:
    """Import the connectors of these sources now, in this thread. Threads that import the same libraries at
    the same time can see a module the other is still initialising ("partially initialized module
    'requests.adapters'"), so a flow does this before it fans extraction out."""
    for name in names:
        if name in LIVE_CONNECTORS:
            importlib.import_module(LIVE_CONNECTORS[name])


def _live_secret(name: str, source: SlackSource | ExchangeSource | GraphApp) -> str:
    if name == "slack":
        return require_secret(source.token_env, source.token_secret_block, "the Slack token")
    if name == "exchange" and source.auth != "oauth2":
        return require_secret(source.password_env, source.password_secret_block, "the Exchange password")
    what = "the Exchange client secret" if name == "exchange" else "the Graph client secret"
    return require_secret(source.client_secret_env, source.client_secret_secret_block, what)


def stage_live(config: Config, name: str, on_part: OnPart = None) -> dict[str, object]:
    """Pull what is new from one live source into staged parts; the writer merges them later."""
    source = getattr(config.sources, name)
    if source is None:
        raise ValueError(f"{config.source_file}: no [sources.{name}] section")
    connector = importlib.import_module(LIVE_CONNECTORS[name])
    sink = StagingSink(config, name, on_part)
    # The connector records each partition it reads; these are the ones a failure leaves unread.
    partitions = connector.partitions(source)
    try:
        secret = _live_secret(name, source)
        sink.hide(secret)
        notes = getattr(connector, f"extract_{name}")(config, source, secret, sink)
    except Exception as exc:
        sink.finish_reads(connector.SOURCE, partitions, exc)
        raise
    else:
        sink.finish_reads(connector.SOURCE, partitions)
    finally:
        sink.close()  # what was read before a failure stays staged, with its cursor and the failure
    return {name: notes}

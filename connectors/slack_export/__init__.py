"""Slack export connector: reads a standard Slack export (folder or .zip) as message and quarantine records.

Usage::

    with SlackExport("export.zip") as export:
        users, channels = export.users, export.channels
        for record in export.messages(on_file=progress.advance):
            ...
        print(export.stats)
"""

from __future__ import annotations

import datetime as dt
import json
import os
import zipfile
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from types import TracebackType
from typing import Any, Protocol, Self

from commhealth.records import FLAG_UNKNOWN_CHANNEL, MessageRecord, QuarantineRecord

from . import settings as s
from .parse import (
    Conversation,
    Directory,
    SlackChannelRecord,
    SlackUserRecord,
    group_by_id,
    parse_channels,
    parse_message,
    parse_users,
    safe_excerpt,
    skip_reason,
)

__all__ = ["SlackChannelRecord", "SlackExport", "SlackExportError", "SlackUserRecord"]

# Errors reading one member of an otherwise readable zip (bad CRC, bad deflate data, encryption, truncation).
_READ_ERRORS = (
    OSError,
    zipfile.BadZipFile,
    zlib.error,
    RuntimeError,
    ValueError,
    EOFError,
    NotImplementedError,
)


class SlackExportError(Exception):
    """The path is missing, unreadable, or not a Slack export; the message says which."""


class _Files(Protocol):
    def names(self) -> list[str]: ...
    def read(self, name: str) -> bytes: ...
    def close(self) -> None: ...


class _FolderFiles:
    def __init__(self, root: Path) -> None:
        self._root = root

    def names(self) -> list[str]:
        found = []
        for folder, _, files in os.walk(self._root):
            rel = Path(folder).relative_to(self._root)
            found.extend((rel / name).as_posix() for name in files)
        return found

    def read(self, name: str) -> bytes:
        return (self._root / name).read_bytes()

    def close(self) -> None:
        pass


class _ZipFiles:
    def __init__(self, path: Path) -> None:
        try:
            self._zip = zipfile.ZipFile(path)
        except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError) as exc:
            raise SlackExportError(
                f"{path} is not a readable zip archive ({exc}); a Slack export must be a folder or a .zip"
            ) from exc
        # Zips made on Windows may use backslashes; paths are compared with "/".
        self._infos = {
            info.filename.replace("\\", "/").lstrip("/"): info
            for info in self._zip.infolist()
            if not info.is_dir()
        }

    def names(self) -> list[str]:
        return list(self._infos)

    def read(self, name: str) -> bytes:
        return self._zip.read(self._infos[name])

    def close(self) -> None:
        self._zip.close()


def _is_day_file(name: str) -> bool:
    match = s.DAY_FILE_RE.match(name)
    if match is None:
        return False
    try:
        dt.date(*(int(part) for part in match.groups()))
    except ValueError:
        return False
    return True


def _export_prefix(names: list[str]) -> str:
    """Where the export starts: "" normally, "Wrapper/" when the whole export sits in one top folder."""
    present = set(names)
    if s.USERS_FILE in present or "channels.json" in present:
        return ""
    relevant = [n for n in names if n.split("/", 1)[0] not in s.IGNORED_TOP_FOLDERS]
    tops = {n.split("/", 1)[0] for n in relevant}
    if len(tops) == 1 and all("/" in n for n in relevant):
        top = tops.pop()
        if f"{top}/{s.USERS_FILE}" in present or f"{top}/channels.json" in present:
            return f"{top}/"
    return ""


class SlackExport:
    """A Slack export folder or .zip, read one day file at a time.

    `users` and `channels` come from users.json and channels/groups/mpims/dms.json; problems found in those
    files are in `directory_problems` and are also yielded first by `messages()`. `stats` holds the counts
    of the last `messages()` run for the caller's summary.
    """

    def __init__(self, path: str | Path, source: str = s.DEFAULT_SOURCE) -> None:
        self.path = Path(path)
        self.source = source
        # raw_ref names the export as given, then the file in it: quarantine rows are unique on
        # (source, raw_ref, reason), so two exports with a bad message at the same place stay two rows.
        self._ref_root = self.path.as_posix().rstrip("/") + "/"
        if not self.path.exists():
            raise SlackExportError(f"Slack export not found: {self.path}")
        if self.path.is_dir():
            self._files: _Files = _FolderFiles(self.path)
        elif self.path.is_file():
            self._files = _ZipFiles(self.path)
        else:
            raise SlackExportError(f"{self.path} is neither a folder nor a .zip file")
        self._closed = False
        try:
            self._scan()
            self._read_directory()
        except BaseException:
            self.close()
            raise

    # --- layout and directory ----------------------------------------------------------------------------

    def _scan(self) -> None:
        try:
            names = sorted(self._files.names())
        except OSError as exc:
            raise SlackExportError(f"cannot list the files of {self.path}: {exc}") from exc
        prefix = _export_prefix(names)
        self._directory_files: dict[str, str] = {}
        self._folders: dict[str, list[str]] = {}
        ignored_root = skipped_non_day = 0
        for name in names:
            rel = name[len(prefix) :] if name.startswith(prefix) else None
            parts = rel.split("/") if rel else []
            if len(parts) == 1 and parts[0] in s.DIRECTORY_FILES:
                self._directory_files[parts[0]] = name
            elif len(parts) < 2 or parts[0] in s.IGNORED_TOP_FOLDERS:
                ignored_root += 1
            elif len(parts) == 2 and _is_day_file(parts[1]):
                self._folders.setdefault(parts[0], []).append(name)
            else:
                skipped_non_day += 1
        has_directory = s.USERS_FILE in self._directory_files or "channels.json" in self._directory_files
        if not has_directory and not self._folders:
            raise SlackExportError(
                f"{self.path} is not a Slack export: it has no users.json, no channels.json and no "
                "conversation folder with YYYY-MM-DD.json day files"
            )
        self._day_files = [
            (folder, name) for folder in sorted(self._folders) for name in self._folders[folder]
        ]
        self._layout_stats: dict[str, Any] = {
            "day_files": len(self._day_files),
            "conversations": len(self._folders),
            "skipped_non_day_files": skipped_non_day,
            "ignored_root_files": ignored_root,
        }

    def _ref(self, name: str) -> str:
        """Where a file of the export is, for raw_ref: the export, then the file's name inside it."""
        return self._ref_root + name

    def _load_json(self, name: str) -> tuple[Any, QuarantineRecord | None]:
        """The parsed content of one file, or a quarantine record saying why it has none."""
        ref = self._ref(name)
        try:
            data = self._files.read(name)
        except _READ_ERRORS as exc:
            return None, QuarantineRecord(
                self.source, ref, s.Q_UNREADABLE_FILE, f"{type(exc).__name__}: {exc}"
            )
        if not data.strip():
            return None, QuarantineRecord(self.source, ref, s.Q_EMPTY_FILE)
        try:
            return json.loads(data), None
        except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
            return None, QuarantineRecord(self.source, ref, s.Q_INVALID_JSON, data)

    def _read_directory(self) -> None:
        self.directory_problems: list[QuarantineRecord] = []
        self.users: list[SlackUserRecord] = []
        self.channels: list[SlackChannelRecord] = []
        if s.USERS_FILE in self._directory_files:
            data, problem = self._load_json(self._directory_files[s.USERS_FILE])
            if problem is None:
                ref = self._ref(self._directory_files[s.USERS_FILE])
                self.users, problems = parse_users(data, ref, self.source)
                self.directory_problems.extend(problems)
            else:
                self.directory_problems.append(problem)
        for file_name in s.CHANNEL_DIRECTORY_FILES:
            if file_name not in self._directory_files:
                continue
            data, problem = self._load_json(self._directory_files[file_name])
            if problem is None:
                channels, problems = parse_channels(
                    data, self._ref(self._directory_files[file_name]), self.source
                )
                self.channels.extend(channels)
                self.directory_problems.extend(problems)
            else:
                self.directory_problems.append(problem)

        # Folders are named by channel name (channels, groups, mostly mpims) or id (dms); look up both.
        self._by_folder: dict[str, SlackChannelRecord] = {}
        for channel in self.channels:
            for key in (channel.name, channel.channel_id):
                if key:
                    self._by_folder.setdefault(key, channel)
        self._directory = Directory(
            users=group_by_id(self.users),
            channel_names={c.channel_id: c.name for c in self.channels if c.name},
        )
        self._layout_stats["unknown_channel_folders"] = sorted(
            f for f in self._folders if f not in self._by_folder
        )
        self.stats: dict[str, Any] = self._fresh_stats()

    def _fresh_stats(self) -> dict[str, Any]:
        return {
            **self._layout_stats,
            "unknown_channel_folders": list(self._layout_stats["unknown_channel_folders"]),
            "day_files_read": 0,
            "messages": 0,
            "quarantined": 0,
            "skipped_events": {},
        }

    def _conversation(self, folder: str) -> Conversation:
        channel = self._by_folder.get(folder)
        if channel is None:
            return Conversation(folder, folder, (FLAG_UNKNOWN_CHANNEL,))
        return Conversation(channel.channel_id, channel.name)

    # --- public --------------------------------------------------------------------------------------------

    def total_files(self) -> int:
        """Number of day files, for a progress bar (on_file is called once per day file)."""
        return len(self._day_files)

    def messages(
        self, on_file: Callable[[], None] | None = None
    ) -> Iterator[MessageRecord | QuarantineRecord]:
        """All messages of the export, conversation by conversation and day by day, with quarantine records.

        Directory problems come first. Skipped events are not yielded, only counted in
        `stats["skipped_events"]`. `on_file` is called after each day file.
        """
        if self._closed:
            raise SlackExportError(f"{self.path}: the export is closed")
        self.stats = self._fresh_stats()
        skipped: dict[str, int] = self.stats["skipped_events"]
        for problem in self.directory_problems:
            self.stats["quarantined"] += 1
            yield problem
        for folder, name in self._day_files:
            conversation = self._conversation(folder)
            for record in self._day_file(name, conversation, skipped):
                self.stats["messages" if isinstance(record, MessageRecord) else "quarantined"] += 1
                yield record
            self.stats["day_files_read"] += 1
            if on_file is not None:
                on_file()

    def _day_file(
        self, name: str, conversation: Conversation, skipped: dict[str, int]
    ) -> Iterator[MessageRecord | QuarantineRecord]:
        items, problem = self._load_json(name)
        if problem is not None:
            yield problem
            return
        if not isinstance(items, list):
            yield QuarantineRecord(self.source, self._ref(name), s.Q_DAY_FILE_NOT_A_LIST, safe_excerpt(items))
            return
        for index, item in enumerate(items):
            raw_ref = f"{self._ref(name)}#{index}"
            try:
                record = parse_message(
                    item,
                    conversation=conversation,
                    directory=self._directory,
                    raw_ref=raw_ref,
                    source=self.source,
                )
            # A parser bug must not stop a long import; it is quarantined with the error, not hidden.
            except Exception as exc:  # noqa: BLE001
                record = QuarantineRecord(
                    self.source, raw_ref, s.Q_PARSE_ERROR, f"{type(exc).__name__}: {exc} {safe_excerpt(item)}"
                )
            if record is None:
                reason = skip_reason(item) if isinstance(item, dict) else None
                key = reason or "other"
                skipped[key] = skipped.get(key, 0) + 1
                continue
            yield record

    def close(self) -> None:
        """Release the zip file handle (nothing to do for a folder)."""
        if not self._closed:
            self._closed = True
            self._files.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

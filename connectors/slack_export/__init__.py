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
import functools
import os
import re
import zipfile
import zlib
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from types import TracebackType
from typing import Any, Protocol, Self

from ground.records import FLAG_UNKNOWN_CHANNEL, MessageRecord, QuarantineRecord

from . import settings as s
from .jsonlist import NOT_A_LIST, JsonListError, list_items
from .parse import (
    Conversation,
    Directory,
    SlackChannelRecord,
    SlackUserRecord,
    group_by_id,
    parse_channel,
    parse_message,
    parse_user,
    safe_excerpt,
    skip_reason,
)

__all__ = ["SlackChannelRecord", "SlackExport", "SlackExportError", "SlackUserRecord", "is_slack_export"]

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
_DRIVE = re.compile(r"^[A-Za-z]:")


class SlackExportError(Exception):
    """The path is missing, unreadable, or not a Slack export; the message says which."""


class _Unreadable(Exception):
    """Reading a file of the export failed (the message says how); the file is quarantined."""


class _Files(Protocol):
    # (name, quarantine reason, why) of entries found while listing that are never read.
    refused: list[tuple[str, str, str]]

    def names(self) -> list[str]: ...  # "/"-separated, relative to the export, as stored
    def chunks(self, name: str) -> Iterator[bytes]: ...
    def close(self) -> None: ...


def _file_chunks(path: str) -> Iterator[bytes]:
    with open(path, "rb") as fh:
        while chunk := fh.read(s.READ_CHUNK_BYTES):
            yield chunk


class _FolderFiles:
    def __init__(self, root: Path) -> None:
        self._root = root
        self._real_root = os.path.realpath(root)
        self.refused: list[tuple[str, str, str]] = []

    def names(self) -> list[str]:
        self.refused = []
        return list(self._walk(os.fspath(self._root), ""))

    def _walk(self, folder: str, prefix: str) -> Iterator[str]:
        try:
            with os.scandir(folder) as listing:
                entries = sorted(listing, key=lambda e: e.name)
        except OSError as exc:
            if not prefix:
                raise
            self.refused.append(
                (prefix, s.Q_UNREADABLE_FILE, f"cannot list the folder: {exc.strerror or exc}")
            )
            return
        for entry in entries:
            name = prefix + entry.name
            if entry.is_dir(follow_symlinks=False):
                yield from self._walk(entry.path, name + "/")
            elif why := self._refusal(entry):
                self.refused.append((name, s.Q_UNSAFE_PATH, why))
            else:
                yield name

    def _refusal(self, entry: os.DirEntry[str]) -> str | None:
        """Why a file must not be read: a link out of the export, or no regular file (a FIFO would block)."""
        if entry.is_symlink():
            target = os.path.realpath(entry.path)
            if os.path.commonpath([self._real_root, target]) != self._real_root:
                return "a symbolic link to outside the export"
            return None if os.path.isfile(target) else "a symbolic link to something that is not a file"
        return None if entry.is_file(follow_symlinks=False) else "not a regular file"

    def chunks(self, name: str) -> Iterator[bytes]:
        return _file_chunks(os.path.join(self._root, name))

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
        self.refused: list[tuple[str, str, str]] = []
        # Zips made on Windows may use backslashes; paths are compared with "/". The name as stored is used
        # (zipfile cuts `filename` at a NUL byte, which would hide one).
        members = [(i.orig_filename.replace("\\", "/"), i) for i in self._zip.infolist() if not i.is_dir()]
        self._names = [name for name, _ in members]
        self._infos = dict(members)  # a name stored twice: the last member, as unzip does

    def names(self) -> list[str]:
        return list(self._names)

    def chunks(self, name: str) -> Iterator[bytes]:
        info = self._infos[name]
        if info.file_size <= s.WHOLE_MEMBER_BYTES:
            data = self._zip.read(info)  # checked against its CRC before any of it is used
            for start in range(0, len(data), s.READ_CHUNK_BYTES):
                yield data[start : start + s.READ_CHUNK_BYTES]
            return
        # Too large to hold: read through once to check the CRC (known at the end), then stream it.
        with self._zip.open(info) as fh:
            while fh.read(s.READ_CHUNK_BYTES):
                pass
        with self._zip.open(info) as fh:
            while chunk := fh.read(s.READ_CHUNK_BYTES):
                yield chunk

    def close(self) -> None:
        self._zip.close()


def _unsafe_name(name: str) -> str | None:
    """Why a file name is no place inside the export ("..", NUL, an absolute path), or None."""
    if "\x00" in name:
        return "a NUL byte in the name"
    if name.startswith("/") or _DRIVE.match(name):
        return "an absolute path"
    if ".." in name.split("/"):
        return "a '..' in the path"
    return None


def _is_os_metadata(parts: list[str]) -> bool:
    base = parts[-1]
    return (
        parts[0] in s.IGNORED_TOP_FOLDERS
        or base in s.OS_METADATA_FILES
        or base.startswith(s.APPLEDOUBLE_PREFIX)
    )


def _is_valid_date(match: re.Match[str]) -> bool:
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
    relevant = [n for n in names if not _is_os_metadata(n.split("/"))]
    tops = {n.split("/", 1)[0] for n in relevant}
    if len(tops) == 1 and all("/" in n for n in relevant):
        top = tops.pop()
        if f"{top}/{s.USERS_FILE}" in present or f"{top}/channels.json" in present:
            return f"{top}/"
    return ""


class SlackExport:
    """A Slack export folder or .zip, read one day file at a time, each file as a stream of its items.

    `users` and `channels` come from users.json and channels/groups/mpims/dms.json; problems found in those
    files and in the export's layout (unsafe names, impossible dates) are in `directory_problems` and are also
    yielded first by `messages()`. `stats` holds the counts of the last `messages()` run for the caller's
    summary, files not read included (`skipped_files`, by reason).
    """

    def __init__(
        self, path: str | Path, source: str = s.DEFAULT_SOURCE, *, max_value_chars: int = s.MAX_VALUE_CHARS
    ) -> None:
        self.path = Path(path)
        self.source = source
        self.max_value_chars = max_value_chars
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
        """Sort the export's files: directory files, day files, and every other one quarantined (suspicious:
        an unsafe name, a day file name that is no date) or counted by reason (known junk)."""
        try:
            listed = sorted(self._files.names())
        except OSError as exc:
            raise SlackExportError(f"cannot list the files of {self.path}: {exc}") from exc
        self._layout_problems = [
            QuarantineRecord(self.source, self._ref(name), reason, why)
            for name, reason, why in self._files.refused
        ]
        skipped: Counter[str] = Counter()
        names: list[str] = []
        for index, name in enumerate(listed):
            if index and listed[index - 1] == name:
                skipped[s.SKIP_DUPLICATE_NAME] += 1
            elif why := _unsafe_name(name):
                self._layout_problems.append(
                    QuarantineRecord(self.source, self._ref(name), s.Q_UNSAFE_PATH, why)
                )
            else:
                names.append(name)
        prefix = _export_prefix(names)
        self._directory_files: dict[str, str] = {}
        self._folders: dict[str, list[str]] = {}
        for name in names:
            parts = name.split("/")
            rel = parts[prefix.count("/") :] if name.startswith(prefix) else None
            day = s.DAY_FILE_RE.match(rel[1]) if rel and len(rel) == 2 else None
            if rel and len(rel) == 1 and rel[0] in s.DIRECTORY_FILES:
                self._directory_files[rel[0]] = name
            elif _is_os_metadata(parts):
                skipped[s.SKIP_OS_METADATA] += 1
            elif rel is None:
                skipped[s.SKIP_OUTSIDE_EXPORT_FOLDER] += 1
            elif len(rel) == 1:
                skipped[s.SKIP_ROOT_FILE] += 1
            elif day is None:
                skipped[s.SKIP_NOT_A_DAY_FILE] += 1
            elif _is_valid_date(day):
                self._folders.setdefault(rel[0], []).append(name)
            else:
                self._layout_problems.append(
                    QuarantineRecord(self.source, self._ref(name), s.Q_INVALID_DAY_FILE_NAME, "no such date")
                )
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
            "skipped_files": dict(sorted(skipped.items())),
        }

    def _ref(self, name: str) -> str:
        """Where a file of the export is, for raw_ref: the export, then the file's name inside it."""
        return self._ref_root + name

    def _chunks(self, name: str) -> Iterator[bytes]:
        try:
            yield from self._files.chunks(name)
        except _READ_ERRORS as exc:
            raise _Unreadable(f"{type(exc).__name__}: {exc}") from None

    def _items(self, name: str, not_a_list: str) -> Iterator[tuple[str, Any] | QuarantineRecord]:
        """(raw_ref, item) for each item of the JSON list in file `name`, read as a stream; then, when the file
        cannot give more (unreadable, empty, not a list, broken from some item on), a quarantine record."""
        ref = self._ref(name)
        try:
            for index, item in enumerate(
                list_items(self._chunks(name), max_value_chars=self.max_value_chars)
            ):
                yield f"{ref}#{index}", item
        except _Unreadable as exc:
            yield QuarantineRecord(self.source, ref, s.Q_UNREADABLE_FILE, str(exc))
        except JsonListError as problem:
            if problem.reason == NOT_A_LIST:
                yield QuarantineRecord(self.source, ref, not_a_list, safe_excerpt(problem.value))
            else:
                yield QuarantineRecord(self.source, ref, problem.reason, problem.excerpt)

    def _read_directory(self) -> None:
        self.directory_problems: list[QuarantineRecord] = list(self._layout_problems)
        self.users: list[SlackUserRecord] = []
        self.channels: list[SlackChannelRecord] = []
        for file_name, parse in [(s.USERS_FILE, parse_user)] + [
            (f, functools.partial(parse_channel, kind=kind)) for f, kind in s.CHANNEL_DIRECTORY_FILES.items()
        ]:
            if file_name not in self._directory_files:
                continue
            found = self.users if file_name == s.USERS_FILE else self.channels
            for entry in self._items(self._directory_files[file_name], s.Q_DIRECTORY_NOT_A_LIST):
                record = (
                    entry if isinstance(entry, QuarantineRecord) else parse(entry[1], entry[0], self.source)
                )
                if isinstance(record, QuarantineRecord):
                    self.directory_problems.append(record)
                else:
                    found.append(record)

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
            "skipped_files": dict(self._layout_stats["skipped_files"]),
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
        for entry in self._items(name, s.Q_DAY_FILE_NOT_A_LIST):
            if isinstance(entry, QuarantineRecord):
                yield entry
                continue
            raw_ref, item = entry
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


def is_slack_export(path: str | Path) -> bool:
    """Whether `path` opens as a Slack export: to point users who gave one where mail was expected to the right
    command."""
    try:
        with SlackExport(path):
            return True
    except SlackExportError:
        return False

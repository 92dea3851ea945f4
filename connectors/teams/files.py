"""Saved answers of the Teams export APIs (JSON files) as records: the same parser as the live read, so a
message read from a file and from Graph is one row (same key, same content)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from pathlib import Path

from ground.records import MessageRecord, QuarantineRecord, excerpt_of

from .parse import parse_chat_message
from .settings import REASON_UNREADABLE_FILE, SOURCE_FILES


def read_teams_files(paths: Iterable[Path]) -> Iterator[MessageRecord | QuarantineRecord | str]:
    """Saved Teams export answers (JSON files: a Graph page ``{"value": [...]}`` or a list of chatMessages; a
    folder is read for its ``*.json`` files, sorted) as records, or the reason an item is skipped. Read whole each
    time: what is already stored merges as such."""
    for path in _json_files(paths):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            yield QuarantineRecord(SOURCE_FILES, str(path), REASON_UNREADABLE_FILE, excerpt_of(str(exc)))
            continue
        items = data.get("value") if isinstance(data, dict) else data
        if not isinstance(items, list):
            excerpt = "neither a Graph page with a 'value' list nor a list of messages"
            yield QuarantineRecord(SOURCE_FILES, str(path), REASON_UNREADABLE_FILE, excerpt)
            continue
        for index, item in enumerate(items):
            yield parse_chat_message(item, raw_ref=f"{path}#{index}", source=SOURCE_FILES)


def _json_files(paths: Iterable[Path]) -> Iterator[Path]:
    for path in map(Path, paths):
        if path.is_dir():
            yield from sorted(p for p in path.rglob("*.json") if p.is_file())
        else:
            yield path

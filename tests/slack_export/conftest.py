"""Builders of small Slack exports on disk (folder or zip) for the slack_export tests."""

from __future__ import annotations

import json
import types
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from connectors.slack_export import SlackExport
from ground.records import MessageRecord, QuarantineRecord

USERS: list[Any] = [
    {
        "id": "U1",
        "team_id": "T1",
        "name": "alice",
        "real_name": "Alice Company",
        "profile": {"display_name": "alice", "real_name": "Alice Company", "email": "alice@co.example"},
    },
    {
        "id": "U2",
        "team_id": "T2",
        "name": "vic",
        "real_name": "",
        "profile": {"display_name": "Vic V", "real_name": "Victor Vendor", "email": "vic@vendor.example"},
    },
    {"id": "U3", "team_id": "T1", "name": "handle-only", "profile": {}},
    {
        "id": "B1",
        "team_id": "T1",
        "name": "deploybot",
        "is_bot": True,
        "profile": {"real_name": "Deploy Bot"},
    },
]
CHANNELS: list[Any] = [
    {"id": "C1", "name": "general", "is_general": True},
    {"id": "C2", "name": "vendor-acme", "is_ext_shared": True, "is_shared": True},
]
GROUPS: list[Any] = [{"id": "G1", "name": "private-stuff", "is_shared": False}]
MPIMS: list[Any] = [{"id": "G2", "name": "mpdm-alice--vic-1", "members": ["U1", "U2"]}]
DMS: list[Any] = [{"id": "D1", "members": ["U1", "U2"]}]

BASE_FILES: dict[str, Any] = {
    "users.json": USERS,
    "channels.json": CHANNELS,
    "groups.json": GROUPS,
    "mpims.json": MPIMS,
    "dms.json": DMS,
}


def write_export(root: Path, files: dict[str, Any]) -> Path:
    """Write files (path -> JSON value, or bytes/str written as is) under root."""
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        elif isinstance(content, str):
            path.write_text(content, encoding="utf-8")
        else:
            with path.open("w", encoding="utf-8") as fh:
                json.dump(content, fh)
    return root


def zip_folder(folder: Path, zip_path: Path, prefix: str = "") -> Path:
    """Zip a folder's files with paths relative to it (optionally under a wrapper folder)."""
    with zipfile.ZipFile(zip_path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                zf.write(path, prefix + path.relative_to(folder).as_posix())
    return zip_path


def read_export(path: Path) -> tuple[list[MessageRecord | QuarantineRecord], dict[str, Any]]:
    """All records of an export and its stats."""
    with SlackExport(path) as export:
        records = list(export.messages())
        return records, export.stats


@pytest.fixture(scope="session")
def kit() -> types.SimpleNamespace:
    """The plain helpers, for tests (like hypothesis ones) that build exports themselves."""
    return types.SimpleNamespace(
        BASE_FILES=BASE_FILES, write_export=write_export, zip_folder=zip_folder, read_export=read_export
    )


@pytest.fixture
def make_export(tmp_path: Path) -> Callable[..., Path]:
    """Build an export folder: the base directory files plus `files` (set base=False to omit them)."""
    counter = iter(range(1000))

    def make(files: dict[str, Any], *, base: bool = True) -> Path:
        root = tmp_path / f"export{next(counter)}"
        root.mkdir()
        return write_export(root, {**BASE_FILES, **files} if base else files)

    return make


@pytest.fixture
def read() -> Callable[[Path], tuple[list[MessageRecord | QuarantineRecord], dict[str, Any]]]:
    return read_export


@pytest.fixture
def messages_of(
    make_export: Callable[..., Path],
) -> Callable[..., list[MessageRecord]]:
    """Messages read from a general/2024-11-16.json day file holding the given message objects."""

    def run(items: list[Any], folder: str = "general", day: str = "2024-11-16") -> list[MessageRecord]:
        records, _ = read_export(make_export({f"{folder}/{day}.json": items}))
        assert all(isinstance(r, MessageRecord) for r in records), records
        return [r for r in records if isinstance(r, MessageRecord)]

    return run


@pytest.fixture
def zip_of(tmp_path: Path) -> Callable[..., Path]:
    def run(folder: Path, prefix: str = "") -> Path:
        return zip_folder(folder, tmp_path / f"{folder.name}.zip", prefix)

    return run

"""The phrase lexicon: loading, validation, and the combined patterns handed to the signal models.

Entries live in YAML (`transforms/lexicon.yaml`, plus an optional `[signals] extra_lexicon` file of the same
shape): `entries: [{id, signal, lang, pattern}, ...]` (a bare list is accepted too). Patterns are RE2 regular
expressions applied to normalised text: lower case, accents removed, typographic apostrophes made straight,
whitespace folded. Acknowledgement patterns must match the whole text once punctuation is also removed; courtesy
patterns are cut out of the text before request patterns and question marks are looked for.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import yaml

from ground.config import Config
from transforms.seeding import replace_seed

SIGNALS = ("clarification", "info_request", "nudge", "repetition", "rework", "escalation")
# Weaker chaser wordings ("any news?", "je reviens vers vous"): a nudge only when the author's side wrote the
# message before it in the conversation, i.e. nothing came back since (transforms/models/35_message_signals.sql).
FOLLOW_UP = "follow_up"
ACKNOWLEDGEMENT = "acknowledgement"
REQUEST = "request"
COURTESY = "courtesy"
# What the needs-reply rule reads besides the signals: requests, courtesy phrases removed first, acknowledgements.
NEEDS_REPLY_KINDS = (REQUEST, COURTESY, ACKNOWLEDGEMENT)
KINDS = (*SIGNALS, FOLLOW_UP, *NEEDS_REPLY_KINDS)
BUILTIN = "builtin"
NEVER_MATCHES = r"[^\s\S]"
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]*$")
_LANG = re.compile(r"^[a-z]{2,3}$")


class LexiconError(ValueError):
    """A lexicon file is malformed; the message names the file and the entry."""


@dataclass(frozen=True)
class Entry:
    id: str
    signal: str
    lang: str
    pattern: str
    origin: str


# libyaml's safe loader when installed: the pure-Python one took 0.2 s of every build to read the lexicon.
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _read_entries(text: str, origin: str) -> list[Entry]:
    try:
        data = yaml.load(text, Loader=_YAML_LOADER)
    except yaml.YAMLError as exc:
        raise LexiconError(f"{origin}: not valid YAML: {exc}") from None
    items: Any = data.get("entries") if isinstance(data, dict) else data
    if not isinstance(items, list):
        raise LexiconError(f"{origin}: expected a list of entries under 'entries:'")
    entries = []
    for i, item in enumerate(items):
        where = f"{origin}: entry {i + 1}"
        if not isinstance(item, dict):
            raise LexiconError(f"{where}: expected a mapping with id, signal, lang, pattern")
        unknown = set(item) - {"id", "signal", "lang", "pattern", "examples", "note"}
        if unknown:
            raise LexiconError(f"{where}: unknown key(s) {sorted(unknown)}")
        ident = item.get("id")
        if not isinstance(ident, str) or not _ID.match(ident):
            raise LexiconError(f"{where}: id {ident!r} must be a non-empty word (letters, digits, _ . : -)")
        where = f"{origin}: entry {ident!r}"
        signal, lang, pattern = item.get("signal"), item.get("lang"), item.get("pattern")
        if signal not in KINDS:
            raise LexiconError(f"{where}: signal {signal!r} is not one of {', '.join(KINDS)}")
        if not isinstance(lang, str) or not _LANG.match(lang):
            raise LexiconError(f"{where}: lang {lang!r} must be a language code such as en or fr")
        if not isinstance(pattern, str) or not pattern.strip():
            raise LexiconError(f"{where}: pattern must be a non-empty string")
        entries.append(Entry(ident, signal, lang, pattern, origin))
    return entries


def builtin_entries() -> list[Entry]:
    text = resources.files("transforms").joinpath("lexicon.yaml").read_text(encoding="utf-8")
    return _read_entries(text, BUILTIN)


def read_lexicon_file(path: Path | str) -> list[Entry]:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise LexiconError(f"{path}: cannot read the extra lexicon: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise LexiconError(f"{path}: the extra lexicon is not UTF-8 text") from None
    return _read_entries(text, str(path))


def validate(entries: list[Entry], con: duckdb.DuckDBPyConnection | None = None) -> None:
    """Unique ids, and every pattern compiles in DuckDB's RE2 and matches at least one character wherever it
    matches (the models read a match from its non-empty extract): neither empty text nor a zero-width match such as
    a lone word boundary."""
    seen: dict[str, str] = {}
    for e in entries:
        if e.id in seen:
            raise LexiconError(f"{e.origin}: entry {e.id!r}: id already used by an entry of {seen[e.id]}")
        seen[e.id] = e.origin
    check = con or duckdb.connect(":memory:")
    try:
        for e in entries:
            try:
                (empty,) = check.execute(
                    "SELECT regexp_matches('', $1) OR list_bool_or("
                    "[regexp_matches(probe, $1) AND regexp_extract(probe, $1) = '' FOR probe IN ['x', ' x. y? ']])",
                    [e.pattern],
                ).fetchall()[0]
            except duckdb.Error as exc:
                message = str(exc).removeprefix("Invalid Input Error: ")
                raise LexiconError(
                    f"{e.origin}: entry {e.id!r}: pattern {e.pattern!r} is not a valid RE2 regex: {message}"
                ) from None
            if empty:
                raise LexiconError(f"{e.origin}: entry {e.id!r}: pattern {e.pattern!r} matches empty text")
    finally:
        if con is None:
            check.close()


def load_entries(
    config: Config | None = None, con: duckdb.DuckDBPyConnection | None = None, *, validated: bool = True
) -> list[Entry]:
    """Built-in entries then the config's extra lexicon, validated unless `validated` is false (the caller then
    validates them, or knows they were: compiling every pattern costs 0.4 s)."""
    entries = builtin_entries()
    if config is not None and config.signals.extra_lexicon is not None:
        entries += read_lexicon_file(config.signals.extra_lexicon)
    if validated:
        validate(entries, con)
    return entries


def combined_patterns(entries: list[Entry]) -> dict[str, str]:
    """One RE2 alternation per kind (each signal, follow_up, request, courtesy, acknowledgement), in lexicon order.

    The signal models receive them as DuckDB variables: a constant pattern is compiled once per query,
    whereas a pattern read from a table column would be recompiled for every row.
    """
    combined = {}
    for kind in KINDS:
        parts = [f"(?:{e.pattern})" for e in entries if e.signal == kind]
        combined[kind] = "|".join(parts) if parts else NEVER_MATCHES
    return combined


def lexicon_table(entries: list[Entry]) -> pa.Table:
    return pa.table(
        {
            "seq": pa.array(range(1, len(entries) + 1), pa.int32()),
            "id": pa.array([e.id for e in entries], pa.string()),
            "signal": pa.array([e.signal for e in entries], pa.string()),
            "lang": pa.array([e.lang for e in entries], pa.string()),
            "pattern": pa.array([e.pattern for e in entries], pa.string()),
            "origin": pa.array([e.origin for e in entries], pa.string()),
        }
    )


def load_lexicon(con: duckdb.DuckDBPyConnection, entries: list[Entry]) -> int:
    """Fill marts.signal_lexicon (created by transforms/seeds.sql)."""
    return replace_seed(con, "signal_lexicon", lexicon_table(entries))

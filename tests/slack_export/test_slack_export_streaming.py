"""Export files read as streams: items exactly as json.loads gives them, bounded memory, checked zip members."""

from __future__ import annotations

import itertools
import json
import zipfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from connectors.slack_export import SlackExport
from connectors.slack_export import settings as export_settings
from connectors.slack_export.jsonlist import WHOLE_CHARS, JsonListError, list_items
from ground.records import MessageRecord, QuarantineRecord

MSG = {"user": "U1", "text": "hello", "ts": "1731751920.000200"}

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False)
    | st.text(max_size=12),  # lone surrogates included
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=6), children, max_size=4)
    ),
    max_leaves=20,
)


def _chunked(data: bytes, cuts: list[int]) -> list[bytes]:
    bounds = sorted({0, len(data), *(c % (len(data) + 1) for c in cuts)})
    return [data[a:b] for a, b in itertools.pairwise(bounds)]


def _read(chunks: list[bytes], whole: bool = False) -> tuple[list[object], str | None]:
    """Items and the error at the end; value by value unless `whole` (then a small document is read whole)."""
    items: list[object] = []
    try:
        items.extend(list_items(chunks, max_value_chars=1 << 20, whole_chars=WHOLE_CHARS if whole else 0))
    except JsonListError as problem:
        return items, problem.reason
    return items, None


@settings(max_examples=150, deadline=None)
@given(
    items=st.lists(json_values, max_size=8),
    cuts=st.lists(st.integers(min_value=0, max_value=10_000), max_size=12),
    indent=st.sampled_from([None, 0, 2]),
    encoding=st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "utf-32"]),
    whole=st.booleans(),
)
def test_items_are_what_json_loads_gives_however_the_chunks_fall(
    items: list[object], cuts: list[int], indent: int | None, encoding: str, whole: bool
) -> None:
    data = json.dumps(items, indent=indent, ensure_ascii=encoding != "utf-8").encode(
        encoding, "surrogatepass"
    )
    assert _read(_chunked(data, cuts), whole) == (json.loads(data), None)


@settings(max_examples=150, deadline=None)
@given(
    items=st.lists(json_values, min_size=1, max_size=6),
    cut=st.integers(min_value=0),
    cuts=st.lists(st.integers(min_value=0, max_value=10_000), max_size=8),
    whole=st.booleans(),
)
def test_a_cut_document_gives_its_whole_items_then_an_error(
    items: list[object], cut: int, cuts: list[int], whole: bool
) -> None:
    data = json.dumps(items).encode()
    data = data[: cut % len(data)]  # cut anywhere before its end
    got, reason = _read(_chunked(data, cuts), whole)
    assert reason in ("invalid_json", "empty_file")
    assert got == items[: len(got)]


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"", ([], "empty_file")),
        (b" \n\t", ([], "empty_file")),
        (b'{"a": 1}', ([], "not_a_list")),
        (b"42", ([], "not_a_list")),
        (b"{broken", ([], "invalid_json")),
        (b"[1, 2,, 3]", ([1, 2], "invalid_json")),
        (b"[1, 2] [3]", ([1, 2], "invalid_json")),
        (b"[1 2]", ([], "invalid_json")),  # an item is given once "," or "]" follows it
        (b"[1, 2", ([1], "invalid_json")),
        (b'[1, "\xff"]', ([1], "invalid_json")),
        (b"[1]\xff", ([1], "invalid_json")),
        (b"{}\xff", ([], "invalid_json")),
        (b"[" * 100_000, ([], "invalid_json")),
        (b"\xef\xbb\xbf[1]", ([1], None)),
        (b"[NaN, -Infinity]", ([pytest.approx(float("nan"), nan_ok=True), float("-inf")], None)),
    ],
)
@pytest.mark.parametrize("whole", [False, True], ids=["value_by_value", "whole"])
def test_documents_that_are_not_a_plain_list(
    data: bytes, expected: tuple[list[object], str | None], whole: bool
) -> None:
    assert _read([data[i : i + 3] for i in range(0, len(data), 3)] or [b""], whole) == expected


def test_a_value_over_the_cap_stops_the_file_and_keeps_what_came_before(make_export, zip_of) -> None:
    day = [
        {"user": "U1", "text": "short", "ts": "1731751920.000100"},
        {"user": "U1", "text": "x" * 5000, "ts": "1731751920.000200"},
        {"user": "U1", "text": "after", "ts": "1731751920.000300"},
    ]
    folder = make_export({"general/2024-11-16.json": day})
    for path in (folder, zip_of(folder)):
        with SlackExport(path, max_value_chars=1000) as export:
            records = list(export.messages())
        assert [r.body_full for r in records if isinstance(r, MessageRecord)] == ["short"]
        [problem] = [r for r in records if isinstance(r, QuarantineRecord)]
        assert (problem.raw_ref, problem.reason) == (
            f"{path}/general/2024-11-16.json",
            "json_value_too_large",
        )
        assert problem.excerpt.startswith(
            'no JSON value ends within 1,000 characters of: {"user": "U1", "text": "xxx'
        )


def test_a_large_corrupt_zip_member_gives_nothing_of_itself(make_export, tmp_path: Path) -> None:
    """A member too large to hold is streamed, yet nothing of it is used before its checksum is checked."""
    filler = {"subtype": "channel_join", "ts": "1731751920.000001", "text": "x" * 100_000}
    fillers = export_settings.WHOLE_MEMBER_BYTES // 100_000 + 1
    day = [MSG, *([filler] * fillers)]
    folder = make_export({"general/2024-11-16.json": day, "general/2024-11-17.json": [MSG]})
    packed = tmp_path / "big.zip"
    with zipfile.ZipFile(packed, "w", compression=zipfile.ZIP_STORED) as zf:
        for path in sorted(folder.rglob("*.json")):
            zf.write(path, path.relative_to(folder).as_posix())
    with zipfile.ZipFile(packed) as zf:
        assert zf.getinfo("general/2024-11-16.json").file_size > export_settings.WHOLE_MEMBER_BYTES
    data = bytearray(packed.read_bytes())
    # Still valid JSON, near the end of the big member: only its CRC tells.
    data[data.rindex(b"xxxx")] = ord("X")
    packed.write_bytes(bytes(data))

    with SlackExport(packed) as export:
        records = list(export.messages())
    assert [(r.raw_ref, r.reason) for r in records if isinstance(r, QuarantineRecord)] == [
        (f"{packed}/general/2024-11-16.json", "unreadable_file")
    ]
    assert [r.raw_ref for r in records if isinstance(r, MessageRecord)] == [
        f"{packed}/general/2024-11-17.json#0"
    ]

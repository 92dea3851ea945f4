"""The digest chart: a deterministic PNG of daily median vendor response time per vendor."""

from __future__ import annotations

import datetime as dt
import struct
from pathlib import Path

from commhealth.chart import HEIGHT_PX, WIDTH_PX, render_latency_chart

END = dt.date(2026, 3, 10)
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data.startswith(PNG_MAGIC)
    width, height = struct.unpack(">II", data[16:24])  # the IHDR chunk
    return width, height


def series(days: int = 40) -> dict[str, list[tuple[dt.date, float | None]]]:
    return {
        "Kappa Offshore": [
            (END - dt.timedelta(days=i), None if i % 7 == 5 else 1.0 + i % 5) for i in range(days)
        ],
        "Lumen $x$ _Nearshore": [(END - dt.timedelta(days=i), 2.5) for i in range(days)],
        "_hidden?": [(END - dt.timedelta(days=i), 0.5) for i in range(3)],
        "no data": [(END, None)],
    }


def test_chart_is_a_fixed_size_deterministic_png(tmp_path: Path) -> None:
    first = render_latency_chart(series(), tmp_path / "a.png", title="Vendor → us, $ median")
    second = render_latency_chart(series(), tmp_path / "sub" / "b.png", title="Vendor → us, $ median")
    assert png_size(first) == (WIDTH_PX, HEIGHT_PX)
    assert first.read_bytes() == second.read_bytes()
    assert b"Software" not in first.read_bytes()[:200]


def test_minutes_are_plotted_as_hours(tmp_path: Path) -> None:
    hours = {"V": [(END - dt.timedelta(days=i), 1.5) for i in range(10)]}
    minutes = {"V": [(END - dt.timedelta(days=i), 90.0) for i in range(10)]}
    a = render_latency_chart(hours, tmp_path / "h.png", title="t")
    b = render_latency_chart(minutes, tmp_path / "m.png", title="t", unit="minutes")
    assert a.read_bytes() == b.read_bytes()


def test_empty_series_draws_no_responses(tmp_path: Path) -> None:
    empty = render_latency_chart({}, tmp_path / "empty.png", title="Nothing", end=END)
    only_gaps = render_latency_chart({"V": [(END, None)]}, tmp_path / "gaps.png", title="Nothing", end=END)
    assert png_size(empty) == (WIDTH_PX, HEIGHT_PX)
    assert empty.read_bytes() == only_gaps.read_bytes()


def test_many_vendors_keep_the_size(tmp_path: Path) -> None:
    many = {f"Vendor {i}": [(END - dt.timedelta(days=d), float(i)) for d in range(28)] for i in range(25)}
    path = render_latency_chart(many, tmp_path / "many.png", title="Many", end=END)
    assert png_size(path) == (WIDTH_PX, HEIGHT_PX)

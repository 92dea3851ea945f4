"""The digest chart: a deterministic PNG of daily median vendor response time per vendor."""

from __future__ import annotations

import datetime as dt
import struct
from pathlib import Path

from matplotlib.colors import to_rgba

from digest.chart import (
    HEIGHT_PX,
    MUTED_ALPHA,
    WIDTH_PX,
    latency_figure,
    render_latency_chart,
    vendor_colour,
)

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


def lines_by_label(series: dict, **kw: object) -> dict[str, list]:
    axes = latency_figure(series, title="t", end=END, **kw).axes[0]
    found: dict[str, list] = {}
    for line in axes.get_lines():
        found.setdefault(line.get_label(), []).append(line)
    return found


def test_each_vendor_keeps_its_colour_whatever_the_days_ranking() -> None:
    slow_kappa = {"kappa": [(END, 9.0)], "lumen": [(END, 1.0)], "atlas": [(END, 3.0)]}
    slow_lumen = {"lumen": [(END, 12.0)], "atlas": [(END, 2.0)], "kappa": [(END, 0.5)]}
    for series in (slow_kappa, slow_lumen):
        lines = lines_by_label(series)
        for vendor_id in series:
            assert to_rgba(lines[vendor_id][0].get_color()) == to_rgba(vendor_colour(vendor_id))


def test_sla_marked_in_the_vendor_colour_and_flagged_vendors_highlighted() -> None:
    series = {"kappa": [(END - dt.timedelta(days=i), 9.0) for i in range(5)], "lumen": [(END, 1.0)]}
    figure = latency_figure(
        series,
        title="t",
        end=END,
        names={"kappa": "Kappa Offshore", "lumen": "Lumen"},
        sla_hours={"kappa": 8.0, "lumen": 4.0},
        flagged={"kappa"},
    )
    axes = figure.axes[0]
    kappa = next(line for line in axes.get_lines() if line.get_label() == "Kappa Offshore (flagged)")
    lumen = next(line for line in axes.get_lines() if line.get_label() == "Lumen")
    assert kappa.get_alpha() == 1.0 and lumen.get_alpha() == MUTED_ALPHA
    assert kappa.get_linewidth() > lumen.get_linewidth()
    slas = {
        line.get_ydata()[0]: to_rgba(line.get_color())
        for line in axes.get_lines()
        if line.get_linestyle() == "--"
    }
    assert slas == {8.0: to_rgba(vendor_colour("kappa")), 4.0: to_rgba(vendor_colour("lumen"))}

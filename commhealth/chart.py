"""The digest chart: daily median business response time per vendor (vendor side) over the last 28 days.

Rendered with matplotlib's Agg canvas directly (no pyplot, no display, no global state), at a fixed pixel
size and without a "Software" PNG chunk, so the same input gives the same bytes.
"""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.dates import DateFormatter, DayLocator
from matplotlib.figure import Figure

WIDTH_PX = 1000
HEIGHT_PX = 480
DPI = 100
WINDOW_DAYS = 28
MAX_LINES = 10


def _label(name: str) -> str:
    """Vendor text for matplotlib: no mathtext (``$``), not hidden from the legend (leading ``_``)."""
    name = " ".join(name.split())
    name = name if len(name) <= 40 else name[:39] + "…"
    name = name.replace("$", r"\$")
    return "\u200b" + name if name.startswith("_") else name or "(unnamed)"


def render_latency_chart(
    series: dict[str, list[tuple[dt.date, float | None]]],
    path: Path,
    *,
    title: str,
    end: dt.date | None = None,
    days: int = WINDOW_DAYS,
    unit: str = "hours",
) -> Path:
    """Write a PNG with one line per vendor and return ``path``.

    ``series`` maps a vendor name to ``(day, median business response time)`` points in ``unit``
    (``"hours"``, or ``"minutes"`` as stored in the marts); ``None`` is a day without responses (a gap).
    The window is the ``days`` days ending at ``end`` (default: the latest day in the data, else today).
    With more than ten vendors the ten slowest on average are drawn and the rest counted in a note.
    """
    if unit not in ("hours", "minutes"):
        raise ValueError("unit must be 'hours' or 'minutes'")
    scale = 60.0 if unit == "minutes" else 1.0
    all_days = [day for points in series.values() for day, _ in points]
    end = end or (max(all_days) if all_days else dt.date.today())
    start = end - dt.timedelta(days=days - 1)

    lines: list[tuple[str, list[dt.date], list[float]]] = []
    for name, points in series.items():
        clean = sorted(
            (day, value / scale if value is not None and math.isfinite(value) else math.nan)
            for day, value in points
            if start <= day <= end
        )
        if any(not math.isnan(v) for _, v in clean):
            lines.append((name, [d for d, _ in clean], [v for _, v in clean]))

    def mean(values: list[float]) -> float:
        finite = [v for v in values if not math.isnan(v)]
        return sum(finite) / len(finite)

    lines.sort(key=lambda line: (-mean(line[2]), line[0]))
    hidden = max(0, len(lines) - MAX_LINES)
    lines = lines[:MAX_LINES]

    figure = Figure(figsize=(WIDTH_PX / DPI, HEIGHT_PX / DPI), dpi=DPI)
    FigureCanvasAgg(figure)
    axes = figure.add_axes((0.07, 0.12, 0.68, 0.78))
    axes.set_title(" ".join(title.split())[:100].replace("$", r"\$"), loc="left")
    axes.set_ylabel("business hours (median)")
    axes.set_xlim(start - dt.timedelta(hours=12), end + dt.timedelta(hours=12))
    axes.xaxis.set_major_locator(DayLocator(interval=7))
    axes.xaxis.set_major_formatter(DateFormatter("%d %b"))
    axes.grid(True, alpha=0.3)
    if lines:
        for name, days_, values in lines:
            axes.plot(days_, values, marker="o", markersize=3, linewidth=1.6, label=_label(name))
        axes.set_ylim(bottom=0)
        axes.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), fontsize=8, frameon=False)
        if hidden:
            figure.text(0.77, 0.05, f"+{hidden} more vendors not shown", fontsize=8, color="0.4")
    else:
        axes.set_ylim(0, 1)
        axes.set_yticks([])
        axes.text(0.5, 0.5, "no responses", transform=axes.transAxes, ha="center", va="center", color="0.4")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, format="png", dpi=DPI, metadata={"Software": None})
    return path

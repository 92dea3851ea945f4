"""The digest chart: daily median business response time per vendor (vendor side) over the last 28 days.

Each vendor keeps its colour from day to day (derived from its id, not from its rank of the day), its SLA is a
dashed line in that colour, and the vendors the digest flags are drawn bold while the others are muted.
Rendered with matplotlib's Agg canvas directly (no pyplot, no display, no global state), at a fixed pixel
size and without a "Software" PNG chunk, so the same input gives the same bytes.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
from collections.abc import Collection, Mapping
from pathlib import Path

from matplotlib import colormaps
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.dates import DateFormatter, DayLocator
from matplotlib.figure import Figure

WIDTH_PX = 1000
HEIGHT_PX = 480
DPI = 100
WINDOW_DAYS = 28
MAX_LINES = 10
PALETTE = [colormaps["tab20"](i) for i in range(20)]
MUTED_ALPHA = 0.3


def vendor_colour(vendor_id: str) -> tuple[float, float, float, float]:
    """The vendor's colour on every chart: a hash of its id, so it does not move when the day's ranking does."""
    return PALETTE[hashlib.sha256(vendor_id.encode("utf-8")).digest()[0] % len(PALETTE)]


def _label(name: str) -> str:
    """Vendor text for matplotlib: no mathtext (``$``), not hidden from the legend (leading ``_``)."""
    name = " ".join(name.split())
    name = name if len(name) <= 40 else name[:39] + "…"
    name = name.replace("$", r"\$")
    return "\u200b" + name if name.startswith("_") else name or "(unnamed)"


def latency_figure(
    series: Mapping[str, list[tuple[dt.date, float | None]]],
    *,
    title: str,
    end: dt.date | None = None,
    days: int = WINDOW_DAYS,
    unit: str = "hours",
    names: Mapping[str, str] | None = None,
    sla_hours: Mapping[str, float] | None = None,
    flagged: Collection[str] = (),
) -> Figure:
    """The chart as a matplotlib Figure: one line per vendor, its SLA dashed in the same colour.

    ``series`` maps a vendor id to ``(day, median business response time)`` points in ``unit``
    (``"hours"``, or ``"minutes"`` as stored in the marts); ``None`` is a day without responses (a gap).
    ``names`` gives the legend label of each id (default: the id), ``sla_hours`` its SLA, and ``flagged`` the
    vendors the digest flags (drawn bold; the others muted; with none flagged, all are drawn plainly).
    The window is the ``days`` days ending at ``end`` (default: the latest day in the data, else today).
    With more than ten vendors the flagged, then the slowest on average, are drawn and the rest counted in a note.
    """
    if unit not in ("hours", "minutes"):
        raise ValueError("unit must be 'hours' or 'minutes'")
    names, sla_hours, flagged = names or {}, sla_hours or {}, set(flagged)
    scale = 60.0 if unit == "minutes" else 1.0
    all_days = [day for points in series.values() for day, _ in points]
    end = end or (max(all_days) if all_days else dt.date.today())
    start = end - dt.timedelta(days=days - 1)

    lines: list[tuple[str, list[dt.date], list[float]]] = []
    for vendor_id, points in series.items():
        clean = sorted(
            (day, value / scale if value is not None and math.isfinite(value) else math.nan)
            for day, value in points
            if start <= day <= end
        )
        if any(not math.isnan(v) for _, v in clean):
            lines.append((vendor_id, [d for d, _ in clean], [v for _, v in clean]))

    def mean(values: list[float]) -> float:
        finite = [v for v in values if not math.isnan(v)]
        return sum(finite) / len(finite)

    lines.sort(key=lambda line: (line[0] not in flagged, -mean(line[2]), line[0]))
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
        for vendor_id, days_, values in lines:
            colour = vendor_colour(vendor_id)
            bold = vendor_id in flagged
            alpha = 1.0 if bold or not flagged else MUTED_ALPHA
            label = _label(names.get(vendor_id, vendor_id)) + (" (flagged)" if bold else "")
            axes.plot(
                days_,
                values,
                marker="o",
                markersize=3,
                linewidth=2.6 if bold else 1.4,
                alpha=alpha,
                color=colour,
                label=label,
                zorder=3 if bold else 2,
            )
            if vendor_id in sla_hours:
                axes.axhline(sla_hours[vendor_id], color=colour, linestyle="--", linewidth=1.0, alpha=alpha)
        axes.set_ylim(bottom=0)
        axes.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), fontsize=8, frameon=False)
        figure.text(0.77, 0.09, "dashed: each vendor's SLA", fontsize=8, color="0.4")
        if hidden:
            figure.text(0.77, 0.05, f"+{hidden} more vendors not shown", fontsize=8, color="0.4")
    else:
        axes.set_ylim(0, 1)
        axes.set_yticks([])
        axes.text(0.5, 0.5, "no responses", transform=axes.transAxes, ha="center", va="center", color="0.4")
    return figure


def render_latency_chart(
    series: Mapping[str, list[tuple[dt.date, float | None]]],
    path: Path,
    *,
    title: str,
    end: dt.date | None = None,
    days: int = WINDOW_DAYS,
    unit: str = "hours",
    names: Mapping[str, str] | None = None,
    sla_hours: Mapping[str, float] | None = None,
    flagged: Collection[str] = (),
) -> Path:
    """Write the PNG of :func:`latency_figure` and return ``path``."""
    figure = latency_figure(
        series, title=title, end=end, days=days, unit=unit, names=names, sla_hours=sla_hours, flagged=flagged
    )
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, format="png", dpi=DPI, metadata={"Software": None})
    return path

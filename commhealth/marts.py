"""`commhealth build`: bring the marts up to date in a writing session."""

from __future__ import annotations

import datetime as dt

from commhealth.config import Config
from transforms.build import build_marts
from warehouse.session import writing


def build(config: Config, as_of: dt.datetime, *, full: bool = False, publish: bool = True) -> dict[str, int]:
    """Update every mart as of `as_of` (incrementally when possible, fully when `full` or when it must be),
    record the run and publish the read-only copy unless the caller publishes later. counts["full_build"]
    tells which it was."""
    with writing(config, "build", publish=publish) as (con, run):
        counts = build_marts(con, config, as_of, full=full)
        run.detail = {"as_of": as_of.isoformat(), "full": bool(counts["full_build"]), "rows": counts}
    return counts

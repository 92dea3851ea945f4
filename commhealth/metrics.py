"""`commhealth build`: rebuild the marts in a writing session."""

from __future__ import annotations

import datetime as dt

from commhealth.config import Config
from transforms.build import build_marts
from warehouse.session import writing


def build(config: Config, as_of: dt.datetime) -> dict[str, int]:
    """Rebuild every mart as of `as_of`, record the run and publish the read-only copy."""
    with writing(config, "build") as (con, run):
        counts = build_marts(con, config, as_of)
        run.detail = {"as_of": as_of.isoformat(), "rows": counts}
    return counts

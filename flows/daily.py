"""The daily pipeline, as Prefect flows: ingest → load → build → render the digest → post → artifacts.

Extraction fans out in threads and only writes staged Parquet parts; one task merges them into DuckDB, so the
warehouse never sees two writers. The `extract` flow runs extraction alone, on workers elsewhere. Tasks receive
the config file path, never connections. The analysts' read-only copy is published once, when the run ends (also
when it fails), not after each writing task.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NO_CACHE
from prefect.futures import wait
from prefect.schedules import Cron
from prefect.states import State
from prefect.task_runners import ThreadPoolTaskRunner
from rich.console import Console

from connectors.base import SourceAuthError
from digest import queries, render
from digest.delivery import (
    Delivery,
    DigestFiles,
    deliver,
    digest_markdown,
    resolve_token,
    write_digest_files,
)
from digest.model import Digest
from flows import ingest
from ground.config import Config, ConfigError, find_config_path, load_config
from ground.secrets import SecretUnavailableError
from transforms.build import parse_as_of, report_day, run_build
from warehouse.session import publish_snapshot, writing

EXTRACT_THREADS = 4
_QUIET = Console(quiet=True)
# What a retry cannot mend: refused credentials, a missing secret, a mistake in the configuration. Anything
# else (network, server and Slack errors) may pass on a retry.
PERMANENT_FAILURES = (SourceAuthError, SecretUnavailableError, ConfigError, ValueError)


def _config(config_file: str) -> Config:
    return load_config(config_file)


def _worth_retrying(_task: object, _task_run: object, state: State) -> bool:
    """The retry condition of the network tasks: not for a failure that would only repeat itself."""
    return not isinstance(state.result(raise_on_failure=False), PERMANENT_FAILURES)


# --- Extract ---------------------------------------------------------------------------------------------


@task(cache_policy=NO_CACHE)
def stage_files(config_file: str, extraction: ingest.Extraction) -> dict[str, object]:
    """Read mail files or one Slack export into staged parts (no warehouse access)."""
    return ingest.extract(_config(config_file), extraction, _QUIET)


@task(cache_policy=NO_CACHE, retries=2, retry_delay_seconds=[30, 120], retry_condition_fn=_worth_retrying)
def stage_live_source(config_file: str, extraction: ingest.Extraction) -> dict[str, object]:
    """Pull what is new from one live source (Slack, Exchange, Graph) into staged parts; network, so retried
    (not when credentials are refused or missing). A retry resumes from the cursors the failed attempt staged."""
    return ingest.extract(_config(config_file), extraction, _QUIET)


def _stage(
    config_file: str, sources: list[str] | None, mailboxes: list[str] | None = None
) -> tuple[list[dict[str, object]], list[str]]:
    """Extract the chosen sources (None: every configured one; `mailboxes` limits Exchange and Graph) in parallel
    threads; returns the notes of those that worked and a line per failed one: a failed source does not stop
    the others."""
    extractions = ingest.configured_plan(_config(config_file), sources, mailboxes)
    ingest.import_connectors(e.source for e in extractions)  # here, not in each thread: see import_connectors
    futures = {
        e.label: (stage_live_source if e.over_network else stage_files).submit(config_file, e)
        for e in extractions
    }
    wait(list(futures.values()))
    outcomes = {label: f.result(raise_on_failure=False) for label, f in futures.items()}
    failed = [f"{label}: {o}" for label, o in outcomes.items() if isinstance(o, BaseException)]
    return [o for o in outcomes.values() if isinstance(o, dict)], failed


# --- Load, build -----------------------------------------------------------------------------------------


@task(cache_policy=NO_CACHE)
def load(config_file: str, notes: list[dict[str, object]]) -> dict[str, int]:
    """The single writer merges every staged part."""
    stats = ingest.merge(_config(config_file), notes, command="daily ingest", publish=False)
    get_run_logger().info("Loaded: %s; quarantined by reason: %s", stats.counts(), dict(stats.quarantined))
    return stats.counts()


@task(cache_policy=NO_CACHE)
def build(config_file: str, as_of: dt.datetime) -> dict[str, int]:
    """Rebuild the marts (alerts included) as of `as_of`."""
    counts = run_build(_config(config_file), as_of, publish=False)
    get_run_logger().info("Built marts as of %s: %s", as_of.isoformat(), counts)
    return counts


# --- Alerts, publish, artifacts --------------------------------------------------------------------------


@task(cache_policy=NO_CACHE)
def render_digest(config_file: str, as_of: dt.datetime) -> tuple[Digest, DigestFiles]:
    """Read the day's digest from the marts, render it, and save its JSON and chart next to the warehouse."""
    config = _config(config_file)
    with writing(config, "digest", publish=False) as (con, _run):
        digest = queries.load_digest(con, config, report_day(config, as_of))
        files = write_digest_files(con, config, digest)
    return digest, files


@task(cache_policy=NO_CACHE, retries=2, retry_delay_seconds=[30, 120], retry_condition_fn=_worth_retrying)
def post_to_slack(
    config_file: str,
    digest: Digest,
    files: DigestFiles,
    dry_run: bool,
    forced_since: dt.datetime | None,
) -> Delivery:
    """Post what this day has not posted yet (forced: what was posted before `forced_since`, the start of the
    run); a failed post fails the task, and a retry posts only the rest."""
    config = _config(config_file)
    logger = get_run_logger()
    token = None if dry_run else resolve_token(config)
    if token is None:
        logger.info(
            "Dry run (%s): digest written to %s", "asked" if dry_run else "no Slack token", files.json_path
        )
        return Delivery(dry_run=True)
    with writing(config, "post", publish=False) as (con, _run):
        delivery = deliver(con, config, digest, files, token=token, forced_since=forced_since)
    for line in delivery.posted:
        logger.info("Posted %s", line)
    for line in delivery.already_posted:
        logger.info("Already posted earlier: %s", line)
    if delivery.failed:
        raise RuntimeError("Slack posts failed (they will be retried): " + "; ".join(delivery.failed))
    return delivery


@task(cache_policy=NO_CACHE)
def publish_warehouse(config_file: str) -> None:
    """Copy the warehouse to the analysts' read-only file, once per run."""
    publish_snapshot(_config(config_file))


@task(cache_policy=NO_CACHE)
def write_artifacts(digest: Digest, files: DigestFiles) -> None:
    """A markdown digest and a table of the day's vendor metrics, kept by Prefect for every run."""
    create_markdown_artifact(
        key="vendor-health-digest",
        markdown=digest_markdown(digest, files),
        description=f"Vendor communication health, {digest.day}",
    )
    create_table_artifact(
        key="vendor-health-metrics",
        table=render.digest_table(digest),
        description=f"Vendor metrics for {digest.day} (business hours, over {digest.window})",
    )


# --- Flows -----------------------------------------------------------------------------------------------


def _resolve(config: str | None) -> str:
    return str(find_config_path(config).resolve())


def _extract_and_load(config_file: str, sources: list[str] | None) -> tuple[dict[str, int], list[str]]:
    """The chosen sources in parallel threads, then the one writer merges every staged part (also those that
    `extract` runs on other machines staged)."""
    if sources == []:
        get_run_logger().info("sources=[]: extracting nothing here, merging what `extract` runs staged")
    notes, failed = _stage(config_file, sources)
    return load(config_file, notes), failed


@flow(name="extract", log_prints=True, task_runner=ThreadPoolTaskRunner(max_workers=EXTRACT_THREADS))
def extract(
    sources: list[str] | None = None, mailboxes: list[str] | None = None, config: str | None = None
) -> list[dict[str, object]]:
    """Stage what is new from some sources without touching the warehouse, to fan extraction out to workers on
    other machines (with `warehouse.staging_dir` a URL they share, e.g. s3://…): split it by source, and Exchange
    or Graph by mailbox. The daily flow's single writer merges every staged part; run it with `sources=[]` to
    leave extraction to these runs."""
    notes, failed = _stage(_resolve(config), sources, mailboxes)
    if failed:  # what the other sources staged stays staged for the merge
        raise RuntimeError("some sources could not be read: " + "; ".join(failed))
    return notes


@flow(name="daily", log_prints=True, task_runner=ThreadPoolTaskRunner(max_workers=EXTRACT_THREADS))
def daily(
    as_of: str | None = None,
    post: bool = True,
    dry_run: bool = False,
    force: bool = False,
    config: str | None = None,
    sources: list[str] | None = None,
) -> dict[str, Any]:
    """Ingest every source, build the marts (alerts included), render and post the digest, keep artifacts.

    `as_of` defaults to the end of the company's last completed working day, so a 07:00 run reports yesterday
    (Friday on Mondays) and a re-run reports the same day. `sources` limits what this run extracts itself
    (`[]`: none, when `extract` runs elsewhere do it); it always merges every staged part.
    """
    # --force posts again what was posted before this run: once, however often post_to_slack is retried.
    forced_since = dt.datetime.now(dt.UTC) if force else None
    config_file = _resolve(config)
    cfg = _config(config_file)
    instant = parse_as_of(as_of, cfg) if as_of else queries.default_as_of(cfg)
    try:
        loaded, failed_sources = _extract_and_load(config_file, sources)
        built = build(config_file, instant)
        digest, files = render_digest(config_file, instant)
        delivery = post_to_slack(config_file, digest, files, dry_run, forced_since) if post else None
    finally:
        publish_warehouse(config_file)
    write_artifacts(digest, files)
    if failed_sources:  # the digest went out with what could be read; the run still shows as failed
        raise RuntimeError("some sources could not be read: " + "; ".join(failed_sources))
    return {
        "as_of": instant.isoformat(),
        "day": digest.day.isoformat(),
        "status": digest.status,
        "loaded": loaded,
        "marts": built,
        "digest_json": str(files.json_path),
        "digest_text": files.terminal_text,
        "chart": str(files.chart_path),
        "posted": delivery.posted if delivery else [],
        "dry_run": delivery.dry_run if delivery else True,
    }


@flow(name="backfill", log_prints=True, task_runner=ThreadPoolTaskRunner(max_workers=EXTRACT_THREADS))
def backfill(since: str, until: str, post: bool = False, config: str | None = None) -> list[dict[str, Any]]:
    """Ingest everything configured once, then compute each day from `since` to `until` (company-local dates)
    with the same tasks as the daily flow; posting is off unless asked for."""
    config_file = _resolve(config)
    cfg = _config(config_file)
    first, last = dt.date.fromisoformat(since), dt.date.fromisoformat(until)
    if last < first:
        raise ValueError(f"until ({until}) is before since ({since})")
    days = []
    try:
        _loaded, failed_sources = _extract_and_load(config_file, None)
        if failed_sources:
            raise RuntimeError("some sources could not be read: " + "; ".join(failed_sources))
        day = first
        while day <= last:
            instant = parse_as_of(day.isoformat(), cfg)
            build(config_file, instant)
            digest, files = render_digest(config_file, instant)
            if post:
                post_to_slack(config_file, digest, files, False, None)
            write_artifacts(digest, files)
            days.append(
                {"day": day.isoformat(), "status": digest.status, "digest_json": str(files.json_path)}
            )
            day += dt.timedelta(days=1)
    finally:
        publish_warehouse(config_file)
    return days


def serve() -> None:
    """Serve the daily schedule from this process (needs a Prefect server or Cloud, no work pool)."""
    daily.serve(name="daily", schedules=[Cron("0 7 * * 1-5", timezone="Europe/Paris")], global_limit=1)


if __name__ == "__main__":
    serve()

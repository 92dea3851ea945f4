"""The `commhealth` command line."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from commhealth.config import Config, ConfigError, load_config
from commhealth.report import print_summary
from warehouse.db import WarehouseBusyError
from warehouse.load import LoadStats
from warehouse.session import WarehouseOutOfMemoryError

# Prefect's temporary local server would otherwise send usage analytics.
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")

app = typer.Typer(
    no_args_is_help=True, add_completion=False, help="Vendor communication health from email and Slack."
)
ingest_app = typer.Typer(no_args_is_help=True, help="Read messages into the warehouse.")
app.add_typer(ingest_app, name="ingest")

console = Console()
err_console = Console(stderr=True)


class _State:
    config_path: Path | None = None


def fail(message: str, code: int = 2) -> typer.Exit:
    err_console.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    return typer.Exit(code)


def config() -> Config:
    try:
        return load_config(_State.config_path)
    except ConfigError as exc:
        raise fail(str(exc)) from None


@app.callback()
def main_options(
    config_path: Annotated[
        Path | None,
        typer.Option(
            "--config",
            "-c",
            help="commhealth.toml to use (default: $COMMHEALTH_CONFIG, else ./commhealth.toml).",
        ),
    ] = None,
) -> None:
    _State.config_path = config_path


def _existing(paths: list[Path]) -> list[Path]:
    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        raise fail(f"no such file or folder: {', '.join(missing)}")
    return paths


def _run_ingest(
    cfg: Config, *, mail: list[Path] = (), slack_exports: list[Path] = (), live: list[str] = ()
) -> LoadStats:
    from commhealth.ingest import ingest
    from commhealth.secrets import SecretUnavailableError
    from connectors.base import SourceAuthError, SourceError

    try:
        stats = ingest(cfg, err_console, mail=list(mail), slack_exports=list(slack_exports), live=list(live))
    except WarehouseBusyError as exc:
        raise fail(f"{exc} Staged data waits for the next run.", code=3) from None
    except WarehouseOutOfMemoryError as exc:
        raise fail(str(exc), code=1) from None
    except (SourceAuthError, SecretUnavailableError) as exc:
        raise fail(str(exc)) from None
    except SourceError as exc:
        raise fail(f"{exc} (what was read so far is stored; run again to resume)", code=1) from None
    print_summary(stats, console)
    console.print(f"Warehouse: {cfg.warehouse.path}  (analysts open {cfg.warehouse.published_path})")
    return stats


@ingest_app.command("mbox")
def ingest_mbox(
    paths: Annotated[
        list[Path], typer.Argument(help="mbox files, maildir folders, .eml files or folders of them.")
    ],
) -> None:
    """Read email from files."""
    cfg = config()
    _run_ingest(cfg, mail=_existing(paths))


@ingest_app.command("slack-export")
def ingest_slack_export(
    paths: Annotated[list[Path], typer.Argument(help="Slack export folders or .zip files.")],
) -> None:
    """Read a standard Slack export."""
    cfg = config()
    _run_ingest(cfg, slack_exports=_existing(paths))


def _run_live(name: str) -> None:
    cfg = config()
    if getattr(cfg.sources, name) is None:
        raise fail(f"{cfg.source_file}: no [sources.{name}] section; see the README, Live sources")
    _run_ingest(cfg, live=[name])


@ingest_app.command("slack")
def ingest_slack() -> None:
    """Pull new messages from the vendors' Slack channels (Web API, incremental)."""
    _run_live("slack")


@ingest_app.command("exchange")
def ingest_exchange() -> None:
    """Pull new mail from Exchange Server mailboxes (EWS, incremental)."""
    _run_live("exchange")


@ingest_app.command("graph")
def ingest_graph() -> None:
    """Pull new mail from Exchange Online mailboxes (Microsoft Graph delta, incremental)."""
    _run_live("graph")


@ingest_app.command("all")
def ingest_all() -> None:
    """Read every configured source: files ([sources.mbox], [sources.slack_export]) and live ones."""
    from commhealth.ingest import configured_live_sources, configured_paths

    cfg = config()
    mail = configured_paths(cfg, "mbox")
    exports = configured_paths(cfg, "slack_export")
    live = configured_live_sources(cfg)
    if not mail and not exports and not live:
        raise fail(f"{cfg.source_file}: no sources configured (see [sources.*] in the README)")
    _run_ingest(cfg, mail=_existing(mail), slack_exports=_existing(exports), live=live)


@app.command()
def build(
    as_of: Annotated[
        str | None,
        typer.Option(
            "--as-of",
            help="ISO 8601 instant to compute as of (default: now). No offset: company time zone; "
            "a date alone: the whole day.",
        ),
    ] = None,
    full: Annotated[
        bool,
        typer.Option(
            "--full", help="Recompute every conversation, not only those touched since the last build."
        ),
    ] = False,
) -> None:
    """Rebuild the metric marts from core.messages; messages after --as-of are ignored."""
    from commhealth.metrics import build
    from transforms.build import parse_as_of

    cfg = config()
    try:
        instant = parse_as_of(as_of, cfg)
    except ValueError as exc:
        raise fail(str(exc)) from None
    try:
        counts = build(cfg, instant, full=full)
    except WarehouseBusyError as exc:
        raise fail(str(exc), code=3) from None
    except WarehouseOutOfMemoryError as exc:
        raise fail(str(exc), code=1) from None
    mode = (
        "full"
        if counts.get("full_build")
        else f"incremental, {counts.get('scope_conversations', 0):,} conversations"
    )
    console.print(
        f"Built marts ({mode}) as of {instant.isoformat()}: "
        + ", ".join(
            f"{counts[t]:,} {t}" for t in ("responses", "awaiting", "message_signals", "vendor_daily")
        )
    )
    console.print(f"Analysts open {cfg.warehouse.published_path}")


@app.command()
def run(
    as_of: Annotated[
        str | None,
        typer.Option(
            "--as-of", help="Report as of this instant (default: end of the last company working day)."
        ),
    ] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Render the digest but post nothing.")] = False,
    force: Annotated[
        bool, typer.Option("--force", help="Post again what was already posted for that day.")
    ] = False,
) -> None:
    """Run the daily flow once: ingest, build, alerts, digest."""
    cfg = config()
    if as_of:
        from transforms.build import parse_as_of

        try:
            parse_as_of(as_of, cfg)
        except ValueError as exc:
            raise fail(str(exc)) from None
    from flows.daily import daily

    _start_prefect()
    try:
        result = daily(as_of=as_of, dry_run=dry_run, force=force, config=str(cfg.source_file))
    except WarehouseBusyError as exc:
        raise fail(str(exc), code=3) from None
    except Exception as exc:  # noqa: BLE001 - the flow logged the details; say it failed in one line
        raise fail(f"the daily run failed: {exc}", code=1) from None
    if result["dry_run"]:
        console.print(result["digest_text"], highlight=False, markup=False)
    console.print(f"Digest of {result['day']}: {result['status']}. Block Kit JSON: {result['digest_json']}")
    for line in result["posted"]:
        console.print(f"posted: {line}")


@app.command()
def demo(
    seed: Annotated[int, typer.Option(help="Random seed of the generated dataset.")] = 7,
    target: Annotated[Path, typer.Option(help="Where to write the demo dataset and its warehouse.")] = Path(
        "demo"
    ),
) -> None:
    """Write the demo dataset, ingest it, and show what is there."""
    from commhealth.demo import run_demo

    _start_prefect()
    run_demo(target, seed=seed, console=console)


# Prefect gives its temporary server 20 s to start by default, which a busy machine exceeded (issue 11); 180 s is
# what our flow tests give Prefect's test harness.
EPHEMERAL_STARTUP_SECONDS = 180


def _start_prefect() -> None:
    """Start Prefect's temporary server now, unless PREFECT_API_URL names a running one, so that a slow start is
    reported as such. PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS, when the user set it, wins over our
    longer default."""
    from prefect import get_client
    from prefect.settings import (
        PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS,
        get_current_settings,
        temporary_settings,
    )

    ephemeral = get_current_settings().server.ephemeral
    chosen = "startup_timeout_seconds" in ephemeral.model_fields_set
    updates = {} if chosen else {PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS: EPHEMERAL_STARTUP_SECONDS}
    with temporary_settings(updates=updates):
        try:
            get_client(sync_client=True)  # starts the temporary server when no API URL is set
        except RuntimeError:
            waited = PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS.value()
            raise fail(
                f"Prefect's temporary server did not start within {waited} s; run `prefect server start` "
                "elsewhere and point commhealth at it with PREFECT_API_URL=http://127.0.0.1:4200/api, or allow "
                "more time with PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS",
                code=1,
            ) from None


@app.command()
def status() -> None:
    """What the warehouse holds: messages by source, side and vendor, and quarantine by reason."""
    from commhealth.report import print_status

    print_status(_published_copy(config()), console)


def _published_copy(cfg: Config) -> Path:
    if not cfg.warehouse.published_path.exists():
        raise fail(f"no published warehouse at {cfg.warehouse.published_path}; run an ingest first")
    return cfg.warehouse.published_path


@app.command()
def sql(
    query: Annotated[
        str | None,
        typer.Argument(help="SQL to run (default: what is piped in, else an interactive prompt)."),
    ] = None,
    as_csv: Annotated[
        bool, typer.Option("--csv", help="Write CSV with every row instead of a table.")
    ] = False,
) -> None:
    """Read-only SQL on the analysts' published copy: a prompt, or the query given or piped in."""
    import duckdb
    from rich.markup import escape

    from commhealth.sql_shell import interactive, one_line, run_script
    from warehouse.db import open_reader

    path = _published_copy(config())
    try:
        con = open_reader(path)
    except duckdb.Error as exc:
        raise fail(f"cannot open {path}: {escape(one_line(exc))}", code=1) from None
    try:
        if query is None and sys.stdin.isatty():
            console.print(f"Read-only SQL on {path}.", highlight=False)
            interactive(con, console, err_console, sys.stdout, as_csv=as_csv)
        else:
            run_script(con, sys.stdin.read() if query is None else query, console, sys.stdout, as_csv=as_csv)
    except duckdb.Error as exc:
        raise fail(escape(one_line(exc))) from None
    finally:
        con.close()


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        err_console.print("interrupted; batches already committed are kept")
        sys.exit(130)

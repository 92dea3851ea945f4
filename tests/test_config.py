"""Configuration: the documented shape loads; every mistake is one clear line naming file, key and problem."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from commhealth.config import ConfigError, load_config
from tests.conftest import EXAMPLE_CONFIG, write_config


def test_example_shape_loads_and_resolves_paths(config_path: Path) -> None:
    config = load_config(config_path)
    assert config.company.name == "Norelec"
    assert config.company.intervals == [(dt.time(9, 0), dt.time(12, 30)), (dt.time(13, 30), dt.time(18, 0))]
    assert config.company.closures == [dt.date(2026, 12, 24)]
    assert [v.id for v in config.vendors] == ["kappa", "lumen"]
    assert config.vendor("lumen").workdays[-1] == "sat"
    assert config.warehouse.path == config_path.parent.resolve() / "warehouse.duckdb"
    assert config.warehouse.published_path.name == "warehouse.published.duckdb"
    assert config.metrics.awaiting_lookback_days == 14


def test_found_through_env_then_cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    elsewhere = write_config(tmp_path / "elsewhere", name="other.toml")
    monkeypatch.setenv("COMMHEALTH_CONFIG", str(elsewhere))
    assert load_config().source_file == elsewhere.resolve()
    monkeypatch.delenv("COMMHEALTH_CONFIG")
    monkeypatch.chdir(write_config(tmp_path / "here").parent)
    assert load_config().source_file == (tmp_path / "here" / "commhealth.toml").resolve()


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ('name = "Norelec"', 'name = "Norelec"\ncolour = "blue"', "company.colour: unknown key"),
        (
            'timezone = "Asia/Kolkata"',
            'timezone = "Asia/Kolkatta"',
            "vendors[0].timezone: unknown IANA time zone",
        ),
        ('holidays = "IN"', 'holidays = "XX"', "vendors[0].holidays: unknown holidays country code 'XX'"),
        ('holidays = "FR"', 'holidays = "FR-99"', "company.holidays: unknown holidays subdivision '99'"),
        ('business_hours = ["09:30-18:30"]', 'business_hours = ["18:00-09:00"]', "ends before it starts"),
        ('business_hours = ["09:30-18:30"]', 'business_hours = ["9h-18h"]', "is not like '09:00-18:00'"),
        (
            'email_domains = ["lumen.ro"]',
            'email_domains = ["kappa-offshore.in"]',
            "vendors[1].email_domains[0]",
        ),
        ('id = "lumen"', 'id = "kappa"', "vendors[1].id: duplicate vendor id 'kappa'"),
        (
            'slack_channels = ["C0LUMEN"]',
            'slack_channels = ["#ext-kappa"]',
            "already claimed by vendor 'kappa'",
        ),
        ('workdays = ["mon", "tue", "wed", "thu", "fri", "sat"]', 'workdays = ["lundi"]', "unknown weekday"),
        ("sla_hours = 16", "sla_hours = -1", "vendors[1].sla_hours"),
        ("[metrics]", "[metric]", "metric: unknown key"),
        (
            'path = "warehouse.duckdb"',
            'path = "warehouse.duckdb"\nmemory_limit = "2 gigs"',
            "warehouse.memory_limit: '2 gigs' is not a memory size",
        ),
        (
            'path = "warehouse.duckdb"',
            'path = "warehouse.duckdb"\nmerge_memory_limit = "8MB"',
            "warehouse.merge_memory_limit: '8MB' is too small for DuckDB",
        ),
    ],
)
def test_each_mistake_is_one_line(tmp_path: Path, old: str, new: str, expected: str) -> None:
    assert old in EXAMPLE_CONFIG
    path = write_config(tmp_path, EXAMPLE_CONFIG.replace(old, new, 1))
    with pytest.raises(ConfigError) as info:
        load_config(path)
    message = str(info.value)
    assert message.startswith(f"{path}: ")
    assert expected in message
    assert "\n" not in message


def test_domain_claimed_by_company_and_vendor(tmp_path: Path) -> None:
    path = write_config(tmp_path, EXAMPLE_CONFIG.replace('"lumen.ro"', '"Norelec.FR"'))
    with pytest.raises(
        ConfigError, match=r"vendors\[1\]\.email_domains\[0\]: 'norelec.fr' is already claimed by the company"
    ):
        load_config(path)


def test_missing_file_and_bad_toml(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="config file not found"):
        load_config(tmp_path / "nope.toml")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(write_config(tmp_path, "[company\nname="))


def test_reserved_vendor_id(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="reserved"):
        load_config(write_config(tmp_path, EXAMPLE_CONFIG.replace('id = "lumen"', 'id = "company"')))

"""Configuration: the documented shape loads; every mistake is one clear line naming file, key and problem."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from ground.config import ConfigError, load_config
from tests.conftest import EXAMPLE_CONFIG, write_config

LUMEN_WORKDAYS = 'workdays = ["mon", "tue", "wed", "thu", "fri", "sat"]'
COMPANY_CLOSURES = 'closures = ["2026-12-24"]'


def test_example_shape_loads_and_resolves_paths(config_path: Path) -> None:
    config = load_config(config_path)
    assert config.company.name == "Norelec"
    monday = dt.date(2026, 11, 9)
    assert [i.text for i in config.company.hours_on(monday)] == ["09:00-12:30", "13:30-18:00"]
    assert config.company.closures == [dt.date(2026, 12, 24)]
    assert config.company.hours_on(dt.date(2026, 12, 24)) == ()
    assert [v.id for v in config.vendors] == ["kappa", "lumen"]
    assert config.vendor("lumen").workdays[-1] == "sat"
    assert config.warehouse.path == config_path.parent.resolve() / "warehouse.duckdb"
    assert config.warehouse.published_path.name == "warehouse.published.duckdb"
    assert config.metrics.awaiting_lookback_days == 14


CALENDAR_TABLES = """
[vendors.hours_by_weekday]
Friday = ["09:00-13:00"]  # a full name reads as its three letters
sat = ["09:00-12:00"]

[[vendors.special_hours]]
from = 2027-02-08
to = 2027-03-09
business_hours = ["09:00-15:00"]

[[vendors.special_hours]]
date = 2026-12-24
business_hours = ["22:00-02:00"]
"""


def test_hours_by_weekday_special_hours_and_night_shifts_load(tmp_path: Path) -> None:
    config = load_config(write_config(tmp_path, EXAMPLE_CONFIG + CALENDAR_TABLES))
    lumen = config.vendor("lumen")

    def hours(day: dt.date) -> list[str]:
        return [i.text for i in lumen.hours_on(day)]

    assert hours(dt.date(2026, 11, 12)) == ["09:00-17:00"]  # a Thursday: workdays and business_hours
    assert hours(dt.date(2026, 11, 13)) == ["09:00-13:00"]  # a short Friday
    assert hours(dt.date(2026, 11, 14)) == ["09:00-12:00"]  # a Saturday morning
    assert hours(dt.date(2027, 2, 12)) == ["09:00-15:00"]  # a Friday in the range: the range's hours
    assert hours(dt.date(2027, 2, 14)) == []  # a Sunday in the range stays off
    assert hours(dt.date(2026, 12, 24)) == ["22:00-02:00"]
    (night,) = lumen.hours_on(dt.date(2026, 12, 24))
    assert (night.start, night.end) == (dt.timedelta(hours=22), dt.timedelta(hours=26))


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
        ('business_hours = ["09:30-18:30"]', 'business_hours = ["09:00-09:00"]', "ends when it starts"),
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
        (
            LUMEN_WORKDAYS,
            LUMEN_WORKDAYS + '\nhours_by_weekday = { friyay = ["09:00-13:00"] }',
            "vendors[1].hours_by_weekday.friyay: unknown weekday 'friyay'",
        ),
        (
            LUMEN_WORKDAYS,
            LUMEN_WORKDAYS + '\nhours_by_weekday = { fri = ["09:00-13:00"], Friday = ["14:00-15:00"] }',
            "vendors[1].hours_by_weekday: 'Friday' is the same weekday as 'fri'",
        ),
        (
            LUMEN_WORKDAYS,
            LUMEN_WORKDAYS + '\nhours_by_weekday = { fri = ["09:00-13:00", "12:00-14:00"] }',
            "vendors[1].hours_by_weekday.fri: business hours intervals overlap: '09:00-13:00' and '12:00-14:00'",
        ),
        (
            LUMEN_WORKDAYS,
            LUMEN_WORKDAYS + '\nhours_by_weekday = { sat = ["9-12"] }',
            "vendors[1].hours_by_weekday.sat: business hours interval '9-12' is not like '09:00-18:00'",
        ),
        (
            'business_hours = ["09:30-18:30"]',
            'business_hours = ["06:00-12:00", "22:00-07:00"]',
            "vendors[0].business_hours: '22:00-07:00' on mon runs into '06:00-12:00' on tue",
        ),
        (
            LUMEN_WORKDAYS,
            LUMEN_WORKDAYS + '\nhours_by_weekday = { fri = ["22:00-10:00"] }',
            "vendors[1].hours_by_weekday.fri: '22:00-10:00' on fri runs into '09:00-17:00' on sat",
        ),
        (
            COMPANY_CLOSURES,
            COMPANY_CLOSURES + '\nspecial_hours = [{ from = 2027-02-18, business_hours = ["09:00-15:00"] }]',
            "company.special_hours[0]: a range needs both from and to",
        ),
        (
            COMPANY_CLOSURES,
            COMPANY_CLOSURES
            + '\nspecial_hours = [{ from = 2027-03-19, to = 2027-02-18, business_hours = ["09:00-15:00"] }]',
            "company.special_hours[0]: to (2027-02-18) is before from (2027-03-19)",
        ),
        (
            COMPANY_CLOSURES,
            COMPANY_CLOSURES
            + '\nspecial_hours = [{ date = 2026-12-23, from = 2026-12-22, to = 2026-12-23, business_hours = ["09:00-12:00"] }]',
            "company.special_hours[0]: give either date, or from and to",
        ),
        (
            COMPANY_CLOSURES,
            COMPANY_CLOSURES + '\nspecial_hours = [{ date = 2026-12-23, hours = ["09:00-12:00"] }]',
            "company.special_hours[0].hours: unknown key",
        ),
        (
            COMPANY_CLOSURES,
            COMPANY_CLOSURES + '\nspecial_hours = [{ date = 2026-12-24, business_hours = ["09:00-12:00"] }]',
            "company.special_hours[0].date: 2026-12-24 is also in closures",
        ),
        (
            COMPANY_CLOSURES,
            COMPANY_CLOSURES
            + '\nspecial_hours = [{ date = 2026-12-23, business_hours = ["09:00-12:00"] },'
            + ' { date = 2026-12-23, business_hours = ["14:00-16:00"] }]',
            "company.special_hours[1].date: 2026-12-23 is also special_hours[0]",
        ),
        (
            COMPANY_CLOSURES,
            COMPANY_CLOSURES
            + '\nspecial_hours = [{ from = 2027-02-18, to = 2027-03-19, business_hours = ["09:00-15:00"] },'
            + ' { from = 2027-01-04, to = 2027-02-18, business_hours = ["10:00-16:00"] }]',
            "company.special_hours[0]: its dates overlap special_hours[1]",
        ),
        (
            COMPANY_CLOSURES,
            COMPANY_CLOSURES + '\nspecial_hours = [{ date = 2026-12-22, business_hours = ["21:00-10:00"] }]',
            "company.special_hours[0]: '21:00-10:00' on 2026-12-22 runs into '09:00-12:30' on 2026-12-23",
        ),
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

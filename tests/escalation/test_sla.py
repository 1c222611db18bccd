"""Business time and the policy file. Expected moments are written out by hand from the
demo file (Europe/Rome; Mon-Fri 09:00-13:00 + 14:00-18:00, Sat 09:00-13:00)."""

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from escalation.sla import (
    WEEKDAYS,
    SlaConfigError,
    easter_sunday,
    load_sla_config,
    parse_sla_config,
)

DEMO = Path(__file__).resolve().parents[2] / "data" / "sla_policies.yaml"
ROME = ZoneInfo("Europe/Rome")
CONFIG = load_sla_config(DEMO)


def rome(*args: int) -> datetime:
    return datetime(*args, tzinfo=ROME)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def demo(**changes) -> dict:
    data = yaml.safe_load(DEMO.read_text(encoding="utf-8"))
    return {**data, **changes}


ROUND_THE_CLOCK = {day: ["00:00-24:00"] for day in WEEKDAYS}
ALWAYS_OPEN = parse_sla_config(demo(business_hours=ROUND_THE_CLOCK, holidays=[]))


@pytest.mark.parametrize(("start", "minutes", "due"), [
    # Friday 17:30: half an hour on Friday, the rest on Saturday morning.
    (rome(2025, 11, 14, 17, 30), 120, utc(2025, 11, 15, 9, 30)),
    # ... and what Saturday's four hours cannot hold goes to Monday (Sunday is closed).
    (rome(2025, 11, 14, 17, 30), 300, utc(2025, 11, 17, 8, 30)),
    # The lunch break does not count.
    (rome(2025, 11, 17, 12, 30), 60, utc(2025, 11, 17, 13, 30)),
    (rome(2025, 11, 17, 13, 15), 30, utc(2025, 11, 17, 13, 30)),
    # A deadline that fills a range exactly is its closing time, not the next opening.
    (rome(2025, 11, 17, 9, 0), 240, utc(2025, 11, 17, 12, 0)),
    # Opened on Sunday evening: the clock starts on Monday at 09:00.
    (rome(2025, 11, 16, 20, 0), 60, utc(2025, 11, 17, 9, 0)),
    # Christmas and Santo Stefano (Thursday, Friday) are closed: on to Saturday.
    (rome(2025, 12, 24, 17, 0), 240, utc(2025, 12, 27, 11, 0)),
    # Saturday before Easter: Sunday closed, Easter Monday a holiday, Tuesday 10:00 CEST.
    (rome(2025, 4, 19, 12, 0), 120, utc(2025, 4, 22, 8, 0)),
    # Easter 2026 is on 5 April: Monday 6 April closed.
    (rome(2026, 4, 4, 12, 0), 120, utc(2026, 4, 7, 8, 0)),
    # Over the DST weekend (clocks go forward on Sunday 30 March 2025): Monday 09:30 is CEST.
    (rome(2025, 3, 28, 17, 30), 300, utc(2025, 3, 31, 7, 30)),
    # Zero minutes inside hours is the start itself; outside, the next opening.
    (rome(2025, 11, 17, 10, 0), 0, utc(2025, 11, 17, 9, 0)),
    (rome(2025, 11, 17, 13, 30), 0, utc(2025, 11, 17, 13, 0)),
])
def test_add_business_minutes_on_the_demo_calendar(start, minutes, due):
    assert CONFIG.add_business_minutes(start, minutes) == due
    assert CONFIG.add_business_minutes(start, minutes).tzinfo == UTC
    assert CONFIG.business_minutes_between(start, due) == minutes


def test_a_start_given_in_another_zone_is_the_same_moment():
    assert CONFIG.add_business_minutes(utc(2025, 11, 14, 16, 30), 120) == utc(2025, 11, 15, 9, 30)


@pytest.mark.parametrize(("start", "due"), [
    # Spring forward (last Sunday of March): 23:00 CET + 4 real hours = 04:00 CEST.
    (rome(2025, 3, 29, 23, 0), utc(2025, 3, 30, 2, 0)),
    # Fall back (last Sunday of October): 23:00 CEST + 4 real hours = 02:00 CET.
    (rome(2025, 10, 25, 23, 0), utc(2025, 10, 26, 1, 0)),
])
def test_a_business_minute_is_a_real_minute_across_a_dst_change(start, due):
    assert ALWAYS_OPEN.add_business_minutes(start, 240) == due


def test_dst_days_are_23_and_25_hours_long_when_open_round_the_clock():
    between = ALWAYS_OPEN.business_minutes_between
    spring = between(rome(2025, 3, 30, 0, 0), rome(2025, 3, 31, 0, 0))
    autumn = between(rome(2025, 10, 26, 0, 0), rome(2025, 10, 27, 0, 0))
    assert (spring, autumn) == (23 * 60, 25 * 60)


def test_a_one_off_holiday_closes_that_date_only():
    config = parse_sla_config(demo(holidays=["2025-11-18"]))
    # Tuesday 18 November 2025 closed: Monday 17:00 + 120 -> Wednesday 10:00.
    assert config.add_business_minutes(rome(2025, 11, 17, 17, 0), 120) == utc(2025, 11, 19, 9, 0)
    # 18 November 2026 (a Wednesday) is an ordinary day.
    assert config.add_business_minutes(rome(2026, 11, 17, 17, 0), 120) == utc(2026, 11, 18, 9, 0)


def test_unquoted_yaml_dates_are_one_off_holidays_too():
    data = yaml.safe_load("holidays: [2025-11-18]")
    config = parse_sla_config(demo(**data))
    assert config.add_business_minutes(rome(2025, 11, 17, 17, 0), 120) == utc(2025, 11, 19, 9, 0)


@pytest.mark.parametrize(("year", "easter"), [
    (1818, date(1818, 3, 22)), (2000, date(2000, 4, 23)), (2019, date(2019, 4, 21)),
    (2024, date(2024, 3, 31)), (2025, date(2025, 4, 20)), (2026, date(2026, 4, 5)),
    (2038, date(2038, 4, 25)), (2285, date(2285, 3, 22)),
])
def test_easter_sunday(year, easter):
    assert easter_sunday(year) == easter


def test_business_minutes_between_counts_only_open_time_and_is_signed():
    friday, monday = rome(2025, 11, 14, 12, 0), rome(2025, 11, 17, 10, 0)
    # Fri 12-13 and 14-18 (300) + Sat 9-13 (240) + Mon 9-10 (60)
    assert CONFIG.business_minutes_between(friday, monday) == 600
    assert CONFIG.business_minutes_between(monday, friday) == -600
    assert CONFIG.business_minutes_between(rome(2025, 11, 16, 8, 0), rome(2025, 11, 16, 20, 0)) == 0


@settings(max_examples=200, deadline=None)
@given(start=st.datetimes(min_value=datetime(2024, 1, 1), max_value=datetime(2027, 12, 31),
                          timezones=st.just(UTC)),
       minutes=st.integers(min_value=0, max_value=5000))
def test_adding_then_measuring_gives_the_minutes_back(start, minutes):
    due = CONFIG.add_business_minutes(start, minutes)
    assert due >= start
    assert CONFIG.business_minutes_between(start, due) == pytest.approx(minutes, abs=1e-6)


def test_naive_datetimes_and_negative_minutes_are_refused():
    with pytest.raises(ValueError, match="naive"):
        CONFIG.add_business_minutes(datetime(2025, 11, 17, 10, 0), 10)
    with pytest.raises(ValueError, match="negative"):
        CONFIG.add_business_minutes(rome(2025, 11, 17, 10, 0), -1)


@pytest.mark.parametrize(("priority", "category", "policy"), [
    ("urgent", "general", "urgent"),
    ("urgent", "pre_purchase", "urgent"),  # first match wins
    ("normal", "pre_purchase", "pre-purchase"),
    ("normal", "shipping", "standard"),
    ("low", "general", "standard"),
])
def test_the_first_matching_policy_applies(priority, category, policy):
    assert CONFIG.policy_for(priority, category).name == policy


def test_the_demo_file_reads_as_written():
    assert [level.name for level in CONFIG.chain] == ["operators", "backup", "supervisor"]
    assert CONFIG.chain[1].emails == ("backup@bottega-aurora.example",)
    standard = CONFIG.policy_for("normal", "general")
    assert (standard.first_response_minutes, standard.warn_before_minutes) == (240, 60)
    assert CONFIG.next_level(1).name == "supervisor" and CONFIG.next_level(2) is None


def test_fractional_minutes_are_seconds():
    config = parse_sla_config(demo(business_hours=ROUND_THE_CLOCK, policies=[
        {"name": "fast", "first_response_minutes": 0.02, "warn_before_minutes": 0.01}]))
    policy = config.policy_for("normal", "general")
    start = utc(2025, 11, 17, 10, 0)
    assert config.add_business_minutes(start, policy.first_response_minutes) == \
        start + timedelta(seconds=1.2)


NO_CATCH_ALL = [{"name": "urgent", "match": {"priority": "urgent"}, "first_response_minutes": 60}]
AFTER_CATCH_ALL = [{"name": "all", "first_response_minutes": 60},
                   {"name": "urgent", "match": {"priority": "urgent"}, "first_response_minutes": 5}]


@pytest.mark.parametrize(("changes", "message"), [
    ({"business_hours": {"mon": ["18:00-09:00"]}},
     "business_hours.mon[0]: '18:00-09:00' ends before it starts"),
    ({"business_hours": {"mon": ["9-13"]}}, "business_hours.mon[0]: '9-13' is not a range"),
    ({"business_hours": {"mon": ["09:00-25:00"]}}, "not a time of day"),
    ({"business_hours": {"mon": ["09:00-13:00", "12:00-14:00"]}}, "mon: ranges overlap at 12:00"),
    ({"business_hours": {"mun": ["09:00-13:00"]}}, "business_hours.mun"),
    ({"business_hours": {}}, "no business hours on any day"),
    ({"holidays": ["02-30"]}, "holidays[0]: '02-30' is not a date"),
    ({"holidays": ["2025-13-01"]}, "holidays[0]: '2025-13-01' is not a date"),
    ({"holidays": ["easter"]}, "'easter' is not a date"),
    ({"timezone": "Europe/Atlantis"}, "timezone: unknown timezone 'Europe/Atlantis'"),
    ({"chain": []}, "chain: List should have at least 1 item"),
    ({"chain": [{"name": "ops", "emails": []}]}, "chain[0].emails: List should have at least 1"),
    ({"chain": [{"name": "ops", "emails": ["nobody"]}]}, "not email addresses: ['nobody']"),
    ({"policies": NO_CATCH_ALL}, "policies: no catch-all policy"),
    ({"policies": AFTER_CATCH_ALL}, "policy 'urgent' comes after the catch-all 'all'"),
    ({"policies": [{"name": "x", "first_response_minutes": 30, "warn_before_minutes": 30}]},
     "warn_before_minutes must be less than first_response_minutes"),
    ({"policies": [{"name": "x", "first_response_minutes": 0}]}, "first_response_minutes"),
    ({"policies": [{"name": "x", "match": {"product": "a"}, "first_response_minutes": 5}]},
     "policies[0].match.product"),
])
def test_a_bad_file_is_refused_naming_the_file_and_the_problem(tmp_path, changes, message):
    path = tmp_path / "sla.yaml"
    path.write_text(yaml.safe_dump(demo(**changes)), encoding="utf-8")
    with pytest.raises(SlaConfigError) as caught:
        load_sla_config(path)
    assert str(caught.value).startswith(f"{path}: ")
    assert message in str(caught.value)


def test_a_missing_or_broken_file_is_refused_by_name(tmp_path):
    with pytest.raises(SlaConfigError, match="cannot read"):
        load_sla_config(tmp_path / "absent.yaml")
    broken = tmp_path / "broken.yaml"
    broken.write_text("timezone: [unclosed", encoding="utf-8")
    with pytest.raises(SlaConfigError, match=f"{broken}: not valid YAML"):
        load_sla_config(broken)
    broken.write_text("- just a list", encoding="utf-8")
    with pytest.raises(SlaConfigError, match="expected a mapping"):
        load_sla_config(broken)

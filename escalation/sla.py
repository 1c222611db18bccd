"""SLA policies and business time.

The policy file says when the team works, which days it does not, who is in the escalation
chain and how long a first response may take, in business minutes: the clock runs inside
business hours (on the local clock of `timezone`) and stops at night, on closed days and
holidays. A business minute is a real minute (the arithmetic is in UTC), so a DST change
matters only where business hours cover the skipped or repeated hour. Minutes may be
fractional: production files use whole minutes, tests use seconds.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from pathlib import Path
from typing import Annotated, Literal, get_args
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import BaseModel, ConfigDict, Field, PlainValidator, ValidationError, field_validator

from core import SupportBotError

Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WEEKDAYS: tuple[str, ...] = get_args(Weekday)
EASTER_MONDAY = "easter_monday"
MAX_SEARCH_DAYS = 3 * 366  # no business time in 3 years: a broken calendar, not a loop
_RANGE = re.compile(r"(\d\d):(\d\d)-(\d\d):(\d\d)")
_ANNUAL = re.compile(r"(\d\d)-(\d\d)")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+")
Minutes = tuple[int, int]  # a business range as minutes after local midnight, end may be 1440


class SlaConfigError(SupportBotError):
    """The SLA policy file cannot be used; the message names the file and the problem."""


def easter_sunday(year: int) -> date:
    """Gregorian Easter (the anonymous algorithm of Meeus, Jones and Butcher)."""
    a, b, c = year % 19, year // 100, year % 100
    d, e = divmod(b, 4)
    g = (8 * b + 13) // 25
    h = (19 * a + b - d - g + 15) % 30
    i, k = divmod(c, 4)
    el = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * el) // 451
    month, day = divmod(h + el - 7 * m + 114, 31)
    return date(year, month, day + 1)


@dataclass(frozen=True)
class Holidays:
    annual: frozenset[tuple[int, int]] = frozenset()  # (month, day), every year
    once: frozenset[date] = frozenset()
    easter_monday: bool = False

    def __contains__(self, day: date) -> bool:
        return ((day.month, day.day) in self.annual or day in self.once
                or (self.easter_monday and day - timedelta(days=1) == easter_sunday(day.year)))


def _as_utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise ValueError(f"a naive datetime is ambiguous here: {moment}")
    return moment.astimezone(UTC)


@dataclass(frozen=True)
class Policy:
    name: str
    first_response_minutes: float
    warn_before_minutes: float = 0  # 0: no warning
    priority: str | None = None  # None matches any
    category: str | None = None

    def matches(self, priority: str, category: str) -> bool:
        return self.priority in (None, priority) and self.category in (None, category)


@dataclass(frozen=True)
class Level:
    name: str
    emails: tuple[str, ...]


@dataclass(frozen=True)
class SlaConfig:
    timezone: ZoneInfo
    week: tuple[tuple[Minutes, ...], ...]  # business ranges per weekday, Monday first
    holidays: Holidays
    chain: tuple[Level, ...]
    policies: tuple[Policy, ...]  # the last one is a catch-all
    source: str = ""

    def policy_for(self, priority: str, category: str) -> Policy:
        return next(p for p in self.policies if p.matches(priority, category))

    def level(self, index: int) -> Level:
        # A chain shortened after tickets escalated still has a last level for them.
        return self.chain[min(index, len(self.chain) - 1)]

    def next_level(self, index: int) -> Level | None:
        return self.chain[index + 1] if index + 1 < len(self.chain) else None

    def openings(self, day: date) -> list[tuple[datetime, datetime]]:
        """The business intervals of a local day, as UTC datetimes."""
        if day in self.holidays:
            return []
        # Wall-clock arithmetic on an aware datetime, then UTC: 09:00 stays 09:00 local
        # on both sides of a DST change.
        midnight = datetime.combine(day, time.min, tzinfo=self.timezone)
        return [((midnight + timedelta(minutes=start)).astimezone(UTC),
                 (midnight + timedelta(minutes=end)).astimezone(UTC))
                for start, end in self.week[day.weekday()]]

    def add_business_minutes(self, start: datetime, minutes: float) -> datetime:
        """The moment `minutes` of business time after `start` (from the next opening when
        `start` is outside business hours), in UTC."""
        if minutes < 0:
            raise ValueError("business minutes cannot be negative")
        remaining = timedelta(minutes=minutes)
        for begin, end in self._intervals(_as_utc(start), MAX_SEARCH_DAYS):
            if remaining <= end - begin:
                return begin + remaining
            remaining -= end - begin
        raise SlaConfigError(f"{self.source}: no business hours within {MAX_SEARCH_DAYS} days")

    def business_minutes_between(self, a: datetime, b: datetime) -> float:
        """Business minutes from `a` to `b` (negative when `b` comes first)."""
        a, b = _as_utc(a), _as_utc(b)
        if b < a:
            return -self.business_minutes_between(b, a)
        days = (b.astimezone(self.timezone).date() - a.astimezone(self.timezone).date()).days
        total = timedelta()
        for begin, end in self._intervals(a, days + 1):
            if begin >= b:
                break
            total += min(end, b) - begin
        return total / timedelta(minutes=1)

    def _intervals(self, start: datetime, days: int) -> Iterator[tuple[datetime, datetime]]:
        """Business intervals from `start` on, the first one cut at `start`."""
        first = start.astimezone(self.timezone).date()
        for offset in range(days):
            for begin, end in self.openings(first + timedelta(days=offset)):
                if end > start:
                    yield max(begin, start), end


def _timezone(value: object) -> ZoneInfo:
    try:
        return ZoneInfo(str(value))
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown timezone {value!r}") from None


def _hours_range(value: object) -> Minutes:
    match = _RANGE.fullmatch(str(value).strip())
    if match is None:
        raise ValueError(f"{value!r} is not a range like '09:00-13:00'")
    h1, m1, h2, m2 = map(int, match.groups())
    if h1 > 23 or h2 > 24 or m1 > 59 or m2 > 59 or (h2 == 24 and m2):
        raise ValueError(f"{value!r} is not a time of day (00:00 to 24:00)")
    start, end = h1 * 60 + m1, h2 * 60 + m2
    if end <= start:
        raise ValueError(f"{value!r} ends before it starts")
    return start, end


def _holiday(value: object) -> date | tuple[int, int] | str:
    if isinstance(value, date):  # YAML reads an unquoted 2025-12-08 as a date
        return value
    text = str(value).strip()
    if text == EASTER_MONDAY:
        return text
    try:
        if match := _ANNUAL.fullmatch(text):
            month, day = map(int, match.groups())
            date(2000, month, day)  # a leap year, so 02-29 is allowed
            return month, day
        return date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{value!r} is not a date: use 'MM-DD', 'YYYY-MM-DD' or "
                         f"{EASTER_MONDAY}") from None


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _Match(_Strict):
    priority: str | None = None
    category: str | None = None


class _Level(_Strict):
    name: str = Field(min_length=1)
    emails: list[str] = Field(min_length=1)

    @field_validator("emails")
    @classmethod
    def _addresses(cls, emails: list[str]) -> list[str]:
        if bad := [e for e in emails if not _EMAIL.fullmatch(e)]:
            raise ValueError(f"not email addresses: {bad}")
        return emails


class _Policy(_Strict):
    name: str = Field(min_length=1, max_length=64)  # tickets.sla_policy holds 64
    match: _Match = _Match()
    first_response_minutes: float = Field(gt=0)
    warn_before_minutes: float = Field(0, ge=0)


class _File(_Strict):
    timezone: Annotated[ZoneInfo, PlainValidator(_timezone)]
    business_hours: dict[Weekday, list[Annotated[Minutes, PlainValidator(_hours_range)]]]
    holidays: list[Annotated[date | tuple[int, int] | str, PlainValidator(_holiday)]] = []
    chain: list[_Level] = Field(min_length=1)
    policies: list[_Policy]

    @field_validator("business_hours")
    @classmethod
    def _some_hours_no_overlaps(cls, week: dict[str, list[Minutes]]) -> dict:
        for day, ranges in week.items():
            ordered = sorted(ranges)
            for (_, end), (start, _) in pairwise(ordered):
                if start < end:
                    raise ValueError(f"{day}: ranges overlap at {start // 60:02}:{start % 60:02}")
        if not any(week.values()):
            raise ValueError("no business hours on any day")
        return week

    @field_validator("policies")
    @classmethod
    def _sound_and_ending_with_catch_all(cls, policies: list[_Policy]) -> list[_Policy]:
        for p in policies:
            if p.warn_before_minutes >= p.first_response_minutes:
                raise ValueError(f"policy {p.name!r}: warn_before_minutes must be less than "
                                 "first_response_minutes")
        catch_all = next((i for i, p in enumerate(policies) if p.match == _Match()), None)
        if catch_all is None:
            raise ValueError("no catch-all policy (one without `match`) for the tickets "
                             "that no other policy matches")
        if catch_all < len(policies) - 1:
            raise ValueError(f"policy {policies[catch_all + 1].name!r} comes after the catch-all "
                             f"{policies[catch_all].name!r} and would never apply")
        return policies


def load_sla_config(path: Path | str) -> SlaConfig:
    """Read and check the policy file; any problem raises SlaConfigError naming it."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise SlaConfigError(f"{path}: cannot read the SLA policy file ({exc.strerror})") from None
    except yaml.YAMLError as exc:
        raise SlaConfigError(f"{path}: not valid YAML: {exc}") from None
    return parse_sla_config(data, source=str(path))


def parse_sla_config(data: object, *, source: str = "SLA policies") -> SlaConfig:
    if not isinstance(data, dict):
        raise SlaConfigError(f"{source}: expected a mapping (timezone, business_hours, ...)")
    try:
        spec = _File.model_validate(data)
    except ValidationError as exc:
        raise SlaConfigError(f"{source}: {_describe(exc)}") from None
    return _build(spec, source)


def _describe(exc: ValidationError) -> str:
    def where(loc: tuple) -> str:
        return "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in loc).lstrip(".")

    return "; ".join(f"{where(e['loc'])}: {e['msg'].removeprefix('Value error, ')}"
                     for e in exc.errors())


def _build(spec: _File, source: str) -> SlaConfig:
    holidays = Holidays(
        annual=frozenset(h for h in spec.holidays if isinstance(h, tuple)),
        once=frozenset(h for h in spec.holidays if isinstance(h, date)),
        easter_monday=EASTER_MONDAY in spec.holidays,
    )
    week = tuple(tuple(sorted(spec.business_hours.get(day, []))) for day in WEEKDAYS)
    return SlaConfig(
        timezone=spec.timezone, week=week, holidays=holidays,
        chain=tuple(Level(level.name, tuple(level.emails)) for level in spec.chain),
        policies=tuple(Policy(p.name, p.first_response_minutes, p.warn_before_minutes,
                              p.match.priority, p.match.category) for p in spec.policies),
        source=source,
    )

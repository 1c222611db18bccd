"""What a report covers: a range of local days and optional filters, validated once."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import ColumnElement

from core import LANGUAGES, SupportBotError, get_settings

# Rasa's input channel names as the actions log them; anything else is a typo in a report.
CHANNELS = ("socketio", "rest", "cmdline")
EARLIEST_YEAR, LATEST_YEAR = 2000, 2100  # far outside this a date is a typo, not history
MAX_DAYS = 5 * 365 + 2  # five years, leap days included


def report_zone() -> ZoneInfo:
    """The shop's clock (the time_zone setting): a "day" in every report is a day there."""
    return get_settings().zone


def _report_timezone() -> str:
    return get_settings().time_zone


class ErrorCode(StrEnum):
    """What was wrong with a report's request: a page words it for its own reader by code
    (the message is English, for developers)."""

    NOT_A_DATE = "not_a_date"
    DATE_OUT_OF_RANGE = "date_out_of_range"
    PERIOD_REVERSED = "period_reversed"
    PERIOD_TOO_LONG = "period_too_long"
    UNKNOWN_TIME_ZONE = "unknown_time_zone"
    UNKNOWN_LANGUAGE = "unknown_language"
    UNKNOWN_CHANNEL = "unknown_channel"
    UNKNOWN_STAGE = "unknown_stage"
    OTHER = "other"


class AnalyticsError(SupportBotError):
    """A report asked for something that cannot be computed (a bad period or filter)."""

    def __init__(self, message: str, code: ErrorCode = ErrorCode.OTHER) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class Period:
    """Local days `start`..`end`, both included. A day is a day on the local clock, so the
    day summer time ends lasts 25 hours and its UTC bounds say so."""

    start: date
    end: date
    timezone: str = field(default_factory=_report_timezone)
    zone: ZoneInfo = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        for name in ("start", "end"):
            value = getattr(self, name)
            # datetime is a date subclass; a time of day here would be silently dropped
            if not isinstance(value, date) or isinstance(value, datetime):
                raise AnalyticsError(f"{name} must be a date (YYYY-MM-DD), not {value!r}",
                                     ErrorCode.NOT_A_DATE)
            if not EARLIEST_YEAR <= value.year <= LATEST_YEAR:
                raise AnalyticsError(f"{name} {value} is not between {EARLIEST_YEAR} and "
                                     f"{LATEST_YEAR}", ErrorCode.DATE_OUT_OF_RANGE)
        if self.end < self.start:
            raise AnalyticsError(f"the period ends ({self.end}) before it starts ({self.start})",
                                 ErrorCode.PERIOD_REVERSED)
        if (self.end - self.start).days + 1 > MAX_DAYS:
            raise AnalyticsError("a period may cover at most 5 years", ErrorCode.PERIOD_TOO_LONG)
        try:
            zone = ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise AnalyticsError(f"unknown time zone {self.timezone!r}",
                                 ErrorCode.UNKNOWN_TIME_ZONE) from exc
        object.__setattr__(self, "zone", zone)

    @classmethod
    def last_days(cls, days: int, *, today: date, timezone: str | None = None) -> Period:
        return cls(today - timedelta(days=days - 1), today, timezone or _report_timezone())

    @property
    def start_utc(self) -> datetime:
        return self._midnight(self.start)

    @property
    def end_utc(self) -> datetime:
        """Exclusive: local midnight after the last day."""
        return self._midnight(self.end + timedelta(days=1))

    def covers(self, moment: ColumnElement) -> list[ColumnElement]:
        """SQL conditions: `moment` falls on one of the period's local days."""
        return [moment >= self.start_utc, moment < self.end_utc]

    def _midnight(self, day: date) -> datetime:
        # Midnight is never skipped or repeated in Europe; zoneinfo picks the right offset.
        return datetime.combine(day, time.min, tzinfo=self.zone).astimezone(UTC)


@dataclass(frozen=True)
class Filters:
    """Restrict a report to one language and/or one channel; None means all."""

    language: str | None = None
    channel: str | None = None

    def __post_init__(self) -> None:
        if self.language is not None and self.language not in LANGUAGES:
            raise AnalyticsError(f"unknown language {self.language!r}; use one of "
                                 f"{', '.join(LANGUAGES)}", ErrorCode.UNKNOWN_LANGUAGE)
        if self.channel is not None and self.channel not in CHANNELS:
            raise AnalyticsError(f"unknown channel {self.channel!r}; use one of "
                                 f"{', '.join(CHANNELS)}", ErrorCode.UNKNOWN_CHANNEL)

    def conditions(self, language: ColumnElement, channel: ColumnElement | None = None
                   ) -> list[ColumnElement]:
        """SQL conditions on rows that record a language and (optionally) a channel."""
        out = [language == self.language] if self.language else []
        if self.channel and channel is not None:
            out.append(channel == self.channel)
        return out


def iso_week(day: date | datetime) -> str:
    """The ISO week of `day`, written "2026-W47": the label sorts as text in calendar order."""
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"

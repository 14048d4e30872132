"""Working-time arithmetic on the working calendar, for every rule that counts working days
or hours (repair deadlines: 24 working hours, 3 working days; canteen serving days; ...).

- A day is a workday by the weekday rule (Monday to Friday) unless the calendar
  (`models.calendar.CalendarDay`, loaded by administrators a year at a time) says otherwise:
  a public holiday is a day off, a 调休 make-up workday is a worked Saturday or Sunday.
- Working hours are the business periods of each workday, by default 09:00–12:00 and
  13:30–17:30 (config `WORK_HOURS`, e.g. "09:00-12:00,13:30-17:30"). Periods are half-open:
  12:00 is outside the morning period, so a clock started at 12:00 starts at 13:30.
- Everything is computed in Asia/Shanghai; datetimes in and out are timezone-aware.
- Calendar exceptions are read a whole year at a time, one query for all the years a
  computation needs first, one more only if it runs into a further year. A batch (a sweep
  over many orders) passes one `WorkCalendar()` to every call so the years are read once.

    add_working_hours(reported_at, 24)             # repair: 24 working hours later
    working_time_between(paused_at, resumed_at)    # working time a paused timer skips
    add_working_days(date(2026, 9, 30), 3)         # 3 working days after (10-09, over 国庆)
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Iterable, Sequence
from datetime import date, datetime, time, timedelta
from functools import lru_cache

from flask import current_app, has_app_context
from sqlalchemy import select

from app.timeutil import SHANGHAI

log = logging.getLogger(__name__)

CONFIG_KEY = "WORK_HOURS"
DEFAULT_WORK_HOURS = "09:00-12:00,13:30-17:30"
# Safety stop: no computation walks further than this (a calendar of nothing but holidays).
MAX_DAYS = 366 * 30

Periods = tuple[tuple[time, time], ...]
_PERIOD_RE = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")
_warned_years: set[int] = set()


# --- business hours ------------------------------------------------------------------------

@lru_cache(maxsize=32)
def parse_business_hours(spec: str) -> Periods:
    """"09:00-12:00,13:30-17:30" → ((09:00, 12:00), (13:30, 17:30)); ValueError when the
    periods are malformed, empty, out of order or overlapping."""
    periods: list[tuple[time, time]] = []
    for part in spec.split(","):
        match = _PERIOD_RE.match(part)
        if not match:
            raise ValueError(f"{CONFIG_KEY}: {part.strip()!r} is not HH:MM-HH:MM")
        h1, m1, h2, m2 = (int(x) for x in match.groups())
        try:
            start, end = time(h1, m1), time(h2, m2)
        except ValueError as exc:
            raise ValueError(f"{CONFIG_KEY}: {part.strip()!r} is not a time of day") from exc
        if start >= end:
            raise ValueError(f"{CONFIG_KEY}: {part.strip()!r} ends before it starts")
        if periods and start < periods[-1][1]:
            raise ValueError(f"{CONFIG_KEY}: periods must be in order and must not overlap")
        periods.append((start, end))
    return tuple(periods)


def business_hours(value: str | Sequence[tuple[time, time]] | None = None) -> Periods:
    """The business periods: `value` (a spec string or (start, end) pairs), else the app's
    WORK_HOURS, else the default."""
    if value is None:
        value = current_app.config.get(CONFIG_KEY) if has_app_context() else None
        value = value or DEFAULT_WORK_HOURS
    if isinstance(value, str):
        return parse_business_hours(value)
    return parse_business_hours(",".join(f"{a:%H:%M}-{b:%H:%M}" for a, b in value))


# The arithmetic functions take a `business_hours` argument that hides the function above.
_business_hours = business_hours


def working_hours_per_day(value: str | Sequence[tuple[time, time]] | None = None) -> timedelta:
    """Length of one full working day (7 h by default)."""
    return sum((_span(a, b) for a, b in business_hours(value)), timedelta())


def _span(a: time, b: time) -> timedelta:
    return datetime.combine(date.min, b) - datetime.combine(date.min, a)


# --- the calendar --------------------------------------------------------------------------

def _load_years_from_db(first_year: int, last_year: int) -> dict[date, tuple[str, str]]:
    from app.extensions import db
    from models.calendar import CalendarDay

    rows = db.session.execute(
        select(CalendarDay.day, CalendarDay.kind, CalendarDay.name)
        .where(CalendarDay.day >= date(first_year, 1, 1), CalendarDay.day <= date(last_year, 12, 31)))
    return {row.day: (row.kind, row.name) for row in rows}


def workday_sql(param: str) -> str:
    """SQL for "the date bound as :<param> is a workday": WorkCalendar.is_workday's rule (an
    exception of the calendar decides, else Monday to Friday), for statements that decide it
    per row instead of reading the calendar first."""
    day = f"CAST(:{param} AS date)"
    return (f"coalesce((SELECT c.kind = 'workday' FROM calendar_day c WHERE c.day = {day}), "  # noqa: S608
            f"extract(isodow FROM {day}) < 6)")  # (`param` names a bind parameter; the value is bound)


class WorkCalendar:
    """Calendar exceptions read a year at a time and kept for the object's lifetime.

    `WorkCalendar()` reads the database (inside an app context); `WorkCalendar.from_entries`
    builds one from given exceptions, without a database."""

    def __init__(self, loader=None):
        self._loader = loader or _load_years_from_db
        self._days: dict[date, tuple[str, str]] = {}
        self._years: set[int] = set()

    @classmethod
    def from_entries(cls, entries: dict[date, tuple[str, str]] | Iterable[tuple[date, str, str]]) -> WorkCalendar:
        items = entries.items() if isinstance(entries, dict) else ((d, (k, n)) for d, k, n in entries)
        data = {d: (kind, name) for d, (kind, name) in items}

        def loader(first_year: int, last_year: int) -> dict[date, tuple[str, str]]:
            return {d: v for d, v in data.items() if first_year <= d.year <= last_year}

        return cls(loader)

    def load(self, first: date, last: date) -> WorkCalendar:
        """Make sure every year from `first` to `last` is read (one query for all missing)."""
        missing = [y for y in range(min(first, last).year, max(first, last).year + 1) if y not in self._years]
        if missing:
            found = self._loader(missing[0], missing[-1])
            self._days.update(found)
            self._years.update(range(missing[0], missing[-1] + 1))
            for year in missing:
                if year not in _warned_years and not any(d.year == year for d in found):
                    _warned_years.add(year)
                    log.warning("working calendar has no entries for %s: weekday rule only "
                                "(load the year with PUT /api/v1/calendar/%s)", year, year)
        return self

    def exception(self, day: date) -> tuple[str, str] | None:
        """("holiday" | "workday", name) when the day is an exception, else None."""
        if day.year not in self._years:
            self.load(day, day)
        return self._days.get(day)

    def is_workday(self, day: date) -> bool:
        entry = self.exception(day)
        if entry is not None:
            return entry[0] == "workday"
        return day.isoweekday() < 6


def _calendar(calendar: WorkCalendar | None) -> WorkCalendar:
    return calendar if calendar is not None else WorkCalendar()


def _local(dt: datetime, name: str) -> datetime:
    if not isinstance(dt, datetime) or dt.tzinfo is None or dt.utcoffset() is None:
        raise ValueError(f"{name} must be a timezone-aware datetime")
    return dt.astimezone(SHANGHAI)


def _day(value: date) -> date:
    if isinstance(value, datetime):
        return _local(value, "day").date()
    return value


def _periods_of(day: date, periods: Periods) -> list[tuple[datetime, datetime]]:
    return [(datetime.combine(day, a, SHANGHAI), datetime.combine(day, b, SHANGHAI)) for a, b in periods]


# --- public arithmetic ---------------------------------------------------------------------

def is_workday(day: date, calendar: WorkCalendar | None = None) -> bool:
    """Is `day` a workday? A datetime counts by its Asia/Shanghai date."""
    return _calendar(calendar).is_workday(_day(day))


def next_workday(day: date, calendar: WorkCalendar | None = None) -> date:
    """`day` itself when it is a workday, else the first workday after it."""
    cal, current = _calendar(calendar), _day(day)
    for _ in range(MAX_DAYS):
        if cal.is_workday(current):
            return current
        current += timedelta(days=1)
    raise ValueError("no workday found in the calendar")


def add_working_days(day: date, n: int, calendar: WorkCalendar | None = None) -> date:
    """The n-th workday after `day` (before it when n < 0); `day` itself when n == 0.
    add_working_days(Friday, 1) is the next Monday (unless that is a holiday)."""
    if isinstance(n, bool) or not isinstance(n, int):
        raise TypeError("n must be an integer")
    cal, current = _calendar(calendar), _day(day)
    if n == 0:
        return current
    step = timedelta(days=1 if n > 0 else -1)
    cal.load(current, current + step * min(abs(n) * 7 // 5 + 14, MAX_DAYS))  # the likely range, one query
    remaining = abs(n)
    for _ in range(MAX_DAYS):
        current += step
        if cal.is_workday(current):
            remaining -= 1
            if remaining == 0:
                return current
    raise ValueError("no such workday found in the calendar")


def _duration(hours: float | timedelta) -> timedelta:
    if isinstance(hours, timedelta):
        duration = hours
    elif isinstance(hours, bool) or not isinstance(hours, int | float):
        raise TypeError("hours must be a number of hours or a timedelta")
    elif not math.isfinite(hours):
        raise ValueError("hours must be finite")
    else:
        try:
            duration = timedelta(hours=hours)
        except OverflowError as exc:
            raise ValueError("hours is too large") from exc
    if duration < timedelta(0):
        raise ValueError("hours must not be negative")
    return duration


def add_working_hours(start: datetime, hours: float | timedelta,
                      business_hours: str | Sequence[tuple[time, time]] | None = None,
                      calendar: WorkCalendar | None = None) -> datetime:
    """The instant at which `hours` of working time have passed since `start` (aware,
    Asia/Shanghai). Time outside business periods and workdays does not count, so a start
    outside them counts from the next period's start. A span that fills a period exactly
    ends at that period's end (09:00 + 3 h is 12:00, not 13:30). Zero hours return `start`."""
    cursor = _local(start, "start")
    remaining = _duration(hours)
    if remaining == timedelta(0):
        return cursor
    periods = _business_hours(business_hours)
    cal = _calendar(calendar)
    per_day = sum((_span(a, b) for a, b in periods), timedelta())
    # The likely range (working days needed, at 7 of 5 calendar days, plus holidays): one query.
    likely_days = min(int(remaining / per_day * 7 / 5) + 30, MAX_DAYS)
    cal.load(cursor.date(), cursor.date() + timedelta(days=likely_days))
    day = cursor.date()
    for _ in range(MAX_DAYS):
        if cal.is_workday(day):
            for period_start, period_end in _periods_of(day, periods):
                begin = max(cursor, period_start)
                if begin >= period_end:
                    continue
                available = period_end - begin
                if remaining <= available:
                    return begin + remaining
                remaining -= available
        day += timedelta(days=1)
    raise ValueError("the span does not end within the calendar's range")


def working_time_between(start: datetime, end: datetime,
                         business_hours: str | Sequence[tuple[time, time]] | None = None,
                         calendar: WorkCalendar | None = None) -> timedelta:
    """Working time inside [start, end); zero when end is not after start. The inverse of
    add_working_hours: working_time_between(s, add_working_hours(s, h)) == h."""
    begin, finish = _local(start, "start"), _local(end, "end")
    if finish <= begin:
        return timedelta(0)
    periods = _business_hours(business_hours)
    cal = _calendar(calendar).load(begin.date(), finish.date())
    total = timedelta(0)
    day = begin.date()
    while day <= finish.date():
        if cal.is_workday(day):
            for period_start, period_end in _periods_of(day, periods):
                overlap = min(finish, period_end) - max(begin, period_start)
                if overlap > timedelta(0):
                    total += overlap
        day += timedelta(days=1)
    return total


def close_of_business(day: date, business_hours: str | Sequence[tuple[time, time]] | None = None) -> datetime:
    """The end of the last business period of `day` (e.g. 17:30 Asia/Shanghai): the deadline
    of a rule counted in whole working days."""
    return datetime.combine(_day(day), _business_hours(business_hours)[-1][1], SHANGHAI)


def days(first: date, last: date, calendar: WorkCalendar | None = None) -> list[dict]:
    """Each day from `first` to `last`: {"date", "weekday" (ISO 1–7), "is_workday",
    "exception" ("holiday" | "workday" | None), "name"}."""
    cal = _calendar(calendar).load(first, last)
    out, current = [], first
    while current <= last:
        entry = cal.exception(current)
        out.append({"date": current, "weekday": current.isoweekday(), "is_workday": cal.is_workday(current),
                    "exception": entry[0] if entry else None, "name": entry[1] if entry else None})
        current += timedelta(days=1)
    return out

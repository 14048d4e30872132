"""Working-time arithmetic on the 2026 calendar (loaded into PostgreSQL as the demo loads it):
nights, lunch breaks, weekends, a whole 国庆 week, 调休 Saturdays and Sundays, the year
boundary, period edges, zero, large spans, and working_time_between as the inverse of
add_working_hours."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, time, timedelta

import pytest
from sqlalchemy import event, text

from app import workcalendar as wc
from app.extensions import db
from app.timeutil import SHANGHAI
from blueprints.places.calendar import replace_year
from blueprints.places.demo import CALENDAR_2026

H = timedelta(hours=1)


def at(y, m, d, hh=0, mm=0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=SHANGHAI)


@pytest.fixture
def cal(app):
    replace_year(None, 2026, CALENDAR_2026["holidays"], CALENDAR_2026["workdays"], record=False)
    db.session.commit()


@pytest.fixture
def calendar_queries(app):
    """The statements that read calendar_day, as they run."""
    seen: list[str] = []

    def listen(conn, cursor, statement, *args):
        if "FROM calendar_day" in statement:
            seen.append(statement)

    engine = db.engine
    event.listen(engine, "before_cursor_execute", listen)
    yield seen
    event.remove(engine, "before_cursor_execute", listen)


# --- is_workday / add_working_days ------------------------------------------------------------

@pytest.mark.parametrize(("day", "expected"), [
    (date(2026, 3, 2), True),     # an ordinary Monday
    (date(2026, 3, 7), False),    # an ordinary Saturday
    (date(2026, 10, 1), False),   # 国庆节 (Thursday)
    (date(2026, 10, 7), False),   # 国庆节 (Wednesday)
    (date(2026, 10, 8), True),
    (date(2026, 10, 10), True),   # 调休 Saturday
    (date(2026, 9, 20), True),    # 调休 Sunday
    (date(2026, 10, 11), False),
    (date(2026, 1, 4), True),     # 元旦调休 Sunday
    (date(2026, 2, 14), True),    # 春节调休 Saturday
    (date(2026, 2, 23), False),   # last day of 春节 (Monday)
    (date(2026, 4, 6), False),    # 清明节 Monday
    (date(2025, 12, 31), True),   # a year without entries: weekday rule
    (date(2025, 1, 1), True),     # …even on a real holiday nobody loaded
])
def test_is_workday(cal, day, expected):
    assert wc.is_workday(day) is expected
    # the same rule in SQL, for statements that decide it per row
    assert db.session.execute(text(f"SELECT {wc.workday_sql('d')}"), {"d": day}).scalar() is expected


def test_is_workday_of_a_datetime_uses_the_shanghai_date(cal):
    assert wc.is_workday(datetime(2026, 9, 30, 15, 0, tzinfo=UTC)) is True   # 23:00 on 9-30 in Shanghai
    assert wc.is_workday(datetime(2026, 9, 30, 17, 0, tzinfo=UTC)) is False  # 01:00 on 10-1 in Shanghai
    with pytest.raises(ValueError):
        wc.is_workday(datetime(2026, 9, 30, 17, 0))  # naive


@pytest.mark.parametrize(("start", "n", "expected"), [
    (date(2026, 3, 6), 1, date(2026, 3, 9)),       # Friday → Monday
    (date(2026, 3, 2), 3, date(2026, 3, 5)),
    (date(2026, 3, 2), 0, date(2026, 3, 2)),
    (date(2026, 3, 7), 0, date(2026, 3, 7)),       # n == 0 is the day itself, even a Saturday
    (date(2026, 9, 30), 1, date(2026, 10, 8)),     # over the whole 国庆 week
    (date(2026, 9, 30), 3, date(2026, 10, 10)),    # …onto the 调休 Saturday
    (date(2026, 9, 30), 4, date(2026, 10, 12)),
    (date(2026, 9, 19), 1, date(2026, 9, 20)),     # Saturday → 调休 Sunday
    (date(2026, 2, 13), 1, date(2026, 2, 14)),     # Friday → 春节调休 Saturday
    (date(2026, 2, 14), 1, date(2026, 2, 24)),     # over the nine days of 春节
    (date(2025, 12, 31), 1, date(2026, 1, 4)),     # over the year boundary and 元旦
    (date(2026, 10, 8), -1, date(2026, 9, 30)),    # backwards
    (date(2026, 10, 12), -1, date(2026, 10, 10)),
    (date(2026, 1, 5), -2, date(2025, 12, 31)),
    (date(2026, 3, 2), 250, None),                 # large: checked by counting below
])
def test_add_working_days(cal, start, n, expected):
    result = wc.add_working_days(start, n)
    if expected is None:
        counted = sum(wc.is_workday(start + timedelta(days=i)) for i in range(1, (result - start).days + 1))
        assert counted == n and wc.is_workday(result)
    else:
        assert result == expected


def test_add_working_days_rejects_non_integers(cal):
    with pytest.raises(TypeError):
        wc.add_working_days(date(2026, 3, 2), 1.5)
    with pytest.raises(TypeError):
        wc.add_working_days(date(2026, 3, 2), True)


def test_next_workday_and_close_of_business(cal):
    assert wc.next_workday(date(2026, 10, 1)) == date(2026, 10, 8)
    assert wc.next_workday(date(2026, 10, 8)) == date(2026, 10, 8)
    assert wc.close_of_business(date(2026, 10, 8)) == at(2026, 10, 8, 17, 30)
    assert wc.close_of_business(date(2026, 10, 8), "08:00-11:30,14:00-18:00") == at(2026, 10, 8, 18)


# --- add_working_hours -------------------------------------------------------------------------

@pytest.mark.parametrize(("start", "hours", "expected"), [
    # inside one period
    (at(2026, 3, 2, 9), 2, at(2026, 3, 2, 11)),
    (at(2026, 3, 2, 9, 15), 0.25, at(2026, 3, 2, 9, 30)),
    # across the lunch break
    (at(2026, 3, 2, 11), 2, at(2026, 3, 2, 14, 30)),
    (at(2026, 3, 2, 11, 59), 1, at(2026, 3, 2, 14, 29)),
    # across the night
    (at(2026, 3, 2, 16, 30), 3, at(2026, 3, 3, 11)),
    # a start outside business hours begins at the next period
    (at(2026, 3, 2, 7), 1, at(2026, 3, 2, 10)),
    (at(2026, 3, 2, 0, 0), 1, at(2026, 3, 2, 10)),
    (at(2026, 3, 2, 12, 30), 1, at(2026, 3, 2, 14, 30)),
    (at(2026, 3, 2, 18), 1, at(2026, 3, 3, 10)),
    (at(2026, 3, 2, 23, 59), 1, at(2026, 3, 3, 10)),
    # period edges: a span that fills a period ends at its end, not at the next start
    (at(2026, 3, 2, 9), 3, at(2026, 3, 2, 12)),
    (at(2026, 3, 2, 12), 1, at(2026, 3, 2, 14, 30)),
    (at(2026, 3, 2, 13, 30), 4, at(2026, 3, 2, 17, 30)),
    (at(2026, 3, 2, 17, 30), 0.5, at(2026, 3, 3, 9, 30)),
    (at(2026, 3, 2, 9), 7, at(2026, 3, 2, 17, 30)),
    (at(2026, 3, 2, 9), timedelta(hours=7, minutes=1), at(2026, 3, 3, 9, 1)),
    (at(2026, 3, 2, 8, 59), 3, at(2026, 3, 2, 12)),
    # weekends
    (at(2026, 3, 6, 17), 1, at(2026, 3, 9, 9, 30)),
    (at(2026, 3, 7, 10), 1, at(2026, 3, 9, 10)),
    (at(2026, 3, 8, 23), 24, at(2026, 3, 12, 12)),   # 24 working hours from a Sunday night: 7+7+7+3
    # the whole 国庆 week: 9-30 1.5 h, 10-8 7 h, 10-9 7 h, 10-10 (调休 Saturday) 7 h, 10-12 1.5 h
    (at(2026, 9, 30, 16), 24, at(2026, 10, 12, 10, 30)),
    (at(2026, 10, 1, 9), 1, at(2026, 10, 8, 10)),
    # 调休 Saturdays and Sundays are worked
    (at(2026, 9, 19, 10), 1, at(2026, 9, 20, 10)),
    (at(2026, 2, 13, 17), 1, at(2026, 2, 14, 9, 30)),
    (at(2026, 2, 14, 17), 1, at(2026, 2, 24, 9, 30)),  # then nine days of 春节
    # the year boundary: 2025 by the weekday rule, then 元旦 and its 调休 Sunday
    (at(2025, 12, 31, 17), 1, at(2026, 1, 4, 9, 30)),
    (at(2025, 12, 31, 17), 8, at(2026, 1, 5, 9, 30)),
    # large spans: 28 working days end 4-9 17:30 (清明 4-4..4-6 skipped), then 4 h on 4-10
    (at(2026, 3, 2, 9), 200, at(2026, 4, 10, 14, 30)),
    (at(2026, 3, 2, 9), timedelta(hours=200), at(2026, 4, 10, 14, 30)),
])
def test_add_working_hours(cal, start, hours, expected):
    result = wc.add_working_hours(start, hours)
    assert result == expected
    assert result.tzinfo is not None and result.utcoffset() == timedelta(hours=8)


@pytest.mark.parametrize("start", [at(2026, 3, 2, 10), at(2026, 3, 7, 10), at(2026, 10, 1, 3),
                                   at(2026, 3, 2, 12, 30)])
def test_zero_hours_is_the_start(cal, start):
    assert wc.add_working_hours(start, 0) == start
    assert wc.add_working_hours(start, timedelta(0)) == start


def test_other_time_zones_in_shanghai_out(cal):
    start = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)  # 09:00 in Shanghai
    result = wc.add_working_hours(start, 4)
    assert result == at(2026, 3, 2, 14, 30) and result.tzinfo == SHANGHAI
    assert result.isoformat() == "2026-03-02T14:30:00+08:00"


@pytest.mark.parametrize(("hours", "error"), [
    (-1, ValueError), (timedelta(minutes=-1), ValueError), (float("nan"), ValueError),
    (float("inf"), ValueError), (1e30, ValueError), ("3", TypeError), (None, TypeError), (True, TypeError),
])
def test_bad_hours(cal, hours, error):
    with pytest.raises(error):
        wc.add_working_hours(at(2026, 3, 2, 9), hours)


def test_naive_start_is_refused(cal):
    with pytest.raises(ValueError, match="timezone-aware"):
        wc.add_working_hours(datetime(2026, 3, 2, 9), 1)
    with pytest.raises(ValueError, match="timezone-aware"):
        wc.working_time_between(datetime(2026, 3, 2, 9), at(2026, 3, 2, 10))


# --- business hours ------------------------------------------------------------------------

def test_business_hours_from_argument_and_config(app, cal, monkeypatch):
    start = at(2026, 3, 2, 8)
    assert wc.add_working_hours(start, 4, business_hours="08:30-12:00,14:00-18:00") == at(2026, 3, 2, 14, 30)
    assert wc.add_working_hours(start, 4, business_hours=[(time(8), time(12))]) == at(2026, 3, 2, 12)
    monkeypatch.setitem(app.config, "WORK_HOURS", "08:30-12:00,14:00-18:00")
    assert wc.add_working_hours(start, 4) == at(2026, 3, 2, 14, 30)
    assert wc.working_hours_per_day() == timedelta(hours=7.5)
    monkeypatch.delitem(app.config, "WORK_HOURS")
    assert wc.working_hours_per_day() == timedelta(hours=7)


@pytest.mark.parametrize("spec", ["", "9-12", "09:00-12:00;13:30-17:30", "12:00-09:00", "09:00-09:00",
                                  "13:30-17:30,09:00-12:00", "09:00-13:00,12:00-17:00", "25:00-26:00",
                                  "09:00-12:60"])
def test_bad_business_hours(spec):
    with pytest.raises(ValueError):
        wc.parse_business_hours(spec)


def test_touching_periods_are_fine():
    assert wc.parse_business_hours(" 08:00 - 12:00 ,12:00-13:00") == ((time(8), time(12)), (time(12), time(13)))


# --- working_time_between ----------------------------------------------------------------------

@pytest.mark.parametrize(("start", "end", "expected"), [
    (at(2026, 3, 2, 10), at(2026, 3, 2, 11), H),
    (at(2026, 3, 2, 11), at(2026, 3, 2, 14), 1.5 * H),                 # lunch does not count
    (at(2026, 3, 2, 10), at(2026, 3, 3, 10), 7 * H),                   # a night does not count
    (at(2026, 3, 6, 17), at(2026, 3, 9, 9, 30), H),                    # nor a weekend
    (at(2026, 9, 30, 9), at(2026, 10, 8, 9), 7 * H),                   # nor 国庆
    (at(2026, 9, 30, 16), at(2026, 10, 12, 10, 30), 24 * H),
    (at(2026, 10, 9, 17), at(2026, 10, 12, 9), 7.5 * H),               # the 调休 Saturday does
    (at(2025, 12, 31, 17), at(2026, 1, 4, 9, 30), H),                  # over the year boundary
    (at(2026, 3, 7, 9), at(2026, 3, 8, 18), timedelta(0)),             # a weekend only
    (at(2026, 3, 2, 12), at(2026, 3, 2, 13, 30), timedelta(0)),        # the lunch break only
    (at(2026, 3, 2, 11), at(2026, 3, 2, 11), timedelta(0)),
    (at(2026, 3, 2, 11), at(2026, 3, 2, 10), timedelta(0)),            # end before start
    (at(2026, 1, 1), at(2027, 1, 1), None),                            # a whole year: checked below
])
def test_working_time_between(cal, start, end, expected):
    result = wc.working_time_between(start, end)
    if expected is None:
        workdays = sum(wc.is_workday(date(2026, 1, 1) + timedelta(days=i)) for i in range(365))
        assert result == workdays * 7 * H
        assert workdays == 365 - 104 - 19 + 6 == 248  # weekends, weekday holidays, 调休 weekend days
    else:
        assert result == expected


def test_between_is_the_inverse_of_add(cal):
    rng = random.Random(20261001)
    origin = at(2025, 12, 20)
    for _ in range(400):
        start = origin + timedelta(minutes=rng.randrange(0, 60 * 24 * 400))
        hours = timedelta(minutes=rng.randrange(0, 60 * 120))
        end = wc.add_working_hours(start, hours)
        assert end >= start
        assert wc.working_time_between(start, end) == hours, (start, hours)
        more = wc.add_working_hours(start, hours + timedelta(minutes=1))
        assert more > end
        # Adding in two steps is adding once.
        split = timedelta(minutes=rng.randrange(0, int(hours.total_seconds() // 60) + 1))
        assert wc.add_working_hours(wc.add_working_hours(start, split), hours - split) == end


def test_add_is_the_inverse_of_between_inside_working_time(cal):
    rng = random.Random(7)
    for _ in range(200):
        start = at(2026, 1, 1) + timedelta(minutes=rng.randrange(0, 60 * 24 * 360))
        end = start + timedelta(minutes=rng.randrange(1, 60 * 24 * 20))
        if wc.is_workday(end) and any(a <= end.time() < b for a, b in wc.business_hours()):
            assert wc.add_working_hours(start, wc.working_time_between(start, end)) == end


def test_paused_timer(cal):
    """A repair's 24 working hours, paused while waiting for a spare part: the deadline moves
    by the working time the pause covered."""
    reported = at(2026, 9, 29, 10)
    paused, resumed = at(2026, 9, 29, 16), at(2026, 10, 9, 11)
    used = wc.working_time_between(reported, paused)
    assert used == 4.5 * H
    deadline = wc.add_working_hours(resumed, 24 * H - used)
    # 10-9 from 11:00: 5 h; 10-10 (调休 Saturday): 7 h; 10-12: 7 h; 10-13: the last half hour.
    assert deadline == at(2026, 10, 13, 9, 30)
    assert wc.working_time_between(resumed, deadline) == 19.5 * H


# --- efficiency ----------------------------------------------------------------------------

def test_one_query_per_computation(cal, calendar_queries):
    wc.add_working_hours(at(2026, 3, 2, 9), 200)
    assert len(calendar_queries) == 1
    calendar_queries.clear()
    wc.working_time_between(at(2025, 12, 1), at(2026, 12, 31))  # two years
    assert len(calendar_queries) == 1
    calendar_queries.clear()
    wc.add_working_hours(at(2026, 12, 30, 9), 400)  # runs into 2027
    assert len(calendar_queries) <= 2
    calendar_queries.clear()
    shared = wc.WorkCalendar()
    for day in range(1, 28):
        wc.add_working_hours(at(2026, 2, day, 10), 30, calendar=shared)
        wc.is_workday(date(2026, 2, day), calendar=shared)
    assert len(calendar_queries) == 1


def test_in_memory_calendar_needs_no_database():
    cal = wc.WorkCalendar.from_entries([(date(2030, 5, 1), "holiday", "劳动节"), (date(2030, 5, 4), "workday", "调休")])
    assert not wc.is_workday(date(2030, 5, 1), calendar=cal)
    assert wc.is_workday(date(2030, 5, 4), calendar=cal)  # a Saturday
    start = datetime(2030, 4, 30, 17, tzinfo=SHANGHAI)
    assert wc.add_working_hours(start, 1, calendar=cal, business_hours="09:00-12:00,13:30-17:30") == \
        datetime(2030, 5, 2, 9, 30, tzinfo=SHANGHAI)


def test_days_listing(cal):
    listed = wc.days(date(2026, 9, 30), date(2026, 10, 11))
    assert [d["is_workday"] for d in listed] == [True] + [False] * 7 + [True, True, True, False]
    assert listed[1] == {"date": date(2026, 10, 1), "weekday": 4, "is_workday": False, "exception": "holiday",
                         "name": "国庆节"}
    assert listed[10]["exception"] == "workday" and listed[0]["exception"] is None

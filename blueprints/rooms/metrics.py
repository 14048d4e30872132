"""Utilisation of meeting rooms over a period of local days (Asia/Shanghai), for the admin
panel: `utilisation(day_from, day_to, room_id=None)`.

Per room, over the period [day_from 00:00, day_to + 1 day 00:00):
- open_hours: its opening windows on its open days (platform calendar), clipped to the period;
- booked_hours: bookings that held the room for a meeting (approved, checked_in, finished,
  no_show), clipped to the period; pending and cancelled ones do not count;
- used_hours: checked-in and finished bookings, from the check-in (not before the start; a
  finished booking without check-in, in a room that needs none, from its start) to
  finished_at or end_at, whichever is first, clipped to the period;
- booked_pct = booked / open, utilisation_pct = used / open (per cent, 1 decimal; None when
  the room was never open in the period);
- counts, of bookings that start in the period: bookings (the four states above), checked_in,
  finished, no_show, cancelled; no_show_rate = no_show / (no_show + checked_in + finished)
  (4 decimals, None when nothing was decided);
- booked_minutes_by_hour: booked minutes in each local hour of the day (0..23, clipped), and
  peak_hours: the three hours with the most (ties: the earlier hour), hours with none left out.
Rooms: the one asked for, else every active room and every room with bookings in the period.
The bookings are aggregated in one SQL statement (hour histogram by generate_series); it
bounds start_at from below by a day before the period, since no booking is longer than a day
(rooms' max_minutes <= 1440).
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from sqlalchemy import or_, select, text
from sqlalchemy.orm import joinedload

from app.errors import AppError, register_codes
from app.extensions import db, get_row
from app.timeutil import SHANGHAI
from app.workcalendar import WorkCalendar
from blueprints.rooms import rules
from models.places import Place
from models.rooms import Room

register_codes({
    "ROOM_PERIOD_INVALID": (
        422, "统计期间无效：结束日期不能早于开始日期，且最长 366 天",
        "Utilisation: date_to before date_from, or more than 366 days (`details.max_days`)."),
})

MAX_DAYS = 366
BOOKED_STATES = ("approved", "checked_in", "finished", "no_show")
PEAK_HOURS = 3

_AGGREGATE = text("""
WITH b AS (
    SELECT room_id, status, start_at >= :p_start AS starts_in,
           greatest(start_at, :p_start) AS s, least(end_at, :p_end) AS e,
           greatest(start_at, checked_in_at, :p_start) AS us, least(finished_at, end_at, :p_end) AS ue
    FROM room_booking
    WHERE start_at < :p_end AND start_at >= :p_start - interval '1 day' AND end_at > :p_start
      AND status IN ('approved', 'checked_in', 'finished', 'no_show', 'cancelled')
      AND (CAST(:room_id AS integer) IS NULL OR room_id = :room_id)
), hours AS (
    SELECT b.room_id, extract(hour FROM h AT TIME ZONE 'Asia/Shanghai')::int AS hour,
           sum(extract(epoch FROM least(b.e, h + interval '1 hour') - greatest(b.s, h))) AS secs
    FROM b CROSS JOIN LATERAL generate_series(date_trunc('hour', b.s, 'Asia/Shanghai'),
                                              b.e - interval '1 microsecond', interval '1 hour') AS h
    WHERE b.status <> 'cancelled'
    GROUP BY b.room_id, 2
)
SELECT room_id,
       coalesce(sum(extract(epoch FROM e - s)) FILTER (WHERE status <> 'cancelled'), 0) AS booked_s,
       coalesce(sum(greatest(extract(epoch FROM ue - us), 0)) FILTER (WHERE status IN ('checked_in', 'finished')),
                0) AS used_s,
       count(*) FILTER (WHERE starts_in AND status <> 'cancelled') AS bookings,
       count(*) FILTER (WHERE starts_in AND status = 'checked_in') AS checked_in,
       count(*) FILTER (WHERE starts_in AND status = 'finished') AS finished,
       count(*) FILTER (WHERE starts_in AND status = 'no_show') AS no_show,
       count(*) FILTER (WHERE starts_in AND status = 'cancelled') AS cancelled,
       (SELECT coalesce(json_object_agg(hours.hour, hours.secs), '{}') FROM hours
        WHERE hours.room_id = b.room_id) AS by_hour
FROM b GROUP BY room_id
""")


def check_period(day_from: date, day_to: date) -> None:
    if day_to < day_from or (day_to - day_from).days + 1 > MAX_DAYS:
        raise AppError("ROOM_PERIOD_INVALID", details={"date_from": day_from.isoformat(),
                                                       "date_to": day_to.isoformat(), "max_days": MAX_DAYS})


def _open_seconds(room: Room, day_from: date, day_to: date, calendar: WorkCalendar) -> float:
    """Opening windows on open days (rules.open_on, with one calendar), clipped to the period."""
    period_start = datetime.combine(day_from, time(0), SHANGHAI)
    period_end = datetime.combine(day_to + timedelta(days=1), time(0), SHANGHAI)
    total, day = 0.0, day_from - timedelta(days=1)
    while day <= day_to:
        if room.open_days == "every_day" or calendar.is_workday(day):
            begin, end = rules.opening_window(room, day)
            overlap = (min(end, period_end) - max(begin, period_start)).total_seconds()
            total += max(overlap, 0.0)
        day += timedelta(days=1)
    return total


def _hours(seconds: float) -> float:
    return round(seconds / 3600, 2)


def _pct(part: float, whole: float) -> float | None:
    return round(100 * part / whole, 1) if whole else None


def utilisation(day_from: date, day_to: date, room_id: int | None = None) -> list[dict]:
    """Per room (by building, floor and name): see the module's docstring. ROOM_PERIOD_INVALID
    for a bad period; ROOM_NOT_FOUND for an unknown `room_id` (a disabled room is reported)."""
    check_period(day_from, day_to)
    if room_id is not None and get_row(Room, room_id) is None:
        raise AppError("ROOM_NOT_FOUND", details={"room_id": room_id})
    period_start = datetime.combine(day_from, time(0), SHANGHAI)
    period_end = datetime.combine(day_to + timedelta(days=1), time(0), SHANGHAI)
    figures = {row.room_id: row for row in db.session.execute(
        _AGGREGATE, {"p_start": period_start, "p_end": period_end, "room_id": room_id})}
    stmt = select(Room).options(joinedload(Room.place).joinedload(Place.parent).joinedload(Place.parent))
    if room_id is not None:
        stmt = stmt.where(Room.id == room_id)
    else:
        stmt = stmt.where(or_(Room.is_active, Room.id.in_(list(figures))))
    rooms = db.session.execute(stmt).unique().scalars().all()
    rooms.sort(key=lambda r: ([(n.sort_order, n.name) for n in r.place.lineage()], r.id))

    calendar = WorkCalendar().load(day_from - timedelta(days=1), day_to)
    open_cache: dict[tuple, float] = {}
    out = []
    for room in rooms:
        key = (room.opens_at, room.closes_at, room.open_days)
        if key not in open_cache:
            open_cache[key] = _open_seconds(room, day_from, day_to, calendar)
        open_s = open_cache[key]
        row = figures.get(room.id)
        booked_s, used_s = (float(row.booked_s), float(row.used_s)) if row else (0.0, 0.0)
        counts = {name: getattr(row, name) if row else 0
                  for name in ("bookings", "checked_in", "finished", "no_show", "cancelled")}
        by_hour = [0] * 24
        for hour, secs in (row.by_hour if row else {}).items():
            by_hour[int(hour)] = round(float(secs) / 60)
        peaks = sorted((h for h in range(24) if by_hour[h]), key=lambda h: (-by_hour[h], h))[:PEAK_HOURS]
        decided = counts["no_show"] + counts["checked_in"] + counts["finished"]
        lineage = room.place.lineage()
        building = next((p.name for p in lineage if p.kind == "building"), None)
        floor = next((p.name for p in lineage if p.kind == "floor"), None)
        out.append({
            "room_id": room.id, "room_name": room.name, "building": building, "floor": floor,
            "capacity": room.capacity, "is_active": room.is_active,
            "open_hours": _hours(open_s), "booked_hours": _hours(booked_s), "used_hours": _hours(used_s),
            "booked_pct": _pct(booked_s, open_s), "utilisation_pct": _pct(used_s, open_s),
            **counts, "no_show_rate": round(counts["no_show"] / decided, 4) if decided else None,
            "booked_minutes_by_hour": by_hour,
            "peak_hours": [{"hour": h, "booked_minutes": by_hour[h]} for h in peaks],
        })
    return out

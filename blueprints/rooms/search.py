"""Rooms as staff see them: the list and one room (with photos), the free-room search for a
range (`free_rooms`: one SQL statement for all rooms) or for the next free hour, and one
room's day view.

Free for [start, end) means what booking would accept, decided for every room at once:
- the room is active, has at least the capacity and all the equipment asked for, and stands
  in the building asked for (directly or on one of its floors);
- its time rules allow the range (rules.check_times, written here as SQL and tested against
  it): not in the past, min_minutes..max_minutes, at most advance_days ahead, inside one
  opening window that starts on a day the room is open (the platform calendar);
- no blackout of the room or of every room overlaps [start, end);
- no occupying booking's blocked range [start_at, blocked_until) meets [start, end + the
  room's buffer): what the exclusion constraint would refuse (its own expression; the
  bookings meeting the range are read once and anti-joined by room, see _FREE_ROOMS);
- when a department is given, the room lets it book (rooms listing other departments only are
  left out).
Best capacity fit first: the fewest seats that are enough, then the room id.

The next free hour (`next_free_hour`): for each room, the earliest 60-minute slot from now
(rounded up to the quarter hour) inside its opening windows of today (one that began
yesterday and runs past midnight included) and of the next day it opens, clear of bookings
(buffers kept on both sides) and blackouts. The rooms in one query, their bookings of the
whole horizon in one, blackouts in one; the gaps are found in Python.

Photos: administrators bind uploads of purpose "room" to a room
(`attachments.bind(ids, admin, "room", room.id, "room")`); everyone signed in sees them.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import date, datetime, time, timedelta

from sqlalchemy import Integer, any_, bindparam, func, or_, select, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import joinedload

from app.auth import Principal
from app.errors import AppError
from app.extensions import db, get_row
from app.timeutil import SHANGHAI, local
from app.workcalendar import WorkCalendar, workday_sql
from blueprints.attachments import service as attachments
from blueprints.rooms import rules
from models.attachments import Attachment
from models.places import PATH_SEPARATOR, Place
from models.rooms import OCCUPYING_STATES, Room, RoomBlackout, RoomBooking

attachments.register_holder("room", Room, visible=lambda actor, room: True)

SEARCH_MAX = timedelta(days=1)
NEXT_SLOT = timedelta(hours=1)
QUARTER_MINUTES = 15
# How far the next-hour search looks for "the next day the room opens" (a long holiday is 8 days).
NEXT_OPEN_LOOKAHEAD_DAYS = 31
MAX_BUFFER = timedelta(minutes=240)  # models/rooms.py: buffer_minutes BETWEEN 0 AND 240


# --- rooms ---------------------------------------------------------------------------------

def _with_listing(stmt):
    """Load what a room's listing shows (place lineage, departments) without a query per room."""
    return stmt.options(joinedload(Room.place).joinedload(Place.parent).joinedload(Place.parent),
                        joinedload(Room.departments))


# The room filters over `room`, shared by the list, the range search and the next hour; a
# NULL parameter (an empty equipment list) leaves its filter out. Rooms listing departments
# let only those book; a room's place is under the building directly or on one of its floors.
_ROOM_FILTERS = """
    room.is_active
    AND (CAST(:capacity AS integer) IS NULL OR room.capacity >= :capacity)
    AND room.equipment @> CAST(:equipment AS varchar[])
    AND (CAST(:building_id AS integer) IS NULL OR room.place_id IN (
            SELECT id FROM place WHERE parent_id = :building_id
                                    OR parent_id IN (SELECT id FROM place WHERE parent_id = :building_id)))
    AND (CAST(:department_id AS integer) IS NULL
         OR NOT EXISTS (SELECT FROM room_department rd WHERE rd.room_id = room.id)
         OR EXISTS (SELECT FROM room_department rd WHERE rd.room_id = room.id AND rd.department_id = :department_id))
"""


def _filter_params(capacity: int | None, equipment: Sequence[str], building_id: int | None,
                   department_id: int | None) -> dict:
    return {"capacity": capacity, "equipment": sorted(set(equipment)), "building_id": building_id,
            "department_id": department_id}


def _rooms(columns: Sequence, capacity: int | None, equipment: Sequence[str], building_id: int | None,
           department_id: int | None):
    """SELECT `columns` of the active rooms with the capacity, all the equipment, in the
    building, bookable by the department (each filter when given)."""
    return select(*columns).where(text(_ROOM_FILTERS).bindparams(
        **_filter_params(capacity, equipment, building_id, department_id)))


def with_photos(rooms: list[Room]) -> list[Room]:
    """Load the photos of `rooms` in one query (kept on each as `photo_list`, which the room
    schema reads instead of a query per room)."""
    by_room: dict[int, list[Attachment]] = defaultdict(list)
    if rooms:
        for photo in db.session.execute(select(Attachment).where(
                Attachment.order_type == "room", Attachment.order_id.in_([r.id for r in rooms]))
                .order_by(Attachment.id)).scalars():
            by_room[photo.order_id].append(photo)
    for room in rooms:
        room.photo_list = by_room.get(room.id, [])
    return rooms


def page_of(items: list, page: int, per_page: int) -> dict:
    return {"items": items[(page - 1) * per_page:page * per_page], "page": page, "per_page": per_page,
            "total": len(items)}


def list_rooms(*, capacity: int | None = None, equipment: Sequence[str] = (), building_id: int | None = None
               ) -> list[Room]:
    """Active rooms (filters as in the free-room search), by building, floor and name."""
    rooms = db.session.execute(_with_listing(_rooms([Room], capacity, equipment, building_id, None))
                               ).unique().scalars().all()
    return with_photos(sorted(rooms, key=lambda r: ([(n.sort_order, n.name) for n in r.place.lineage()], r.id)))


def get_room(room_id: int) -> Room:
    """An active room, or 404 ROOM_NOT_FOUND (unknown or disabled alike)."""
    room = get_row(Room, room_id)
    if room is None or not room.is_active:
        raise AppError("ROOM_NOT_FOUND", details={"room_id": room_id})
    return with_photos([room])[0]


def may_book(principal: Principal | None, room: Room) -> bool:
    """Whether the caller's department may book the room (every department when none are listed)."""
    if not room.departments:
        return True
    return principal is not None and principal.department_id in {d.id for d in room.departments}


# --- free rooms for a range ----------------------------------------------------------------

def check_search_range(start: datetime, end: datetime, now: datetime) -> None:
    """A searchable range: whole minutes, end after start (ROOM_RANGE_INVALID), not in the
    past (ROOM_IN_PAST), at most a day (ROOM_TOO_LONG: no room takes longer bookings)."""
    rules.check_range(start, end)
    if start < now:
        raise AppError("ROOM_IN_PAST", details={"start_at": local(start).isoformat()})
    if end - start > SEARCH_MAX:
        raise AppError("ROOM_TOO_LONG", "查询时段不能超过 24 小时",
                       details={"max_minutes": SEARCH_MAX // timedelta(minutes=1)})


# A search result's card (what a list shows; the full room is GET /rooms/{id}), for the
# rooms of a `picked (id, ord, total)` CTE the statement defines first: the place lineage
# walked in SQL, the department rule as `bookable`, the first photo as the cover.
_CARDS = """
up AS (
    SELECT picked.id AS room_id, p.id, p.parent_id, p.name, p.kind, 0 AS depth
    FROM picked JOIN room ON room.id = picked.id JOIN place p ON p.id = room.place_id
    UNION ALL
    SELECT up.room_id, p.id, p.parent_id, p.name, p.kind, up.depth + 1
    FROM up JOIN place p ON p.id = up.parent_id WHERE up.depth < 16
), lineage AS (
    SELECT room_id, string_agg(name, :separator ORDER BY depth DESC) AS location,
           (array_agg(json_build_object('id', id, 'name', name) ORDER BY depth)
               FILTER (WHERE kind = 'building'))[1] AS building,
           (array_agg(json_build_object('id', id, 'name', name) ORDER BY depth)
               FILTER (WHERE kind = 'floor'))[1] AS floor
    FROM up GROUP BY room_id
)
SELECT picked.total, room.id, room.name, room.capacity, room.equipment, room.approval, room.checkin_required,
       lineage.location, lineage.building, lineage.floor,
       (NOT EXISTS (SELECT FROM room_department rd WHERE rd.room_id = room.id)
        OR EXISTS (SELECT FROM room_department rd
                   WHERE rd.room_id = room.id AND rd.department_id = CAST(:department_id AS integer))) AS bookable,
       (SELECT min(a.id) FROM attachment a WHERE a.order_type = 'room' AND a.order_id = room.id) AS cover_id
FROM picked JOIN room ON room.id = picked.id JOIN lineage ON lineage.room_id = room.id
ORDER BY picked.ord
"""
_CARDS_BY_ID = text("""
WITH RECURSIVE picked AS (
    SELECT id, ord, NULL::bigint AS total FROM unnest(CAST(:ids AS integer[])) WITH ORDINALITY AS t(id, ord)
), """ + _CARDS)  # noqa: S608  (constants only: every value is a bound parameter)


def _cards(rows) -> list[dict]:
    return [{key: value for key, value in row.items() if key != "total"} for row in rows]


def room_cards(ids: Sequence[int], department_id: int | None) -> list[dict]:
    """The cards of the rooms `ids`, in that order; `bookable` for `department_id` (None: only
    rooms open to every department are bookable). One statement however many."""
    if not ids:
        return []
    return _cards(db.session.execute(_CARDS_BY_ID, {
        "ids": list(ids), "separator": PATH_SEPARATOR, "department_id": department_id}).mappings())


# Free for [:start, :end): the filters; rules.check_times (durations, advance days, one
# opening window on an open day, by the calendar in the same statement: windows are disjoint,
# so the range can only fit the one that starts on its local day or the day before);
# rules.check_blackouts; and no occupying booking the exclusion constraint would set against
# [start, end + the room's buffer), in its own expression and states (literals, so a partial
# index on them serves every plan). The bookings that may meet the range (widened by the
# longest buffer) are read once and anti-joined by room, through the GiST index
# ix_room_booking_occupying_range on tstzrange(start_at, blocked_until) of occupying bookings
# (bench/rooms_search.py --explain). The page of them (best capacity fit first) and the
# count of all come as cards in the same statement.
_OCCUPYING = ", ".join(f"'{state}'" for state in OCCUPYING_STATES)
_FREE_ROOMS = text("""
WITH RECURSIVE candidate_booking AS MATERIALIZED (
    SELECT room_id, start_at, blocked_until FROM room_booking
    WHERE status IN (""" + _OCCUPYING + """) AND tstzrange(start_at, blocked_until) && tstzrange(:start, :latest)
), free AS (
    SELECT room.id, room.capacity FROM room
    WHERE """ + _ROOM_FILTERS + """
      AND (CAST(:exclude_room_id AS integer) IS NULL OR room.id <> :exclude_room_id)
      AND room.min_minutes <= :minutes AND room.max_minutes >= :minutes
      AND (:far_ahead_ok OR room.advance_days >= :days_ahead)
      AND (   (CAST(:day_before AS date) + room.opens_at <= :local_start
               AND CAST(:day_before AS date) + (room.closes_at <= room.opens_at)::int + room.closes_at >= :local_end
               AND (room.open_days = 'every_day' OR """ + workday_sql("day_before") + """))
           OR (CAST(:first_day AS date) + room.opens_at <= :local_start
               AND CAST(:first_day AS date) + (room.closes_at <= room.opens_at)::int + room.closes_at >= :local_end
               AND (room.open_days = 'every_day' OR """ + workday_sql("first_day") + """)))
      AND NOT EXISTS (SELECT FROM room_blackout bo WHERE (bo.room_id = room.id OR bo.room_id IS NULL)
                                                     AND bo.starts_at < :end AND bo.ends_at > :start)
      AND NOT EXISTS (SELECT FROM candidate_booking b WHERE b.room_id = room.id
                      AND tstzrange(b.start_at, b.blocked_until)
                          && tstzrange(:start, :end + make_interval(mins => room.buffer_minutes)))
), picked AS (
    SELECT id, row_number() OVER (ORDER BY capacity, id) AS ord, count(*) OVER () AS total FROM free
    ORDER BY capacity, id LIMIT :limit OFFSET :offset
), """ + _CARDS)  # noqa: S608  (constants only: every value is a bound parameter)


def free_rooms(start: datetime, end: datetime, *, capacity: int | None = None, equipment: Sequence[str] = (),
               building_id: int | None = None, department_id: int | None = None,
               exclude_room_id: int | None = None, page: int = 1, per_page: int | None = None,
               now: datetime | None = None, far_ahead_ok: bool = False) -> dict:
    """A page of the cards (room_cards) of the active rooms free for the whole of [start, end)
    (see the module's docstring), best capacity fit first, with the count of all: one
    statement. ROOM_RANGE_INVALID for a malformed range; a range in the past finds nothing.
    `department_id` None: no department filter, and only rooms open to every department are
    `bookable`. `per_page` None: all. `far_ahead_ok`: ignore advance_days (administrators,
    as in rules.check_times)."""
    rules.check_range(start, end)
    now = now or rules.clock()
    first = local(start).date()
    rows = [] if start < now else db.session.execute(_FREE_ROOMS, {
        **_filter_params(capacity, equipment, building_id, department_id),
        "start": start, "end": end, "latest": end + MAX_BUFFER,
        "exclude_room_id": exclude_room_id, "minutes": (end - start) // timedelta(minutes=1),
        "far_ahead_ok": far_ahead_ok, "days_ahead": (first - local(now).date()).days,
        "local_start": local(start).replace(tzinfo=None), "local_end": local(end).replace(tzinfo=None),
        "day_before": first - timedelta(days=1), "first_day": first, "separator": PATH_SEPARATOR,
        "limit": per_page, "offset": (page - 1) * (per_page or 0)}).mappings().all()
    if rows:
        total = rows[0]["total"]
    elif page > 1 and start >= now:  # past the last page: count them
        total = free_rooms(start, end, capacity=capacity, equipment=equipment, building_id=building_id,
                           department_id=department_id, exclude_room_id=exclude_room_id, per_page=1,
                           now=now, far_ahead_ok=far_ahead_ok)["total"]
    else:
        total = 0
    return {"items": _cards(rows), "page": page, "per_page": per_page, "total": total}


def search_free(actor: Principal, start: datetime, end: datetime, *, capacity: int | None = None,
                equipment: Sequence[str] = (), building_id: int | None = None, page: int = 1, per_page: int = 20,
                now: datetime | None = None) -> dict:
    """GET /rooms/available: the range checked (4xx), then a page of the free rooms the
    caller's department may book (a caller without a department: every free room, each
    saying whether it is bookable), as cards: one statement."""
    now = now or rules.clock()
    check_search_range(start, end, now)
    return free_rooms(start, end, capacity=capacity, equipment=equipment, building_id=building_id,
                      department_id=actor.department_id, page=page, per_page=per_page, now=now,
                      far_ahead_ok=actor.is_admin)


# --- the next free hour --------------------------------------------------------------------

def _ceil(moment: datetime, minutes: int) -> datetime:
    """`moment` (in Asia/Shanghai) rounded up to a whole multiple of `minutes` past midnight."""
    step = timedelta(minutes=minutes)
    base = local(moment).replace(second=0, microsecond=0)
    if base < moment:
        base += timedelta(minutes=1)
    return base + (-(base - datetime.combine(base.date(), time(0), base.tzinfo)) % step)


def _open_on(room, day: date, calendar: WorkCalendar) -> bool:
    """rules.open_on with one calendar for a whole batch (rules.open_on reads it per call).
    `room`: a Room or a row with its rule columns, as in the helpers below."""
    return room.open_days == "every_day" or calendar.is_workday(day)


def _windows(room, today: date, start: datetime, calendar: WorkCalendar) -> list[tuple[datetime, datetime]]:
    """The room's opening windows on open days still ending after `start`: today's (and
    yesterday's, if it runs past midnight into now), then the next day it opens."""
    found = [rules.opening_window(room, day) for day in (today - timedelta(days=1), today)
             if _open_on(room, day, calendar)]
    for n in range(1, NEXT_OPEN_LOOKAHEAD_DAYS + 1):
        day = today + timedelta(days=n)
        if _open_on(room, day, calendar):
            found.append(rules.opening_window(room, day))
            break
    return [(begin, end) for begin, end in found if end > start]


def _first_gap(room, windows: Iterable[tuple[datetime, datetime]], start: datetime, today: date,
               bookings: list[tuple[datetime, datetime]], blackouts: list[tuple[datetime, datetime]]
               ) -> datetime | None:
    """The earliest start s >= `start` with [s, s + 1 h) inside a window, clear of every
    blackout, and [s, s + 1 h + buffer) clear of every booking's [start_at, blocked_until)."""
    buffer = timedelta(minutes=room.buffer_minutes)
    for window_start, window_end in windows:
        s = max(window_start, start)
        while s + NEXT_SLOT <= window_end:
            ends = [until for begin, until in bookings if begin < s + NEXT_SLOT + buffer and until > s]
            ends += [until for begin, until in blackouts if begin < s + NEXT_SLOT and until > s]
            if not ends:  # the slot is free; rules.check_times's advance_days still applies
                return s if (local(s).date() - today).days <= room.advance_days else None
            s = _ceil(max(ends), 1)
    return None


def next_free_hour(*, capacity: int | None = None, equipment: Sequence[str] = (), building_id: int | None = None,
                   department_id: int | None = None, page: int = 1, per_page: int = 20,
                   now: datetime | None = None) -> dict:
    """A page of [{"room": card, "start_at", "end_at"}], soonest first, then best capacity fit
    (see the module). Only the page's rooms are loaded, as cards (room_cards)."""
    now = now or rules.clock()
    start = _ceil(now, QUARTER_MINUTES)
    today = local(now).date()
    rooms = db.session.execute(_rooms(
        [Room.id, Room.capacity, Room.opens_at, Room.closes_at, Room.open_days, Room.advance_days, Room.buffer_minutes],
        capacity, equipment, building_id, department_id).where(
        Room.min_minutes <= NEXT_SLOT // timedelta(minutes=1),
        Room.max_minutes >= NEXT_SLOT // timedelta(minutes=1))).all()  # rows: the rules only, no entities
    calendar = WorkCalendar().load(today - timedelta(days=1), today + timedelta(days=NEXT_OPEN_LOOKAHEAD_DAYS))
    by_hours: dict[tuple, list[tuple[datetime, datetime]]] = {}  # rooms share a few opening rules
    for room in rooms:
        key = (room.opens_at, room.closes_at, room.open_days)
        if key not in by_hours:
            by_hours[key] = _windows(room, today, start, calendar)
    windows = {room.id: by_hours[(room.opens_at, room.closes_at, room.open_days)] for room in rooms}
    horizon = max((end for found in windows.values() for _, end in found), default=None)
    if horizon is None:
        return page_of([], page, per_page)
    ids = bindparam("ids", [room_id for room_id, found in windows.items() if found], type_=ARRAY(Integer))
    bookings: dict[int, list[tuple[datetime, datetime]]] = defaultdict(list)
    for room_id, begin, until in db.session.execute(
            select(RoomBooking.room_id, RoomBooking.start_at, RoomBooking.blocked_until)
            .where(RoomBooking.room_id == any_(ids), RoomBooking.status.in_(OCCUPYING_STATES),
                   func.tstzrange(RoomBooking.start_at, RoomBooking.blocked_until)
                   .op("&&")(func.tstzrange(start, horizon + MAX_BUFFER)))
            .order_by(RoomBooking.start_at)):
        bookings[room_id].append((begin, until))
    blackouts: dict[int | None, list[tuple[datetime, datetime]]] = defaultdict(list)
    for room_id, begin, until in db.session.execute(
            select(RoomBlackout.room_id, RoomBlackout.starts_at, RoomBlackout.ends_at)
            .where(or_(RoomBlackout.room_id == any_(ids), RoomBlackout.room_id.is_(None)),
                   RoomBlackout.starts_at < horizon, RoomBlackout.ends_at > start)):
        blackouts[room_id].append((begin, until))
    found = []
    for room in rooms:
        slot = _first_gap(room, windows[room.id], start, today, bookings[room.id],
                          blackouts[room.id] + blackouts[None])
        if slot is not None:
            found.append((slot, room.capacity, room.id))
    found.sort()
    result = page_of(found, page, per_page)
    loaded = room_cards([room_id for _, _, room_id in result["items"]], department_id)
    result["items"] = [{"room": room, "start_at": slot, "end_at": slot + NEXT_SLOT}
                       for (slot, _, _), room in zip(result["items"], loaded, strict=True)]
    return result


# --- a room's day --------------------------------------------------------------------------

def day_view(actor: Principal, room_id: int, day: date) -> dict:
    """One local day of an active room: its opening windows that touch the day (open or
    closed by the calendar), blackouts, and every occupying booking overlapping the day (a
    booking across midnight shows on both days). Everyone sees a booking's times, status and
    department (rules.public_slot); its id, subject and organiser only those who may see its
    details (rules.can_see_details), with `mine` for the organiser's side."""
    room = get_room(room_id)
    day_start = datetime.combine(day, time(0), SHANGHAI)
    day_end = day_start + timedelta(days=1)
    calendar = WorkCalendar().load(day - timedelta(days=1), day)
    windows = []
    for window_day in (day - timedelta(days=1), day):
        begin, end = rules.opening_window(room, window_day)
        if begin < day_end and end > day_start:
            windows.append({"day": window_day, "starts_at": begin, "ends_at": end,
                            "open": _open_on(room, window_day, calendar)})
    blackouts = db.session.execute(
        select(RoomBlackout).where(or_(RoomBlackout.room_id == room.id, RoomBlackout.room_id.is_(None)),
                                   RoomBlackout.starts_at < day_end, RoomBlackout.ends_at > day_start)
        .order_by(RoomBlackout.starts_at, RoomBlackout.id)).scalars().all()
    bookings = db.session.execute(
        select(RoomBooking).where(RoomBooking.room_id == room.id, RoomBooking.status.in_(OCCUPYING_STATES),
                                  RoomBooking.start_at < day_end, RoomBooking.end_at > day_start)
        .options(joinedload(RoomBooking.department), joinedload(RoomBooking.organiser))
        .order_by(RoomBooking.start_at)).scalars().all()
    slots = []
    for booking in bookings:
        slot = {**rules.public_slot(booking), "blocked_until": booking.blocked_until, "details_visible": False}
        if rules.can_see_details(actor, booking):
            slot.update(details_visible=True, id=booking.id, subject=booking.subject,
                        organiser=booking.organiser.name, mine=rules.acts_for(actor, booking))
        slots.append(slot)
    return {"room": room, "date": day, "open": _open_on(room, day, calendar), "windows": windows,
            "blackouts": blackouts, "bookings": slots}


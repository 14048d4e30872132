"""Demo data for meeting rooms, after the places demo made the buildings and rooms: six
bookable rooms (a large hall needing approval by a room approver, a room with a buffer, one
restricted to two departments, a round-the-clock duty room), the property company looking
after them, default quotas, a delegation (赵敏 lets 王芳 book for her), a blackout next week,
four weeks of history (meetings checked in and finished, some no-shows, some cancelled: the
utilisation page has figures), and upcoming bookings made through the booking service (with
attendees and services, one pending approval, a weekly series, a waitlist entry). Adds
nothing when rooms exist already."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from sqlalchemy import select

from app.auth import Principal
from app.errors import AppError
from app.extensions import db
from app.timeutil import SHANGHAI, local, utcnow
from app.workcalendar import is_workday
from blueprints.rooms import booking as bookings
from blueprints.rooms import rules, waitlist
from models import Company, Department, RoleGrant, User
from models.places import Place
from models.rooms import Room, RoomBlackout, RoomBooking, RoomDelegation, RoomQuota

PROPERTY = "安居物业服务有限公司"
APPROVER = "E1008"  # 黄强 approves the 501 hall
LEADER, SECRETARY = "E1007", "E1002"  # 赵敏, 王芳
# place code: room values
ROOMS = {
    "ZL-301": {"name": "301会议室", "capacity": 12, "equipment": ["projector", "whiteboard"]},
    "ZL-302": {"name": "302会议室", "capacity": 8, "equipment": ["whiteboard"], "buffer_minutes": 10},
    "ZL-501": {"name": "501大会议室", "capacity": 80, "equipment": ["projector", "microphones", "video_conference"],
               "approval": "room", "approval_hours": 24, "max_minutes": 600,
               "description": "大型会议、报告会使用，须审批"},
    "ZL-502": {"name": "502视频会议室", "capacity": 20, "equipment": ["video_conference", "projector", "microphones"]},
    "ZH-302": {"name": "302培训室", "capacity": 40, "equipment": ["projector", "microphones", "whiteboard"]},
    "ZL-101": {"name": "101值班接待室", "capacity": 6, "equipment": [], "opens_at": time(0, 0),
               "closes_at": time(0, 0), "open_days": "every_day", "checkin_required": False, "max_minutes": 720,
               "description": "全天开放，值班交接和临时接待"},
}
RESTRICTED = ("ZL-502", ("OFFICE", "IT"))  # only these departments book the video room
STAFF = ["E1001", "E1002", "E1003", "E1004", "E1005", "E1006", "E1007", "E1008"]
HISTORY_DAYS = 28


def _users() -> dict[str, User]:
    return {u.employee_no: u for u in db.session.execute(select(User).where(User.employee_no.in_(STAFF))).scalars()}


def _at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), SHANGHAI)


def _rooms() -> dict[str, Room]:
    places = {p.code: p for p in db.session.execute(select(Place).where(Place.code.in_(list(ROOMS)))).scalars()}
    company = db.session.execute(select(Company).where(Company.name == PROPERTY)).scalar_one_or_none()
    rooms = {}
    for code, values in ROOMS.items():
        if code in places:
            rooms[code] = Room(place_id=places[code].id, property_company_id=company.id if company else None, **values)
            db.session.add(rooms[code])
    code, departments = RESTRICTED
    if code in rooms:
        rooms[code].departments = list(db.session.execute(
            select(Department).where(Department.code.in_(departments))).scalars())
    db.session.flush()
    return rooms


def _history(rooms: dict[str, Room], users: list[User], today: date) -> None:
    """Four weeks of workday meetings in the rooms that need no approval, inserted as they ended."""
    plain = [r for code, r in rooms.items() if code in ("ZL-301", "ZL-302", "ZL-502", "ZH-302")]
    n = 0
    for back in range(HISTORY_DAYS, 0, -1):
        day = today - timedelta(days=back)
        if not is_workday(day):
            continue
        for room in plain:
            for hour in (9, 14, 16):
                n += 1
                user = users[n % len(users)]
                if room.departments and user.department_id not in {d.id for d in room.departments}:
                    continue
                start, end = _at(day, hour), _at(day, hour + 1, 30 if hour != 16 else 0)
                status = "no_show" if n % 9 == 0 else "cancelled" if n % 13 == 0 else "finished"
                values = {}
                if status == "finished":
                    values = {"checked_in_at": start + timedelta(minutes=n % 10), "checked_in_by_id": user.id,
                              "finished_at": end - timedelta(minutes=(n % 4) * 10)}
                    end = values["finished_at"]
                booking = RoomBooking(room_id=room.id, user_id=user.id, booked_by_id=user.id,
                                      department_id=user.department_id, subject=f"{room.name}业务碰头会",
                                      attendee_count=min(room.capacity, 3 + n % 6), start_at=start, end_at=end,
                                      blocked_until=rules.blocked_until(room, end), status=status,
                                      created_at=start - timedelta(days=2), **values)
                rules.occupy(booking)


def _next_workdays(today: date, count: int) -> list[date]:
    days, day = [], today
    while len(days) < count:
        day += timedelta(days=1)
        if is_workday(day):
            days.append(day)
    return days


def _book(actor: User, data: dict, now: datetime) -> RoomBooking | None:
    try:
        with db.session.begin_nested():
            return bookings.create_booking(Principal.for_user(actor), data, now)
    except AppError:  # e.g. a room the demo calendar closes that day: leave it out
        return None


def seed(now: datetime | None = None) -> None:
    if db.session.execute(select(Room.id).limit(1)).first() is not None:
        return
    now = now or utcnow()
    today = local(now).date()
    users = _users()
    rooms = _rooms()
    if not rooms or len(users) < len(STAFF):
        return
    approver = users[APPROVER]
    approver.roles.append(RoleGrant(role="room_approver", scope_kind="room", scope_id=rooms["ZL-501"].id))
    db.session.add_all([RoomQuota(scope="person", bookings_per_week=15, minutes_per_day=480),
                        RoomDelegation(leader_id=users[LEADER].id, secretary_id=users[SECRETARY].id)])
    first, second, third = _next_workdays(today, 3)
    db.session.add(RoomBlackout(room_id=rooms["ZH-302"].id, starts_at=_at(third, 8), ends_at=_at(third, 21),
                                reason="投影设备检修"))
    db.session.flush()
    staff = [users[n] for n in STAFF]
    _history(rooms, staff, today)

    def room_data(code, day, start, end, subject, count, **extra):
        return {"room_id": rooms[code].id, "start_at": _at(day, *start), "end_at": _at(day, *end),
                "subject": subject, "attendee_count": count, **extra}

    try:
        with db.session.begin_nested():
            bookings.create_series(Principal.for_user(users["E1001"]), {
                **room_data("ZL-301", first, (9, 0), (10, 0), "综合科周例会", 8,
                            attendee_ids=[users["E1004"].id, users["E1005"].id]),
                "recurrence": {"frequency": "weekly", "interval": 1, "weekdays": [first.weekday()], "count": 4},
                "book_available": True}, now)
    except AppError:
        pass  # no occurrence fits the demo calendar
    _book(users["E1003"], room_data("ZL-302", first, (14, 0), (15, 30), "后勤保障协调会", 6,
                                    services=[{"kind": "tea_water", "note": "6 人茶水"}]), now)
    _book(users["E1006"], room_data("ZL-502", first, (10, 0), (11, 30), "信息化项目视频会", 12,
                                    services=[{"kind": "av_support", "note": "连通省厅视频会议系统"}]), now)
    _book(users[SECRETARY], room_data("ZL-501", second, (9, 0), (11, 30), "季度工作推进会", 60,
                                      on_behalf_of=users[LEADER].id, attendee_ids=[users["E1008"].id],
                                      services=[{"kind": "name_cards", "note": "主席台 8 个桌签"},
                                                {"kind": "tea_water", "note": None}]), now)
    _book(users["E1004"], room_data("ZH-302", second, (14, 0), (17, 0), "财务制度培训", 30), now)
    _book(users["E1005"], room_data("ZL-101", first, (18, 0), (20, 0), "值班交接", 3), now)
    # a taken slot someone waits for
    taken = _book(users["E1002"], room_data("ZL-302", second, (10, 0), (11, 0), "公文处理小组会", 5), now)
    if taken is not None:
        waitlist.join(Principal.for_user(users["E1006"]), {
            "room_id": taken.room_id, "start_at": taken.start_at, "end_at": taken.end_at, "subject": "技术方案讨论",
            "attendee_count": 4}, now)
    db.session.flush()

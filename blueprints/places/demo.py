"""Demo data for places and the working calendar (a step of app.demo.DEMO_STEPS).
Idempotent: places are added when missing (by name under their parent); a calendar year
is loaded only when it has no entries yet."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select

from app.extensions import db
from blueprints.places.calendar import calendar_year, replace_year
from models.places import Place

# (kind, name, code, children)
PLACES = [
    ("building", "行政中心主楼", "ZL", [
        ("floor", "地下一层", "ZL-B1", [("area", "地下停车场", "ZL-B1-P", [])]),
        ("floor", "1层", "ZL-1", [("area", "大厅服务台", "ZL-1-DESK", []), ("room", "101接待室", "ZL-101", [])]),
        ("floor", "3层", "ZL-3", [("room", "301会议室", "ZL-301", []), ("room", "302会议室", "ZL-302", [])]),
        ("floor", "5层", "ZL-5", [("room", "501大会议室", "ZL-501", []), ("room", "502视频会议室", "ZL-502", [])]),
    ]),
    ("building", "综合楼", "ZH", [
        ("floor", "1层", "ZH-1", [
            ("area", "职工食堂", "ZH-1-CANTEEN", []),
            ("area", "餐盘回收处", "ZH-1-TRAY", []),
        ]),
        ("floor", "2层", "ZH-2", [("area", "自助餐厅", "ZH-2-CANTEEN", []), ("room", "201包间", "ZH-201", [])]),
        ("floor", "3层", "ZH-3", [("room", "物业服务中心", "ZH-301", []), ("room", "302培训室", "ZH-302", [])]),
        ("area", "地面停车场", "ZH-P", []),
    ]),
]


def _days(first: date, last: date, name: str) -> list[dict]:
    return [{"date": first + timedelta(days=i), "name": name} for i in range((last - first).days + 1)]


# 2026: 国务院办公厅关于2026年部分节假日安排的通知 (published November 2025), as recalled
# when this was written, not copied from the notice: check it against the published text
# before relying on it in production.
CALENDAR_2026 = {
    "holidays": [
        *_days(date(2026, 1, 1), date(2026, 1, 3), "元旦"),
        *_days(date(2026, 2, 15), date(2026, 2, 23), "春节"),
        *_days(date(2026, 4, 4), date(2026, 4, 6), "清明节"),
        *_days(date(2026, 5, 1), date(2026, 5, 5), "劳动节"),
        *_days(date(2026, 6, 19), date(2026, 6, 21), "端午节"),
        *_days(date(2026, 9, 25), date(2026, 9, 27), "中秋节"),
        *_days(date(2026, 10, 1), date(2026, 10, 7), "国庆节"),
    ],
    "workdays": [
        {"date": date(2026, 1, 4), "name": "元旦调休上班"},
        {"date": date(2026, 2, 14), "name": "春节调休上班"},
        {"date": date(2026, 2, 28), "name": "春节调休上班"},
        {"date": date(2026, 5, 9), "name": "劳动节调休上班"},
        {"date": date(2026, 9, 20), "name": "国庆节调休上班"},
        {"date": date(2026, 10, 10), "name": "国庆节调休上班"},
    ],
}

# 2027: PROVISIONAL. The State Council had not published the 2027 arrangement when this was
# written. These are the statutory days of 《全国年节及纪念日放假办法》 (2024 revision) on
# their 2027 dates, plus the weekday in lieu (补休) the law gives for a statutory day that
# falls on a weekend; no 调休 make-up workdays. Replace the year with PUT /api/v1/calendar/2027
# once the notice is out.
CALENDAR_2027 = {
    "holidays": [
        {"date": date(2027, 1, 1), "name": "元旦"},
        *_days(date(2027, 2, 5), date(2027, 2, 10), "春节"),  # 除夕 Fri 2-5 … 初三 Mon 2-8, 补休 2-9, 2-10
        {"date": date(2027, 4, 5), "name": "清明节"},
        *_days(date(2027, 5, 1), date(2027, 5, 4), "劳动节"),  # Sat and Sun, 补休 Mon 5-3, Tue 5-4
        {"date": date(2027, 6, 9), "name": "端午节"},
        {"date": date(2027, 9, 15), "name": "中秋节"},
        *_days(date(2027, 10, 1), date(2027, 10, 5), "国庆节"),  # 10-1 Fri … 10-3 Sun, 补休 10-4, 10-5
    ],
    "workdays": [],
}
CALENDARS = {2026: CALENDAR_2026, 2027: CALENDAR_2027}


def _ensure(kind: str, name: str, code: str | None, parent: Place | None, order: int) -> Place:
    stmt = select(Place).where(Place.name == name)
    stmt = stmt.where(Place.parent_id == parent.id) if parent else stmt.where(Place.parent_id.is_(None))
    place = db.session.execute(stmt).scalar_one_or_none()
    if place is None:
        taken = code and db.session.execute(select(Place.id).where(Place.code == code)).first()
        place = Place(kind=kind, name=name, code=None if taken else code, parent=parent, sort_order=order)
        db.session.add(place)
        db.session.flush()
    return place


def _seed(items, parent: Place | None) -> None:
    for order, (kind, name, code, children) in enumerate(items):
        _seed(children, _ensure(kind, name, code, parent, order))


def seed_places_and_calendar() -> None:
    _seed(PLACES, None)
    for year, data in CALENDARS.items():
        current = calendar_year(year)
        if not current["holidays"] and not current["workdays"]:
            replace_year(None, year, data["holidays"], data["workdays"], record=False)


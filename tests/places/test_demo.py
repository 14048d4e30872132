"""The demo step: two buildings with floors, meeting rooms, the canteen, the tray-return
station and parking; the 2026 calendar (and the provisional 2027 one); idempotent."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import func, select

from app import demo, workcalendar
from app.extensions import db
from blueprints.places import service
from blueprints.places.calendar import calendar_year, validate_year
from blueprints.places.demo import CALENDARS, seed_places_and_calendar
from models import CalendarDay, Place
from tests.places.helpers import API


def test_demo_step_is_registered_and_idempotent(client, make):
    assert "blueprints.places.demo:seed_places_and_calendar" in demo.DEMO_STEPS
    seed_places_and_calendar()
    db.session.commit()
    places = db.session.execute(select(func.count()).select_from(Place)).scalar_one()
    days = db.session.execute(select(func.count()).select_from(CalendarDay)).scalar_one()
    seed_places_and_calendar()
    db.session.commit()
    assert db.session.execute(select(func.count()).select_from(Place)).scalar_one() == places
    assert db.session.execute(select(func.count()).select_from(CalendarDay)).scalar_one() == days

    paths = {p["path"]: p for p in client.get(f"{API}/places", headers=make.headers(make.user())).get_json()}
    for path in ("行政中心主楼 / 3层 / 301会议室", "行政中心主楼 / 5层 / 501大会议室",
                 "行政中心主楼 / 地下一层 / 地下停车场", "综合楼 / 1层 / 职工食堂", "综合楼 / 1层 / 餐盘回收处",
                 "综合楼 / 地面停车场"):
        assert path in paths, path
    assert paths["综合楼 / 1层 / 职工食堂"]["kind"] == "area"
    assert paths["行政中心主楼 / 3层 / 301会议室"]["kind"] == "room"
    # Every demo place obeys the hierarchy rules of the service.
    for place in db.session.execute(select(Place)).scalars():
        service.check_place(place, place.kind, place.parent)


def test_demo_calendars_pass_the_api_rules(app):
    for year, data in CALENDARS.items():
        validate_year(year, data["holidays"], data["workdays"])


def test_demo_2026_calendar(app):
    seed_places_and_calendar()
    db.session.commit()
    year = calendar_year(2026)
    assert len(year["holidays"]) == 33 and len(year["workdays"]) == 6
    assert {h["name"] for h in year["holidays"]} == {"元旦", "春节", "清明节", "劳动节", "端午节", "中秋节", "国庆节"}
    # 13 statutory days off fall on 19 weekdays in 2026 (with the bridges), made up on 6 weekend days.
    assert sum(workcalendar.is_workday(date(2026, 1, 1) + timedelta(days=i)) for i in range(365)) == 248
    assert not workcalendar.is_workday(date(2026, 2, 16))   # 除夕
    assert workcalendar.is_workday(date(2026, 2, 28))       # 春节调休 Saturday
    assert calendar_year(2027)["holidays"][0] == {"date": date(2027, 1, 1), "name": "元旦"}

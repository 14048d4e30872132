"""The booking panel views (scoped to the operator's canteens; penalties lifted by
administrators) and the booking demo step."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import func, select

from app.extensions import db
from blueprints.canteen import booking as service
from blueprints.canteen import demo_booking
from models import User
from models.canteen import BookingPenalty, MealBooking, Special
from tests.canteen.conftest import build_kitchen
from tests.canteen.test_booking import WED, at, p
from tests.support.admin import PASSWORD, login


def _panel_user(make, *roles, **kw):
    return make.user(*roles, password=PASSWORD, **kw)


def test_bookings_view_is_scoped_to_the_operators_canteens(client, make, kitchen):
    other = build_kitchen(make, name="第二食堂")
    mine = service.book(p(make.user(name="张三")), kitchen.lunch.id, WED, now=at(date(2026, 6, 2), 10))
    theirs = service.book(p(make.user(name="李四")), other.lunch.id, WED, now=at(date(2026, 6, 2), 10))
    db.session.commit()
    manager = db.session.get(User, kitchen.manager.id)
    manager.password_hash = _panel_user(make).password_hash
    db.session.commit()
    assert login(client, manager).status_code == 302
    page = client.get("/admin/canteen-bookings/").get_data(as_text=True)
    assert "张三" in page and "李四" not in page
    assert client.get(f"/admin/canteen-bookings/details/?id={mine.id}").status_code == 200
    assert client.get(f"/admin/canteen-bookings/details/?id={theirs.id}").status_code in (302, 404)
    auditor = _panel_user(make, "auditor")
    fresh = client.application.test_client()
    assert login(fresh, auditor).status_code == 302
    page = fresh.get("/admin/canteen-bookings/").get_data(as_text=True)
    assert "张三" in page and "李四" in page


def _penalty(make, kitchen) -> BookingPenalty:
    user = make.user(name="王五")
    booking = service.book(p(user), kitchen.lunch.id, WED, now=at(date(2026, 6, 2), 10))
    penalty = BookingPenalty(user_id=user.id, kind="suspension", reason="近 30 天内预订后未取餐 3 次", no_shows=3,
                             trigger_booking_id=booking.id, starts_on=WED, ends_on=WED + timedelta(days=6))
    db.session.add(penalty)
    db.session.commit()
    return penalty


def test_penalty_lift_in_the_panel(client, make, kitchen):
    penalty = _penalty(make, kitchen)
    auditor = client.application.test_client()
    assert login(auditor, _panel_user(make, "auditor")).status_code == 302
    assert "王五" in auditor.get("/admin/canteen-penalties/").get_data(as_text=True)
    assert auditor.post(f"/admin/canteen-penalties/lift/?id={penalty.id}", data={"note": "x"}).status_code == 403
    admin = client.application.test_client()
    assert login(admin, _panel_user(make, "admin")).status_code == 302
    assert admin.get(f"/admin/canteen-penalties/lift/?id={penalty.id}").status_code == 200
    resp = admin.post(f"/admin/canteen-penalties/lift/?id={penalty.id}", data={"note": "已核实"})
    assert resp.status_code == 302
    db.session.expire_all()
    assert db.session.get(BookingPenalty, penalty.id).lifted_at is not None
    assert admin.post(f"/admin/canteen-penalties/lift/?id={penalty.id}", data={}).status_code == 409
    assert admin.get("/admin/canteen-penalties/lift/?id=999999").status_code == 404


def test_demo_step(app, make):
    from app.demo import seed_identity

    seed_identity()
    kitchen = build_kitchen(make, name=demo_booking.CANTEEN)
    now = at(WED, 10)  # Wednesday's lunch is closed; Thursday and Friday are open
    db.session.add(Special(slot_id=kitchen.lunch.id, day=date(2026, 6, 4), kind="low_price", name="每月低价红烧肉",
                           portions_total=50, portions_left=50, opens_at=at(date(2026, 6, 1), 9)))
    db.session.commit()
    demo_booking.seed(now=now)
    rows = db.session.execute(select(MealBooking)).scalars().all()
    by_status = {}
    for row in rows:
        by_status.setdefault(row.status, []).append(row)
    # 15 serving days (weekdays back from Tuesday 2 June): 6 diners served every day, the
    # absentee missing every third day (5 of 15) and served on the other 10.
    days = sorted({r.day for r in by_status["served"]})
    assert len(days) == 15 and days[-1] == date(2026, 6, 2) and days[0] == date(2026, 5, 13)
    assert all(d.weekday() < 5 for d in days)
    assert len(by_status["served"]) == 6 * 15 + 10
    assert all(r.served_at is not None for r in by_status["served"])
    assert len(by_status["no_show"]) == 5 and len(by_status["cancelled"]) == 1
    assert date(2026, 6, 2) in {r.day for r in by_status["no_show"]}
    assert {r.day for r in by_status["booked"]} == {date(2026, 6, 4), date(2026, 6, 5)}
    assert sum(1 for r in rows if r.special_id) == 1
    served = by_status["served"][0]
    from blueprints.canteen.rules import MEAL

    assert [t["transition"] for t in MEAL.timeline(served.id)] == ["create", "serve"]
    assert MEAL.timeline(served.id)[1]["actor_id"] == kitchen.worker.id
    count = db.session.execute(select(func.count(MealBooking.id))).scalar()
    demo_booking.seed(now=now)  # again: nothing added
    assert db.session.execute(select(func.count(MealBooking.id))).scalar() == count

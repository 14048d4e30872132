"""The pickup pass: issued to the owner, scanned at the counter by the booking canteen's staff
on the booking's day within the serving window; once only; refused with a clear code on
another day, outside the window, at another canteen, or for a cancelled booking."""

from __future__ import annotations

from datetime import date

from app.extensions import db
from blueprints.canteen import booking as service
from blueprints.canteen.rules import MEAL
from models.canteen import MealBooking
from tests.canteen.conftest import build_kitchen
from tests.canteen.test_booking import WED, at, p
from tests.identity.helpers import assert_error

VERIFY = "/api/v1/passes/verify"


def _booking(kitchen, user, slot=None):
    booking = service.book(p(user), (slot or kitchen.lunch).id, WED, now=at(date(2026, 6, 2), 10))
    db.session.commit()
    return booking


def _pass(client, make, booking_id, user) -> str:
    resp = client.get(f"/api/v1/canteen/bookings/{booking_id}/pass", headers=make.headers(user))
    assert resp.status_code == 200, resp.get_json()
    assert resp.headers["Cache-Control"] == "no-store"
    return resp.get_json()["token"]


def test_scan_serves_once(client, make, kitchen, booking_clock):
    diner = make.user(name="王芳")
    booking = _booking(kitchen, diner)
    token = _pass(client, make, booking.id, diner)
    booking_clock(at(WED, 11, 40))
    worker = make.headers(kitchen.worker)
    resp = client.post(VERIFY, json={"token": token}, headers=worker)
    assert resp.status_code == 200, resp.get_json()
    body = resp.get_json()
    assert (body["purpose"], body["order_id"], body["transition"], body["state"]) == (
        "meal", booking.id, "serve", "served")
    assert body["holder"] == {"id": diner.id, "name": "王芳"}
    assert body["summary"]["meal_label"] == "午餐" and body["summary"]["day"] == "2026-06-03"
    # The same pass again (a screenshot, a second counter): refused, naming the state.
    again = assert_error(client.post(VERIFY, json={"token": token}, headers=make.headers(kitchen.manager)),
                         409, "INVALID_TRANSITION")
    assert again["message"] == "当前状态为「已取餐」，不能取餐核销"
    db.session.expire_all()
    stored = db.session.get(MealBooking, booking.id)
    assert stored.status == "served"
    assert [r["transition"] for r in MEAL.timeline(booking.id)] == ["create", "serve"]
    # A served booking has no pass any more, and is rateable.
    assert_error(client.get(f"/api/v1/canteen/bookings/{booking.id}/pass", headers=make.headers(diner)),
                 409, "PASS_ORDER_NOT_ACTIVE")
    assert MEAL.finished_at(booking.id) is not None


def test_scan_refused_on_another_day_or_outside_the_window(client, make, kitchen, booking_clock):
    diner = make.user()
    booking = _booking(kitchen, diner)
    token = _pass(client, make, booking.id, diner)
    worker = make.headers(kitchen.worker)
    booking_clock(at(date(2026, 6, 4), 11, 40))  # the next day, in the window
    body = assert_error(client.post(VERIFY, json={"token": token}, headers=worker), 409, "CANTEEN_PASS_WRONG_DAY")
    assert body["message"] == "这是6月3日午餐的取餐码，今天不能使用"
    booking_clock(at(date(2026, 6, 2), 11, 40))  # the day before
    assert_error(client.post(VERIFY, json={"token": token}, headers=worker), 409, "CANTEEN_PASS_WRONG_DAY")
    booking_clock(at(WED, 11, 14))  # 16 minutes early
    body = assert_error(client.post(VERIFY, json={"token": token}, headers=worker), 409,
                        "CANTEEN_PASS_OUTSIDE_WINDOW")
    assert body["message"] == "午餐取餐时间为 11:30–13:00"
    booking_clock(at(WED, 13, 16))  # 16 minutes late
    assert_error(client.post(VERIFY, json={"token": token}, headers=worker), 409, "CANTEEN_PASS_OUTSIDE_WINDOW")
    db.session.expire_all()
    assert db.session.get(MealBooking, booking.id).status == "booked"
    booking_clock(at(WED, 13, 15))  # within the tolerance
    assert client.post(VERIFY, json={"token": token}, headers=worker).status_code == 200


def test_scan_refused_for_other_canteens_and_other_people(client, make, kitchen, booking_clock):
    diner = make.user()
    booking = _booking(kitchen, diner)
    token = _pass(client, make, booking.id, diner)
    other = build_kitchen(make, name="第二食堂")
    booking_clock(at(WED, 12))
    for who in (other.worker, other.manager):
        body = assert_error(client.post(VERIFY, json={"token": token}, headers=make.headers(who)),
                            403, "CANTEEN_PASS_OTHER_CANTEEN")
        assert kitchen.canteen.name in body["message"]
    for who in (diner, make.user(), make.user("guard", company=make.company("security"))):
        assert_error(client.post(VERIFY, json={"token": token}, headers=make.headers(who)), 403, "FORBIDDEN")
    # Only the owner gets the pass.
    for who in (make.user(), kitchen.worker):
        assert_error(client.get(f"/api/v1/canteen/bookings/{booking.id}/pass", headers=make.headers(who)),
                     404, "NOT_FOUND")
    db.session.expire_all()
    assert db.session.get(MealBooking, booking.id).status == "booked"


def test_cancelled_bookings_pass_is_refused(client, make, kitchen, booking_clock):
    diner = make.user()
    booking = _booking(kitchen, diner)
    token = _pass(client, make, booking.id, diner)
    service.cancel(p(diner), booking.id, now=at(WED, 9))
    db.session.commit()
    booking_clock(at(WED, 12))
    body = assert_error(client.post(VERIFY, json={"token": token}, headers=make.headers(kitchen.worker)),
                        409, "INVALID_TRANSITION")
    assert body["message"] == "当前状态为「已取消」，不能取餐核销"
    assert_error(client.get(f"/api/v1/canteen/bookings/{booking.id}/pass", headers=make.headers(diner)),
                 409, "PASS_ORDER_NOT_ACTIVE")


def test_pass_png(client, make, kitchen):
    diner = make.user()
    booking = _booking(kitchen, diner)
    png = client.get(f"/api/v1/canteen/bookings/{booking.id}/pass?format=png", headers=make.headers(diner))
    assert png.status_code == 200 and png.mimetype == "image/png" and png.data[:4] == b"\x89PNG"

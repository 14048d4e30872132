"""Meal bookings: the time rules and their codes, double booking, suspension, capacity, dish
pre-selection, specials (stock taken and returned), idempotent create, week booking,
cancelling, visibility. Fixed times throughout: services get `now=`, routes run under a
replaced `clock`."""

from __future__ import annotations

from datetime import date, datetime, time

import pytest
from sqlalchemy import func, select

from app.auth import Principal
from app.errors import AppError
from app.extensions import db
from app.timeutil import SHANGHAI
from blueprints.canteen import booking as service
from models.canteen import BookingPenalty, MealBooking, MealSlot, Menu, MenuItem, Special
from tests.canteen.conftest import build_kitchen
from tests.identity.helpers import assert_error

WED = date(2026, 6, 3)   # a Wednesday (the test calendar is Monday-Friday)
SAT = date(2026, 6, 6)


def at(day: date, hour: int, minute: int = 0, second: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute, second), tzinfo=SHANGHAI)


def p(user) -> Principal:
    return Principal.for_user(user)


def code_of(fn) -> AppError:
    with pytest.raises(AppError) as exc:
        fn()
    return exc.value


def special(slot: MealSlot, day: date, portions: int = 2, opens_at: datetime | None = None, **kw) -> Special:
    row = Special(slot_id=slot.id, day=day, kind=kw.pop("kind", "low_price"), name=kw.pop("name", "红烧狮子头"),
                  portions_total=portions, portions_left=portions, opens_at=opens_at or at(date(2026, 6, 1), 0),
                  price_cents=kw.pop("price_cents", 500), **kw)
    db.session.add(row)
    db.session.commit()
    return row


def publish_menu(slot: MealSlot, day: date, dishes) -> Menu:
    menu = Menu(slot_id=slot.id, day=day, status="published", published_at=at(day, 0))
    menu.items = [MenuItem(dish_id=d.id, sort_order=i) for i, d in enumerate(dishes)]
    db.session.add(menu)
    db.session.commit()
    return menu


def portions_left(special_id: int) -> int:
    db.session.expire_all()
    return db.session.get(Special, special_id).portions_left


# --- booking over HTTP ---------------------------------------------------------------------

def test_book_lunch_over_http(client, make, kitchen, booking_clock):
    staff = make.user(name="张伟", department=make.department())
    booking_clock(at(date(2026, 6, 2), 10))
    resp = client.post("/api/v1/canteen/bookings", json={"slot_id": kitchen.lunch.id, "day": "2026-06-03"},
                       headers=make.headers(staff))
    assert resp.status_code == 201, resp.get_json()
    body = resp.get_json()
    assert body["status"] == "booked" and body["status_label"] == "已预订"
    assert (body["meal"], body["meal_label"], body["day"]) == ("lunch", "午餐", "2026-06-03")
    assert body["canteen"] == {"id": kitchen.canteen.id, "name": kitchen.canteen.name}
    assert body["cutoff_at"] == "2026-06-03T09:30:00+08:00"
    assert body["serve_start"] == "2026-06-03T11:30:00+08:00" and body["serve_end"] == "2026-06-03T13:00:00+08:00"
    assert body["cancellable"] is True and body["available"] == ["cancel"]
    assert body["special"] is None and body["dishes"] == []
    assert [(r["transition"], r["actor_name"]) for r in body["timeline"]] == [("create", "张伟")]
    stored = db.session.get(MealBooking, body["id"])
    assert (stored.user_id, stored.department_id, stored.canteen_id) == (staff.id, staff.department_id,
                                                                       kitchen.canteen.id)
    # Contractors and visitors do not book.
    assert_error(client.post("/api/v1/canteen/bookings", json={"slot_id": kitchen.lunch.id, "day": "2026-06-03"},
                             headers=make.headers(kitchen.worker)), 403, "FORBIDDEN")
    for bad in ({"slot_id": kitchen.lunch.id}, {"slot_id": "x", "day": "2026-06-03"},
                {"slot_id": kitchen.lunch.id, "day": "06/03/2026"},
                {"slot_id": kitchen.lunch.id, "day": "2026-06-03", "dishes": [{"dish_id": 1, "portion": "big"}]}):
        assert_error(client.post("/api/v1/canteen/bookings", json=bad, headers=make.headers(staff)),
                     422, "VALIDATION_ERROR")


def test_time_rules_each_with_its_code_and_message(make, kitchen):
    staff = p(make.user())
    tue = date(2026, 6, 2)
    err = code_of(lambda: service.book(staff, kitchen.lunch.id, SAT, now=at(tue, 10)))
    assert (err.code, err.status, err.message) == ("CANTEEN_NOT_SERVING", 422, "6月6日（周六）不供应午餐")
    # Breakfast serves every day.
    assert service.book(staff, kitchen.breakfast.id, SAT, now=at(tue, 10)).status == "booked"
    # Opens 7 days ahead at 00:00.
    err = code_of(lambda: service.book(staff, kitchen.lunch.id, date(2026, 6, 12), now=at(date(2026, 6, 4), 23, 59)))
    assert (err.code, err.status) == ("CANTEEN_BOOKING_NOT_OPEN", 409)
    assert err.message == "6月12日午餐将于 6月5日 00:00 开放预订"
    assert err.details == {"opens_at": "2026-06-05T00:00:00+08:00"}
    assert service.book(staff, kitchen.lunch.id, date(2026, 6, 12), now=at(date(2026, 6, 5), 0)).status == "booked"
    # Lunch closes 120 minutes before 11:30.
    err = code_of(lambda: service.book(staff, kitchen.lunch.id, WED, now=at(WED, 9, 30)))
    assert (err.code, err.status, err.message) == ("CANTEEN_BOOKING_CLOSED", 409, "6月3日午餐预订已于 09:30 截止")
    assert err.details == {"cutoff_at": "2026-06-03T09:30:00+08:00"}
    assert service.book(staff, kitchen.lunch.id, WED, now=at(WED, 9, 29, 59)).status == "booked"
    # Breakfast closes at 20:00 the evening before.
    err = code_of(lambda: service.book(staff, kitchen.breakfast.id, WED, now=at(tue, 20)))
    assert (err.code, err.message) == ("CANTEEN_BOOKING_CLOSED", "6月3日早餐预订已于 前一天 20:00 截止")
    # A past day is closed too.
    err = code_of(lambda: service.book(staff, kitchen.dinner.id, date(2026, 6, 1), now=at(WED, 8)))
    assert err.code == "CANTEEN_BOOKING_CLOSED" and "6月1日晚餐" in err.message
    db.session.rollback()


def test_unknown_or_inactive_slot_and_canteen(client, make, kitchen, booking_clock):
    booking_clock(at(date(2026, 6, 2), 10))
    headers = make.headers(make.user())
    body = assert_error(client.post("/api/v1/canteen/bookings", json={"slot_id": 999999, "day": "2026-06-03"},
                                    headers=headers), 404, "CANTEEN_SLOT_NOT_FOUND")
    assert body["details"] == {"slot_id": 999999}
    kitchen.dinner.is_active = False
    db.session.commit()
    assert_error(client.post("/api/v1/canteen/bookings", json={"slot_id": kitchen.dinner.id, "day": "2026-06-03"},
                             headers=headers), 422, "CANTEEN_SLOT_INACTIVE")
    kitchen.canteen.is_active = False
    db.session.commit()
    body = assert_error(client.post("/api/v1/canteen/bookings", json={"slot_id": kitchen.lunch.id,
                                                                      "day": "2026-06-03"}, headers=headers),
                        422, "CANTEEN_INACTIVE")
    assert kitchen.canteen.name in body["message"]
    assert db.session.execute(select(func.count(MealBooking.id))).scalar() == 0


def test_one_booking_per_meal_and_day_whichever_canteen(make, kitchen):
    other = build_kitchen(make, name="第二食堂")
    staff = p(make.user())
    now = at(date(2026, 6, 2), 10)
    first = service.book(staff, kitchen.lunch.id, WED, now=now)
    db.session.commit()
    err = code_of(lambda: service.book(staff, other.lunch.id, WED, now=now))
    assert (err.code, err.status, err.details) == ("CANTEEN_ALREADY_BOOKED", 409, {"booking_id": first.id})
    assert err.message == "您已预订6月3日的午餐"
    db.session.rollback()
    # Dinner the same day, and lunch the next, are other meals.
    service.book(staff, other.dinner.id, WED, now=now)
    service.book(staff, other.lunch.id, date(2026, 6, 4), now=now)
    db.session.commit()
    # After cancelling, the meal can be booked again (elsewhere).
    service.cancel(staff, first.id, now=now)
    again = service.book(staff, other.lunch.id, WED, now=now)
    db.session.commit()
    assert again.canteen_id == other.canteen.id


def test_the_unique_index_decides_when_the_check_is_raced(make, kitchen, monkeypatch):
    """The friendly pre-check is skipped (as when two requests pass it at once): the partial
    unique index refuses the second insert, in a savepoint, so the transaction lives on."""
    staff = p(make.user())
    now = at(date(2026, 6, 2), 10)
    first = service.book(staff, kitchen.lunch.id, WED, now=now)
    db.session.commit()
    monkeypatch.setattr(service, "_live_booking_id", lambda *a: None)
    err = code_of(lambda: service.book(staff, kitchen.lunch.id, WED, now=now))
    assert err.code == "CANTEEN_ALREADY_BOOKED"
    service.book(staff, kitchen.dinner.id, WED, now=now)  # the same transaction goes on
    db.session.commit()
    assert db.session.execute(select(func.count(MealBooking.id))).scalar() == 2
    assert db.session.get(MealBooking, first.id).status == "booked"


def test_suspended_user_cannot_book_the_days_covered(make, kitchen):
    user = make.user()
    staff = p(user)
    now = at(date(2026, 6, 1), 10)
    trigger = service.book(p(user), kitchen.dinner.id, date(2026, 6, 1), now=now)
    penalty = BookingPenalty(user_id=user.id, kind="suspension", reason="近 30 天内预订后未取餐 3 次", no_shows=3,
                             trigger_booking_id=trigger.id, starts_on=date(2026, 6, 2), ends_on=WED)
    db.session.add(penalty)
    db.session.commit()
    err = code_of(lambda: service.book(staff, kitchen.lunch.id, WED, now=now))
    assert (err.code, err.status) == ("CANTEEN_SUSPENDED", 403)
    assert err.message == "您的报餐已暂停至 6月3日（含）：近 30 天内预订后未取餐 3 次"
    assert err.details == {"penalty_id": penalty.id, "ends_on": "2026-06-03", "reason": penalty.reason}
    # The day after the suspension ends is bookable; a warning never blocks.
    assert service.book(staff, kitchen.lunch.id, date(2026, 6, 4), now=now).status == "booked"
    penalty.lifted_at = now
    db.session.commit()
    assert service.book(staff, kitchen.lunch.id, WED, now=now).status == "booked"


def test_capacity(make, kitchen):
    kitchen.lunch.capacity = 2
    db.session.commit()
    a, b, c = (p(make.user()) for _ in range(3))
    now = at(date(2026, 6, 2), 10)
    first = service.book(a, kitchen.lunch.id, WED, now=now)
    service.book(b, kitchen.lunch.id, WED, now=now)
    db.session.commit()
    err = code_of(lambda: service.book(c, kitchen.lunch.id, WED, now=now))
    assert (err.code, err.status, err.message) == ("CANTEEN_FULL", 409, "6月3日午餐预订已满（2 份）")
    db.session.rollback()
    assert service.book(c, kitchen.lunch.id, date(2026, 6, 4), now=now).status == "booked"  # another day
    service.cancel(a, first.id, now=now)
    assert service.book(c, kitchen.lunch.id, WED, now=now).status == "booked"  # a cancelled place is free again
    db.session.commit()


def test_dish_preselection(client, make, kitchen, booking_clock):
    pork, greens, rice = kitchen.dishes
    diner = make.user()
    staff = p(diner)
    now = at(date(2026, 6, 2), 10)
    err = code_of(lambda: service.book(staff, kitchen.lunch.id, WED, dishes=[{"dish_id": pork.id}], now=now))
    assert (err.code, err.status, err.message) == ("CANTEEN_DISH_INVALID", 422, "6月3日午餐的菜单尚未发布，暂不能选菜")
    publish_menu(kitchen.lunch, WED, [pork, greens])
    err = code_of(lambda: service.book(staff, kitchen.lunch.id, WED, dishes=[{"dish_id": rice.id}], now=now))
    assert err.code == "CANTEEN_DISH_INVALID" and err.details == {"dish_id": rice.id}
    err = code_of(lambda: service.book(staff, kitchen.lunch.id, WED,
                                       dishes=[{"dish_id": greens.id, "portion": "half"}], now=now))
    assert err.code == "CANTEEN_DISH_INVALID" and err.message == "「清炒时蔬」没有该份量"
    err = code_of(lambda: service.book(staff, kitchen.lunch.id, WED,
                                       dishes=[{"dish_id": pork.id}, {"dish_id": pork.id}], now=now))
    assert err.code == "CANTEEN_DISH_INVALID"
    # A draft menu of another slot does not count.
    db.session.add(Menu(slot_id=kitchen.dinner.id, day=WED, status="draft"))
    db.session.commit()
    assert code_of(lambda: service.book(staff, kitchen.dinner.id, WED, dishes=[{"dish_id": pork.id}],
                                        now=now)).code == "CANTEEN_DISH_INVALID"
    booking_clock(now)
    user_headers = make.headers(diner)
    resp = client.post("/api/v1/canteen/bookings", headers=user_headers, json={
        "slot_id": kitchen.lunch.id, "day": "2026-06-03",
        "dishes": [{"dish_id": pork.id, "portion": "half"}, {"dish_id": greens.id}]})
    assert resp.status_code == 201, resp.get_json()
    assert resp.get_json()["dishes"] == [{"dish_id": pork.id, "name": "红烧肉", "portion": "half"},
                                         {"dish_id": greens.id, "name": "清炒时蔬", "portion": "full"}]


# --- specials -------------------------------------------------------------------------------

def test_special_rules_stock_and_return(client, make, kitchen, booking_clock):
    now = at(date(2026, 6, 2), 10)
    sp = special(kitchen.lunch, WED, portions=2, opens_at=at(date(2026, 6, 2), 9))
    a, b, c = (make.user() for _ in range(3))
    # Not that slot's or day's special.
    for slot, day in ((kitchen.dinner, WED), (kitchen.lunch, date(2026, 6, 4))):
        err = code_of(lambda slot=slot, day=day: service.book(p(a), slot.id, day, special_id=sp.id, now=now))
        assert (err.code, err.status) == ("CANTEEN_SPECIAL_INVALID", 422)
    err = code_of(lambda: service.book(p(a), kitchen.lunch.id, WED, special_id=999999, now=now))
    assert err.code == "CANTEEN_SPECIAL_INVALID"
    # Before it opens.
    err = code_of(lambda: service.book(p(a), kitchen.lunch.id, WED, special_id=sp.id, now=at(date(2026, 6, 2), 8)))
    assert (err.code, err.status, err.message) == ("CANTEEN_SPECIAL_NOT_OPEN", 409,
                                                   "「红烧狮子头」将于 前一天 09:00 开始预订")
    first = service.book(p(a), kitchen.lunch.id, WED, special_id=sp.id, now=now)
    service.book(p(b), kitchen.lunch.id, WED, special_id=sp.id, now=now)
    db.session.commit()
    assert portions_left(sp.id) == 0 and first.special_id == sp.id
    err = code_of(lambda: service.book(p(c), kitchen.lunch.id, WED, special_id=sp.id, now=now))
    assert (err.code, err.status, err.message) == ("CANTEEN_SPECIAL_SOLD_OUT", 409, "「红烧狮子头」已售罄")
    db.session.rollback()
    # The sold-out answer costs nothing: no booking was made for c, lunch without the special still books.
    assert service.book(p(c), kitchen.lunch.id, date(2026, 6, 4), now=now).special_id is None
    db.session.commit()
    booking_clock(now)
    listed = client.get(f"/api/v1/canteen/specials?day=2026-06-03&canteen_id={kitchen.canteen.id}",
                        headers=make.headers(c)).get_json()
    assert [(s["id"], s["portions_left"], s["sold_out"], s["open"], s["meal"]) for s in listed] == [
        (sp.id, 0, True, True, "lunch")]
    # Cancelling returns the portion in the same transaction, and the special can be booked again.
    service.cancel(p(a), first.id, now=now)
    db.session.commit()
    assert portions_left(sp.id) == 1
    again = service.book(p(c), kitchen.lunch.id, WED, special_id=sp.id, now=now)
    db.session.commit()
    assert again.special_id == sp.id and portions_left(sp.id) == 0
    detail = client.get(f"/api/v1/canteen/bookings/{again.id}", headers=make.headers(c)).get_json()
    assert detail["special"] == {"id": sp.id, "name": "红烧狮子头", "kind": "low_price", "kind_label": "每月低价菜",
                                 "price_cents": 500}


def test_special_booked_once_per_person_and_stock_kept_on_refusal(make, kitchen):
    now = at(date(2026, 6, 2), 10)
    sp = special(kitchen.lunch, WED, portions=5, opens_at=at(date(2026, 6, 1), 0))
    user = p(make.user())
    service.book(user, kitchen.lunch.id, WED, special_id=sp.id, now=now)
    db.session.commit()
    err = code_of(lambda: service.book(user, kitchen.lunch.id, WED, special_id=sp.id, now=now))
    assert err.code == "CANTEEN_ALREADY_BOOKED"
    db.session.rollback()
    assert portions_left(sp.id) == 4
    # The race past the friendly check: the statement's insert fails, so its decrement is undone too.
    import blueprints.canteen.booking as module

    original = module._live_booking_id
    module._live_booking_id = lambda *a: None
    try:
        err = code_of(lambda: service.book(user, kitchen.lunch.id, WED, special_id=sp.id, now=now))
    finally:
        module._live_booking_id = original
    assert err.code == "CANTEEN_ALREADY_BOOKED"
    db.session.commit()
    assert portions_left(sp.id) == 4


# --- idempotency and week booking ----------------------------------------------------------

def test_idempotent_create(client, make, kitchen, booking_clock):
    booking_clock(at(date(2026, 6, 2), 10))
    headers = {**make.headers(make.user()), "Idempotency-Key": "book-wed-lunch-1"}
    body = {"slot_id": kitchen.lunch.id, "day": "2026-06-03"}
    first = client.post("/api/v1/canteen/bookings", json=body, headers=headers)
    second = client.post("/api/v1/canteen/bookings", json=body, headers=headers)
    assert first.status_code == second.status_code == 201
    assert second.headers.get("Idempotent-Replayed") == "true"
    assert first.get_json()["id"] == second.get_json()["id"]
    assert db.session.execute(select(func.count(MealBooking.id))).scalar() == 1
    assert_error(client.post("/api/v1/canteen/bookings", json={**body, "day": "2026-06-04"}, headers=headers),
                 422, "IDEMPOTENCY_KEY_REUSED")
    # Without a key, the retry is a double booking: refused.
    plain = {k: v for k, v in headers.items() if k != "Idempotency-Key"}
    assert_error(client.post("/api/v1/canteen/bookings", json=body, headers=plain), 409, "CANTEEN_ALREADY_BOOKED")


def test_week_booking_books_what_can_be_booked(client, make, kitchen, booking_clock):
    user = make.user()
    headers = make.headers(user)
    monday = date(2026, 6, 1)
    now = at(monday, 10)   # Monday lunch closed at 09:30
    service.book(p(user), kitchen.lunch.id, WED, now=now)
    db.session.commit()
    booking_clock(now)
    days = [(monday.replace(day=monday.day + i)).isoformat() for i in range(7)]
    resp = client.post("/api/v1/canteen/bookings/week", json={"slot_id": kitchen.lunch.id, "days": days},
                       headers={**headers, "Idempotency-Key": "week-23"})
    assert resp.status_code == 200, resp.get_json()
    body = resp.get_json()
    outcome = {r["day"]: (r["booked"], r.get("code")) for r in body["results"]}
    assert outcome == {
        "2026-06-01": (False, "CANTEEN_BOOKING_CLOSED"), "2026-06-02": (True, None),
        "2026-06-03": (False, "CANTEEN_ALREADY_BOOKED"), "2026-06-04": (True, None), "2026-06-05": (True, None),
        "2026-06-06": (False, "CANTEEN_NOT_SERVING"), "2026-06-07": (False, "CANTEEN_NOT_SERVING")}
    assert body["booked"] == 3
    closed = next(r for r in body["results"] if r["day"] == "2026-06-01")
    assert closed["message"] == "6月1日午餐预订已于 09:30 截止" and not closed.get("booking")
    booked = next(r for r in body["results"] if r["day"] == "2026-06-02")
    assert booked["booking"]["status"] == "booked"
    assert db.session.execute(select(func.count(MealBooking.id))).scalar() == 4
    replay = client.post("/api/v1/canteen/bookings/week", json={"slot_id": kitchen.lunch.id, "days": days},
                         headers={**headers, "Idempotency-Key": "week-23"})
    assert replay.headers.get("Idempotent-Replayed") == "true" and replay.get_json() == body
    assert db.session.execute(select(func.count(MealBooking.id))).scalar() == 4
    assert_error(client.post("/api/v1/canteen/bookings/week", headers=headers, json={
        "slot_id": kitchen.lunch.id, "days": days + ["2026-06-08"]}), 422, "VALIDATION_ERROR")
    assert_error(client.post("/api/v1/canteen/bookings/week", headers=headers, json={
        "slot_id": kitchen.lunch.id, "days": []}), 422, "VALIDATION_ERROR")


# --- cancelling -----------------------------------------------------------------------------

def test_cancel_rules(client, make, kitchen, booking_clock):
    user = make.user()
    headers = make.headers(user)
    booking = service.book(p(user), kitchen.lunch.id, WED, now=at(date(2026, 6, 2), 10))
    db.session.commit()
    url = f"/api/v1/canteen/bookings/{booking.id}/cancel"
    booking_clock(at(WED, 9, 30))
    body = assert_error(client.post(url, json={}, headers=headers), 409, "CANTEEN_CANCEL_CLOSED")
    assert body["message"] == "6月3日午餐已于 09:30 截止取消"
    detail = client.get(f"/api/v1/canteen/bookings/{booking.id}", headers=headers).get_json()
    assert detail["cancellable"] is False and detail["available"] == ["cancel"]
    # Someone else: not found.
    booking_clock(at(WED, 9))
    assert_error(client.post(url, json={}, headers=make.headers(make.user())), 404, "NOT_FOUND")
    resp = client.post(url, json={"note": "临时出差"}, headers=headers)
    assert resp.status_code == 200, resp.get_json()
    out = resp.get_json()
    assert out["status"] == "cancelled" and out["cancelled_at"].startswith("2026-06-03T09:00:00")
    assert out["timeline"][-1]["note"] == "临时出差" and out["available"] == []
    body = assert_error(client.post(url, json={}, headers=headers), 409, "INVALID_TRANSITION")
    assert body["message"] == "当前状态为「已取消」，不能取消预订"
    # A slot that does not allow cancelling.
    kitchen.dinner.cancel_until_cutoff = False
    db.session.commit()
    dinner = service.book(p(user), kitchen.dinner.id, WED, now=at(WED, 9))
    db.session.commit()
    assert_error(client.post(f"/api/v1/canteen/bookings/{dinner.id}/cancel", json={}, headers=headers),
                 409, "CANTEEN_CANCEL_NOT_ALLOWED")
    assert client.get(f"/api/v1/canteen/bookings/{dinner.id}", headers=headers).get_json()["cancellable"] is False


# --- reading --------------------------------------------------------------------------------

def test_who_sees_a_booking_and_my_bookings(client, make, kitchen, booking_clock):
    owner, stranger = make.user(), make.user()
    other = build_kitchen(make, name="第二食堂")
    now = at(date(2026, 6, 2), 10)
    lunch = service.book(p(owner), kitchen.lunch.id, WED, now=now)
    service.book(p(owner), kitchen.dinner.id, WED, now=now)
    service.book(p(owner), kitchen.lunch.id, date(2026, 6, 4), now=now)
    service.book(p(stranger), kitchen.lunch.id, WED, now=now)
    db.session.commit()
    service.cancel(p(owner), lunch.id, now=now)
    db.session.commit()
    booking_clock(now)
    url = f"/api/v1/canteen/bookings/{lunch.id}"
    for who in (owner, kitchen.worker, kitchen.manager, make.user("admin"), make.user("auditor")):
        assert client.get(url, headers=make.headers(who)).status_code == 200
    for who in (stranger, other.worker, other.manager):
        assert_error(client.get(url, headers=make.headers(who)), 404, "NOT_FOUND")
    mine = client.get("/api/v1/canteen/bookings/mine", headers=make.headers(owner)).get_json()
    assert mine["total"] == 3 and [b["day"] for b in mine["items"]] == ["2026-06-04", "2026-06-03", "2026-06-03"]
    booked = client.get("/api/v1/canteen/bookings/mine?status=booked&from=2026-06-03&to=2026-06-03",
                        headers=make.headers(owner)).get_json()
    assert [b["meal"] for b in booked["items"]] == ["dinner"]
    assert_error(client.get("/api/v1/canteen/bookings/mine?status=eaten", headers=make.headers(owner)),
                 422, "VALIDATION_ERROR")

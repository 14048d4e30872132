"""Dish ratings (菜品评价): rating the dishes of a served meal within the platform rating
window, re-rating (an upsert), the refusals and their codes, who reads a booking's dish
ratings, the figures on menus and production counts (one summary query per answer), the
panel view (scoped, no rater for contractors) and the demo step."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import event, func, select, update

from app.extensions import db
from blueprints.canteen import dish_ratings as service
from blueprints.canteen import production, rules
from models import User
from models.canteen import DishRating, MealBooking, Menu
from models.platform import OrderTransition
from tests.canteen.conftest import build_kitchen
from tests.canteen.test_booking import WED, at, code_of, p, publish_menu
from tests.identity.helpers import assert_error
from tests.support.admin import PASSWORD, login

SERVED_AT = at(WED, 12, 5)


def served(kitchen, user, slot=None, day=WED, status="served", dishes=None, served_at=SERVED_AT) -> MealBooking:
    """A booking of `user`; when served, with its timeline row (the rating window counts from it)."""
    slot = slot or kitchen.lunch
    booking = MealBooking(user_id=user.id, department_id=user.department_id, canteen_id=kitchen.canteen.id,
                          slot_id=slot.id, meal=slot.meal, day=day, status=status, dishes=dishes or [],
                          served_at=served_at if status == "served" else None)
    db.session.add(booking)
    db.session.flush()
    if status == "served":
        db.session.add(OrderTransition(order_type="meal_booking", order_id=booking.id, from_state="booked",
                                       to_state="served", transition="serve", at=served_at))
    db.session.commit()
    return booking


@pytest.fixture
def clock(monkeypatch):
    def set_clock(moment):
        monkeypatch.setattr(rules, "clock", lambda: moment)
    return set_clock


@pytest.fixture
def meal(kitchen):
    """Wednesday's lunch menu: 红烧肉 and 清炒时蔬 (米饭 is not on it)."""
    pork, greens, _rice = kitchen.dishes
    publish_menu(kitchen.lunch, WED, [pork, greens])
    return kitchen


def url(booking_id: int) -> str:
    return f"/api/v1/canteen/bookings/{booking_id}/dish-ratings"


def stored(booking_id: int) -> dict[int, int]:
    db.session.expire_all()
    return dict(db.session.execute(select(DishRating.dish_id, DishRating.stars)
                                   .where(DishRating.booking_id == booking_id)).all())


# --- rating ----------------------------------------------------------------------------------

def test_rate_and_re_rate_over_http(client, make, meal, clock):
    pork, greens, _rice = meal.dishes
    diner = make.user()
    booking = served(meal, diner)
    clock(at(WED, 13))
    resp = client.post(url(booking.id), json={"ratings": [{"dish_id": pork.id, "stars": 5},
                                                          {"dish_id": greens.id, "stars": 3}]},
                       headers=make.headers(diner))
    assert resp.status_code == 200, resp.get_json()
    body = resp.get_json()
    assert (body["booking_id"], body["meal"], body["day"], body["status"]) == (booking.id, "lunch", "2026-06-03",
                                                                               "served")
    assert body["can_rate"] is True and body["reason"] is None
    assert body["rateable_until"] == "2026-06-10T12:05:00+08:00"  # RATING_WINDOW_DAYS (7) after serving
    assert [(i["dish_id"], i["name"], i["stars"]) for i in body["items"]] == [(pork.id, "红烧肉", 5),
                                                                             (greens.id, "清炒时蔬", 3)]
    assert stored(booking.id) == {pork.id: 5, greens.id: 3}
    first = db.session.execute(select(DishRating).where(DishRating.dish_id == pork.id)).scalar_one()
    created, user_id = first.created_at, first.user_id
    assert user_id == diner.id

    # Re-rating one dish changes its stars in place (same row, same created_at); the other stays.
    clock(at(WED, 18))
    resp = client.post(url(booking.id), json={"ratings": [{"dish_id": pork.id, "stars": 2}]},
                       headers=make.headers(diner))
    assert resp.status_code == 200, resp.get_json()
    assert [(i["dish_id"], i["stars"]) for i in resp.get_json()["items"]] == [(pork.id, 2), (greens.id, 3)]
    assert stored(booking.id) == {pork.id: 2, greens.id: 3}
    again = db.session.execute(select(DishRating).where(DishRating.dish_id == pork.id)).scalar_one()
    assert (again.id, again.created_at) == (first.id, created)
    assert db.session.execute(select(func.count()).select_from(DishRating)).scalar() == 2

    # GET: the same view.
    got = client.get(url(booking.id), headers=make.headers(diner)).get_json()
    assert [(i["dish_id"], i["stars"]) for i in got["items"]] == [(pork.id, 2), (greens.id, 3)]


def test_not_served_is_409(client, make, meal, clock):
    pork = meal.dishes[0]
    diner = make.user()
    clock(at(WED, 13))
    for status in ("booked", "cancelled", "no_show"):
        booking = served(meal, diner, status=status, day=WED + timedelta(days={"booked": 0, "cancelled": 1,
                                                                                "no_show": 2}[status]))
        body = assert_error(client.post(url(booking.id), json={"ratings": [{"dish_id": pork.id, "stars": 4}]},
                                        headers=make.headers(diner)), 409, "CANTEEN_DISH_RATING_NOT_SERVED")
        assert body["details"]["current"] == status
        got = client.get(url(booking.id), headers=make.headers(diner)).get_json()
        assert got["can_rate"] is False and got["reason"] == "CANTEEN_DISH_RATING_NOT_SERVED"
    assert db.session.execute(select(func.count()).select_from(DishRating)).scalar() == 0


def test_outside_the_window_is_409(client, make, meal, clock):
    pork = meal.dishes[0]
    diner = make.user()
    booking = served(meal, diner)
    # The last moment of the window: still open (and a re-rate too).
    assert service.rate_dishes(p(diner), booking.id, [{"dish_id": pork.id, "stars": 4}],
                               now=SERVED_AT + timedelta(days=7))
    db.session.commit()
    clock(SERVED_AT + timedelta(days=7, seconds=1))
    body = assert_error(client.post(url(booking.id), json={"ratings": [{"dish_id": pork.id, "stars": 1}]},
                                    headers=make.headers(diner)), 409, "CANTEEN_DISH_RATING_WINDOW_CLOSED")
    assert body["details"]["rateable_until"] == (SERVED_AT + timedelta(days=7)).isoformat()
    assert stored(booking.id) == {pork.id: 4}
    got = client.get(url(booking.id), headers=make.headers(diner)).get_json()
    assert got["can_rate"] is False and got["reason"] == "CANTEEN_DISH_RATING_WINDOW_CLOSED"
    assert got["items"][0]["stars"] == 4


def test_foreign_booking_is_404_and_who_reads(client, make, meal, clock):
    pork = meal.dishes[0]
    diner, stranger = make.user(), make.user()
    other = build_kitchen(make, name="第二食堂")
    booking = served(meal, diner)
    service.rate_dishes(p(diner), booking.id, [{"dish_id": pork.id, "stars": 5}], now=at(WED, 13))
    db.session.commit()
    clock(at(WED, 13))
    body = {"ratings": [{"dish_id": pork.id, "stars": 1}]}
    for who in (stranger, meal.manager, meal.worker, make.user("admin"), other.manager):
        assert_error(client.post(url(booking.id), json=body, headers=make.headers(who)), 404, "NOT_FOUND")
    assert_error(client.post(url(2**40), json=body, headers=make.headers(diner)), 404, "NOT_FOUND")
    assert_error(client.post(url(999999), json=body, headers=make.headers(diner)), 404, "NOT_FOUND")
    assert stored(booking.id) == {pork.id: 5}
    err = code_of(lambda: service.rate_dishes(p(stranger), booking.id, body["ratings"], now=at(WED, 13)))
    assert err.code == "NOT_FOUND"
    # Reading: the owner, administrators and auditors with the stars; the canteen's operators
    # see the dishes without the diner's stars; anyone else 404.
    for who, stars in ((diner, 5), (make.user("admin"), 5), (make.user("auditor"), 5), (meal.manager, None),
                       (meal.worker, None)):
        resp = client.get(url(booking.id), headers=make.headers(who))
        assert resp.status_code == 200, resp.get_json()
        got = resp.get_json()
        assert got["items"][0]["stars"] == stars
        assert got["can_rate"] is (who is diner)
    for who in (stranger, other.manager, other.worker):
        assert_error(client.get(url(booking.id), headers=make.headers(who)), 404, "NOT_FOUND")


def test_dish_not_of_the_meal_is_422(client, make, meal, clock):
    pork, greens, rice = meal.dishes
    diner = make.user()
    booking = served(meal, diner)
    clock(at(WED, 13))
    body = assert_error(client.post(url(booking.id), headers=make.headers(diner), json={"ratings": [
        {"dish_id": pork.id, "stars": 5}, {"dish_id": rice.id, "stars": 4}, {"dish_id": 999999, "stars": 3}]}),
        422, "CANTEEN_DISH_RATING_DISH_INVALID")
    assert body["details"] == {"ids": [rice.id, 999999]}
    assert stored(booking.id) == {}
    # Another kitchen's dish, and a draft menu's dish, are not the meal's either.
    other = build_kitchen(make, name="第二食堂")
    db.session.add(Menu(slot_id=meal.dinner.id, day=WED, status="draft"))
    db.session.commit()
    assert_error(client.post(url(booking.id), headers=make.headers(diner), json={"ratings": [
        {"dish_id": other.dishes[0].id, "stars": 5}]}), 422, "CANTEEN_DISH_RATING_DISH_INVALID")
    # A pre-selected dish counts (even off the menu).
    chosen = served(meal, diner, day=WED + timedelta(days=1), dishes=[{"dish_id": rice.id, "portion": "half"}],
                    served_at=at(WED + timedelta(days=1), 12))
    resp = client.post(url(chosen.id), headers=make.headers(diner),
                       json={"ratings": [{"dish_id": rice.id, "stars": 4}]})
    assert resp.status_code == 200, resp.get_json()
    assert [(i["dish_id"], i["stars"]) for i in resp.get_json()["items"]] == [(rice.id, 4)]
    assert greens.id not in stored(chosen.id)


def test_bad_input_is_422(client, make, meal, clock):
    pork, greens, _rice = meal.dishes
    diner = make.user()
    booking = served(meal, diner)
    clock(at(WED, 13))
    headers = make.headers(diner)
    for bad in ({"ratings": [{"dish_id": pork.id, "stars": 0}]}, {"ratings": [{"dish_id": pork.id, "stars": 6}]},
                {"ratings": [{"dish_id": pork.id, "stars": "五"}]}, {"ratings": [{"dish_id": pork.id}]},
                {"ratings": []}, {"ratings": [{"dish_id": greens.id, "stars": 3}] * 21}, {},
                {"ratings": [{"dish_id": 0, "stars": 3}]}):
        assert_error(client.post(url(booking.id), json=bad, headers=headers), 422, "VALIDATION_ERROR")
    body = assert_error(client.post(url(booking.id), headers=headers, json={"ratings": [
        {"dish_id": pork.id, "stars": 3}, {"dish_id": pork.id, "stars": 5}]}), 422, "VALIDATION_ERROR")
    assert "ratings" in body["details"]["fields"]["json"]
    err = code_of(lambda: service.rate_dishes(p(diner), booking.id, [{"dish_id": pork.id, "stars": 9}],
                                              now=at(WED, 13)))
    assert err.code == "VALIDATION_ERROR"
    assert stored(booking.id) == {}


# --- figures ---------------------------------------------------------------------------------

def _count_rating_queries():
    seen = []

    def before(conn, cursor, statement, parameters, context, executemany):
        if "FROM dish_rating" in statement:
            seen.append(statement)
    event.listen(db.engine, "before_cursor_execute", before)
    return seen, lambda: event.remove(db.engine, "before_cursor_execute", before)


def test_menus_and_production_show_the_average_and_count(client, make, meal, clock):
    pork, greens, rice = meal.dishes
    thu = WED + timedelta(days=1)
    publish_menu(meal.lunch, thu, [pork, rice])
    publish_menu(meal.dinner, WED, [greens, rice])
    for stars, day in ((5, WED), (4, WED), (2, thu)):
        booking = served(meal, make.user(), day=day, served_at=at(day, 12))
        service.rate_dishes(_owner(booking), booking.id, [{"dish_id": pork.id, "stars": stars}], now=at(day, 13))
    old = served(meal, make.user(), day=WED - timedelta(days=1), served_at=at(WED - timedelta(days=1), 12))
    publish_menu(meal.lunch, WED - timedelta(days=1), [rice])
    service.rate_dishes(_owner(old), old.id, [{"dish_id": rice.id, "stars": 1}], now=at(WED, 9))
    db.session.commit()
    # A rating older than 90 days is left out of the figures.
    db.session.execute(update(DishRating).where(DishRating.booking_id == old.id)
                       .values(created_at=at(WED, 9) - timedelta(days=91)))
    db.session.commit()
    clock(at(thu, 14))
    seen, stop = _count_rating_queries()
    try:
        resp = client.get(f"/api/v1/canteen/menus?canteen_id={meal.canteen.id}&from=2026-06-02&to=2026-06-04",
                          headers=make.headers(make.user()))
    finally:
        stop()
    assert resp.status_code == 200, resp.get_json()
    menus = resp.get_json()["items"]
    assert len(menus) == 4
    assert len(seen) == 1  # one summary query for the whole answer, however many menus and dishes
    figures = {(m["day"], m["meal"], d["id"]): d["rating"] for m in menus for d in m["dishes"]}
    assert figures[("2026-06-03", "lunch", pork.id)] == {"average": 3.67, "count": 3}
    assert figures[("2026-06-04", "lunch", pork.id)] == {"average": 3.67, "count": 3}
    assert figures[("2026-06-03", "dinner", greens.id)] == {"average": None, "count": 0}
    assert figures[("2026-06-04", "lunch", rice.id)] == {"average": None, "count": 0}
    # Other dish answers keep their shape (no rating).
    dishes = client.get(f"/api/v1/canteen/canteens/{meal.canteen.id}/dishes",
                        headers=make.headers(meal.manager)).get_json()
    assert all("rating" not in d for d in dishes)
    # Summary over every rating when no `since`.
    assert service.dish_summary([rice.id, pork.id]) == {rice.id: {"average": 1.0, "count": 1},
                                                         pork.id: {"average": 3.67, "count": 3}}
    # Production counts: per dish.
    figures = production.production(p(meal.manager), meal.canteen.id, thu, meal.lunch.id, now=at(thu, 14))
    assert {d["dish_id"]: d["rating"] for d in figures[0]["dishes"]} == {
        pork.id: {"average": 3.67, "count": 3}, rice.id: {"average": None, "count": 0}}
    resp = client.get(f"/api/v1/canteen/production?canteen_id={meal.canteen.id}&day=2026-06-04",
                      headers=make.headers(meal.manager))
    assert resp.status_code == 200
    lunch = next(f for f in resp.get_json()["items"] if f["meal"] == "lunch")
    assert lunch["dishes"][0]["rating"]["count"] == 3


def _owner(booking):
    return p(db.session.get(User, booking.user_id))


# --- panel and demo --------------------------------------------------------------------------

def _rated(kitchen, make, name: str):
    diner = make.user(name=name)
    booking = served(kitchen, diner)
    service.rate_dishes(p(diner), booking.id, [{"dish_id": kitchen.dishes[0].id, "stars": 4}], now=at(WED, 13))
    db.session.commit()
    return booking


def test_panel_view_is_scoped_and_hides_the_rater_from_contractors(client, make, kitchen):
    other = build_kitchen(make, name="第二食堂")
    publish_menu(kitchen.lunch, WED, kitchen.dishes[:2])
    publish_menu(other.lunch, WED, other.dishes[:2])
    _rated(kitchen, make, "评价人甲")
    _rated(other, make, "评价人乙")
    mine = db.session.execute(select(DishRating.id).join(MealBooking, MealBooking.id == DishRating.booking_id)
                              .where(MealBooking.canteen_id == kitchen.canteen.id)).scalar_one()
    theirs = db.session.execute(select(DishRating.id).join(MealBooking, MealBooking.id == DishRating.booking_id)
                                .where(MealBooking.canteen_id == other.canteen.id)).scalar_one()
    for reader in (make.user("admin", password=PASSWORD), make.user("auditor", password=PASSWORD)):
        assert login(client, reader).status_code == 302
        resp = client.get("/admin/canteen-dish-ratings/")
        assert resp.status_code == 200
        html = resp.get_data(as_text=True)
        assert "评价人甲" in html and "评价人乙" in html and "评价人" in html and "2026-06-03" in html
        assert "★★★★" in html and kitchen.canteen.name in html and "第二食堂" in html
        assert "评价人甲" in client.get(f"/admin/canteen-dish-ratings/details/?id={mine}").get_data(as_text=True)
        assert client.get("/admin/canteen-dish-ratings/new/").status_code in (302, 403)
        client.post("/admin/logout")
    manager = make.user("canteen_manager", company=kitchen.company, password=PASSWORD)
    assert login(client, manager).status_code == 302
    resp = client.get("/admin/canteen-dish-ratings/")
    assert resp.status_code == 200
    html = resp.get_data(as_text=True)
    assert "红烧肉" in html and kitchen.canteen.name in html and "★★★★" in html
    assert "第二食堂" not in html and "评价人乙" not in html
    assert "评价人甲" not in html and "评价人" not in html  # no rater column, no name
    details = client.get(f"/admin/canteen-dish-ratings/details/?id={mine}")
    assert details.status_code == 200 and "评价人" not in details.get_data(as_text=True)
    theirs_page = client.get(f"/admin/canteen-dish-ratings/details/?id={theirs}")
    assert theirs_page.status_code == 302 or "第二食堂" not in theirs_page.get_data(as_text=True)
    assert client.post("/admin/canteen-dish-ratings/delete/", data={"id": mine}).status_code in (302, 403, 405)
    assert db.session.get(DishRating, mine) is not None


def test_demo_step_is_idempotent(app):
    from app.demo import DEMO_STEPS, seed_demo

    steps = DEMO_STEPS
    assert steps.index("blueprints.canteen.demo_dish_ratings:seed") == \
        steps.index("blueprints.canteen.demo_waste:seed") + 1
    seed_demo()
    count = db.session.execute(select(func.count()).select_from(DishRating)).scalar()
    assert count >= 4
    assert db.session.execute(select(func.count(func.distinct(DishRating.booking_id)))).scalar() >= 2
    seed_demo()
    assert db.session.execute(select(func.count()).select_from(DishRating)).scalar() == count

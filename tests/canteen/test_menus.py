"""Canteens, slots, dishes, menus and specials: reads, operator scoping, validation codes,
the special portions rules. Writes that depend on the time pass `now=`; API writes use days
in 2099 so they never depend on today's date."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import pytest
from sqlalchemy import select, update

from app.auth import Principal
from app.errors import AppError
from app.extensions import db
from app.timeutil import SHANGHAI
from blueprints.canteen import menus
from models.audit import AuditLog
from models.canteen import Dish, MealSlot, Menu, Special
from tests.canteen.conftest import build_kitchen

MONDAY = date(2026, 3, 2)  # the calendar table is empty in tests: Monday to Friday are workdays


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), SHANGHAI)


def first_weekday(year: int, weekday: int = 0) -> date:
    day = date(year, 1, 8)
    return day + timedelta(days=(weekday - day.weekday()) % 7)


FUTURE_MONDAY = first_weekday(2099)


def who(user) -> Principal:
    return Principal.for_user(user)


def code_of(excinfo) -> str:
    return excinfo.value.code


# --- canteens and slots ------------------------------------------------------------------

def test_canteen_view_has_rules_in_chinese_and_the_next_days(kitchen, make):
    staff = make.user()
    view = menus.canteen_view(who(staff), kitchen.canteen, days=7, now=at(MONDAY - timedelta(days=2), 10))
    slots = {s["meal"]: s for s in view["slots"]}
    assert slots["breakfast"]["cutoff_text"] == "前一天 20:00 截止"
    assert slots["lunch"]["cutoff_text"] == "开餐前 2 小时截止"
    assert "提前 7 天开放预订" in slots["lunch"]["rules_text"] and "截止前可取消" in slots["lunch"]["rules_text"]
    assert view["operated"] is False
    # From Saturday: breakfast every day, lunch on workdays only.
    lunch_days = [(d["day"], d["serves"]) for d in slots["lunch"]["days"]]
    assert lunch_days[:3] == [(MONDAY - timedelta(days=2), False), (MONDAY - timedelta(days=1), False), (MONDAY, True)]
    monday_breakfast = slots["breakfast"]["days"][2]
    assert monday_breakfast["serves"] and monday_breakfast["cutoff_at"] == at(MONDAY - timedelta(days=1), 20)
    assert slots["lunch"]["days"][2]["cutoff_at"] == at(MONDAY, 9, 30)
    assert slots["lunch"]["days"][0]["cutoff_at"] is None
    assert menus.canteen_view(who(kitchen.manager), kitchen.canteen)["operated"] is True


def test_canteens_api_lists_active_canteens_with_slots(client, kitchen, make):
    retired = build_kitchen(make, name="旧食堂")
    retired.canteen.is_active = False
    db.session.commit()
    headers = make.headers(make.user())
    resp = client.get("/api/v1/canteen/canteens?days=3")
    assert resp.status_code == 401
    body = client.get("/api/v1/canteen/canteens?days=3", headers=headers).get_json()
    assert [c["name"] for c in body] == [kitchen.canteen.name]
    lunch = next(s for s in body[0]["slots"] if s["meal"] == "lunch")
    assert lunch["serve_start"] == "11:30" and lunch["meal_label"] == "午餐" and len(lunch["days"]) == 3
    assert body[0]["company_name"] == kitchen.company.name
    assert client.get(f"/api/v1/canteen/canteens/{retired.canteen.id}", headers=headers).status_code == 404
    assert client.get(f"/api/v1/canteen/canteens/{retired.canteen.id}",
                      headers=make.headers(retired.manager)).status_code == 200
    admin = make.headers(make.user("admin"))
    names = [c["name"] for c in client.get("/api/v1/canteen/canteens?include_inactive=true", headers=admin).get_json()]
    assert sorted(names) == sorted([kitchen.canteen.name, "旧食堂"])
    assert client.get("/api/v1/canteen/canteens?days=15", headers=headers).status_code == 422


def test_admin_creates_canteen_and_slots_with_validated_rules(client, make):
    admin = make.headers(make.user("admin"))
    operator = make.company("canteen_operator")
    cleaner = make.company("property")
    bad = client.post("/api/v1/canteen/canteens", headers=admin, json={"name": "二食堂", "company_id": cleaner.id})
    assert (bad.status_code, bad.get_json()["code"]) == (422, "CANTEEN_COMPANY_INVALID")
    resp = client.post("/api/v1/canteen/canteens", headers=admin, json={"name": " 二食堂 ", "company_id": operator.id})
    assert resp.status_code == 201, resp.get_json()
    canteen_id = resp.get_json()["id"]
    assert resp.get_json()["name"] == "二食堂"
    dup = client.post("/api/v1/canteen/canteens", headers=admin, json={"name": "二食堂", "company_id": operator.id})
    assert (dup.status_code, dup.get_json()["code"]) == (409, "CANTEEN_NAME_TAKEN")

    url = f"/api/v1/canteen/canteens/{canteen_id}/slots"
    cases = [
        ({"meal": "lunch", "serve_start": "13:00", "serve_end": "11:30", "cutoff_minutes": 120}, "serve_end"),
        ({"meal": "lunch", "serve_start": "11:30", "serve_end": "13:00"}, "cutoff_minutes"),
        ({"meal": "lunch", "serve_start": "11:30", "serve_end": "13:00", "cutoff_kind": "previous_day"},
         "cutoff_time"),
        ({"meal": "lunch", "serve_start": "11:30", "serve_end": "13:00", "cutoff_kind": "whenever"}, "cutoff_kind"),
        ({"meal": "lunch", "serve_start": "11:30", "serve_end": "13:00", "cutoff_minutes": 60,
          "open_days_ahead": 0}, "open_days_ahead"),
        ({"meal": "lunch", "serve_start": "11:30", "serve_end": "13:00", "cutoff_minutes": 60,
          "serving_days": "weekends"}, "serving_days"),
    ]
    for body, field in cases:
        resp = client.post(url, headers=admin, json=body)
        assert resp.status_code == 422 and resp.get_json()["code"] == "CANTEEN_SLOT_RULES_INVALID", body
        assert field in resp.get_json()["details"]["fields"], (body, resp.get_json())
    assert client.post(url, headers=admin, json={"meal": "lunch", "serve_start": "11:30",
                                                 "serve_end": "25:00"}).status_code == 422
    resp = client.post(url, headers=admin, json={"meal": "breakfast", "serve_start": "07:00", "serve_end": "08:30",
                                                 "cutoff_kind": "previous_day", "cutoff_time": "20:00",
                                                 "serving_days": "every_day"})
    assert resp.status_code == 201, resp.get_json()
    slot = resp.get_json()
    assert slot["cutoff_text"] == "前一天 20:00 截止" and slot["cutoff_minutes"] is None
    again = client.post(url, headers=admin, json={"meal": "breakfast", "serve_start": "07:00", "serve_end": "08:00",
                                                  "cutoff_minutes": 30})
    assert (again.status_code, again.get_json()["code"]) == (409, "CANTEEN_SLOT_EXISTS")
    # Switching the cut-off kind: the other kind's value is dropped.
    resp = client.put(f"/api/v1/canteen/slots/{slot['id']}", headers=admin,
                      json={"cutoff_kind": "before_start", "cutoff_minutes": 90})
    assert resp.status_code == 200, resp.get_json()
    assert resp.get_json()["cutoff_text"] == "开餐前 1 小时 30 分钟截止" and resp.get_json()["cutoff_time"] is None
    stored = db.session.get(MealSlot, slot["id"])
    db.session.refresh(stored)
    assert (stored.cutoff_kind, stored.cutoff_minutes, stored.cutoff_time) == ("before_start", 90, None)
    # Operators and staff may not.
    manager = make.headers(make.user("canteen_manager", company=operator))
    assert client.post(url, headers=manager, json={"meal": "dinner"}).status_code == 403
    assert db.session.scalar(select(AuditLog).where(AuditLog.action == "canteen_slot.update")) is not None


# --- dishes ------------------------------------------------------------------------------

def test_operator_manages_dishes_of_own_canteen_only(client, kitchen, make):
    other = build_kitchen(make, name="别家食堂")
    mine = make.headers(kitchen.manager)
    url = f"/api/v1/canteen/canteens/{kitchen.canteen.id}/dishes"
    resp = client.post(url, headers=mine, json={"name": "宫保鸡丁", "category": "荤菜", "allergens": ["花生", " 花生 "],
                                                "price_cents": 1250, "portions": ["half", "full"]})
    assert resp.status_code == 201, resp.get_json()
    dish = resp.get_json()
    assert dish["allergens"] == ["花生"] and dish["portions"] == ["full", "half"]
    assert dish["price_text"] == "12.50 元" and dish["portion_labels"] == ["整份", "半份"] and dish["photo"] is None
    dup = client.post(url, headers=mine, json={"name": "宫保鸡丁"})
    assert (dup.status_code, dup.get_json()["code"]) == (409, "DISH_NAME_TAKEN")
    assert client.post(url, headers=mine, json={"name": "x", "portions": ["double"]}).status_code == 422
    assert client.post(url, headers=mine, json={"name": "x", "price_cents": -1}).status_code == 422
    assert client.post(url, headers=mine, json={"name": "x", "photo_id": 999999}).get_json()["code"] == \
        "DISH_PHOTO_INVALID"
    free = client.put(f"/api/v1/canteen/dishes/{dish['id']}", headers=mine, json={"price_cents": None})
    assert free.get_json()["price_text"] == "免费"
    # The other canteen's manager: the canteen is public (403), the dish is not (404).
    theirs = make.headers(other.manager)
    assert client.post(url, headers=theirs, json={"name": "偷偷加的菜"}).status_code == 403
    assert client.get(url, headers=theirs).status_code == 403
    assert client.put(f"/api/v1/canteen/dishes/{dish['id']}", headers=theirs, json={"name": "改名"}).status_code == 404
    assert client.delete(f"/api/v1/canteen/dishes/{dish['id']}", headers=theirs).status_code == 404
    # Staff: no role for it.
    assert client.post(url, headers=make.headers(make.user()), json={"name": "员工的菜"}).status_code == 403
    listed = client.get(url, headers=mine).get_json()
    assert "宫保鸡丁" in [d["name"] for d in listed] and "偷偷加的菜" not in [d["name"] for d in listed]
    # The counter worker (scoped to this canteen) also operates it.
    assert client.post(url, headers=make.headers(kitchen.worker), json={"name": "窗口小炒"}).status_code == 201


def test_dish_used_on_a_menu_is_deactivated_not_deleted(client, kitchen):
    mine_p = who(kitchen.manager)
    unused, used = kitchen.dishes[1], kitchen.dishes[0]
    unused_id = unused.id
    menus.save_menu(mine_p, kitchen.lunch.id, MONDAY, [used.id], now=at(MONDAY - timedelta(days=3), 9))
    db.session.commit()
    from tests.factories import Factory
    headers = Factory().headers(kitchen.manager)
    resp = client.delete(f"/api/v1/canteen/dishes/{used.id}", headers=headers)
    assert resp.status_code == 200 and resp.get_json()["deleted"] is False
    assert resp.get_json()["dish"]["is_active"] is False
    resp = client.delete(f"/api/v1/canteen/dishes/{unused_id}", headers=headers)
    assert resp.status_code == 200 and resp.get_json()["deleted"] is True
    db.session.expunge(unused)
    db.session.expire_all()
    assert db.session.get(Dish, unused_id) is None and db.session.get(Dish, used.id).is_active is False
    listed = client.get(f"/api/v1/canteen/canteens/{kitchen.canteen.id}/dishes", headers=headers).get_json()
    assert [d["id"] for d in listed] == [kitchen.dishes[2].id]
    # An inactive dish cannot go on a menu.
    with pytest.raises(AppError) as excinfo:
        menus.save_menu(mine_p, kitchen.lunch.id, MONDAY + timedelta(days=1), [used.id],
                        now=at(MONDAY - timedelta(days=3), 9))
    assert code_of(excinfo) == "MENU_DISH_INVALID" and excinfo.value.details == {"ids": [used.id]}


# --- menus -------------------------------------------------------------------------------

def test_staff_see_published_menus_only_operators_see_drafts(client, kitchen, make):
    op = who(kitchen.manager)
    before = at(MONDAY - timedelta(days=3), 9)
    monday = menus.save_menu(op, kitchen.lunch.id, MONDAY, [d.id for d in kitchen.dishes], "周一午餐", now=before)
    menus.publish_menu(op, monday.id, now=before)
    tuesday = menus.save_menu(op, kitchen.lunch.id, MONDAY + timedelta(days=1), [kitchen.dishes[0].id], now=before)
    special = menus.create_special(op, {"slot_id": kitchen.lunch.id, "day": MONDAY, "kind": "low_price",
                                        "name": "每月低价菜", "dish_id": kitchen.dishes[0].id, "price_cents": 300,
                                        "portions_total": 50, "opens_at": at(MONDAY - timedelta(days=1), 12)},
                                   now=before)
    db.session.commit()
    url = (f"/api/v1/canteen/menus?canteen_id={kitchen.canteen.id}&from={MONDAY}"
           f"&to={MONDAY + timedelta(days=6)}")
    staff = client.get(url, headers=make.headers(make.user())).get_json()["items"]
    assert [m["id"] for m in staff] == [monday.id]
    menu = staff[0]
    assert menu["status"] == "published" and menu["note"] == "周一午餐" and menu["meal_label"] == "午餐"
    assert menu["cutoff_at"] == "2026-03-02T09:30:00+08:00" and menu["weekday"] == "周一"
    assert [d["name"] for d in menu["dishes"]] == ["红烧肉", "清炒时蔬", "米饭"]
    assert [d["price_text"] for d in menu["dishes"]] == ["8.00 元", "免费", "免费"]
    assert menu["dishes"][0]["portions"] == ["full", "half"] and menu["dishes"][0]["category"] == "荤菜"
    assert menu["specials"][0]["id"] == special.id and menu["specials"][0]["portions_left"] == 50
    assert menu["specials"][0]["opens_at"] == "2026-03-01T12:00:00+08:00"
    assert menu["specials"][0]["kind_label"] == "每月低价菜" and menu["specials"][0]["price_text"] == "3.00 元"
    for reader in (kitchen.manager, kitchen.worker, make.user("auditor"), make.user("admin")):
        items = client.get(url, headers=make.headers(reader)).get_json()["items"]
        assert [(m["id"], m["status"]) for m in items] == [(monday.id, "published"), (tuesday.id, "draft")]
    other = build_kitchen(make, name="别家食堂")
    assert [m["id"] for m in client.get(url, headers=make.headers(other.manager)).get_json()["items"]] == [monday.id]
    bad = client.get(f"/api/v1/canteen/menus?canteen_id={kitchen.canteen.id}&from={MONDAY}&to={MONDAY - timedelta(1)}",
                     headers=make.headers(make.user()))
    assert (bad.status_code, bad.get_json()["code"]) == (422, "MENU_RANGE_INVALID")
    one_slot = client.get(url + f"&slot_id={kitchen.dinner.id}", headers=make.headers(make.user())).get_json()
    assert one_slot["items"] == []


def test_menu_rules_and_replacing_a_published_menu_until_cutoff(kitchen, make):
    op = who(kitchen.manager)
    early = at(MONDAY - timedelta(days=3), 9)
    saturday = MONDAY - timedelta(days=2)
    with pytest.raises(AppError) as excinfo:
        menus.save_menu(op, kitchen.lunch.id, saturday, [kitchen.dishes[0].id], now=early)
    assert code_of(excinfo) == "MENU_DAY_NOT_SERVED"
    # Breakfast serves every day.
    assert menus.save_menu(op, kitchen.breakfast.id, saturday, [kitchen.dishes[2].id], now=early).status == "draft"
    with pytest.raises(AppError) as excinfo:
        menus.save_menu(op, kitchen.lunch.id, MONDAY, [kitchen.dishes[0].id], now=at(MONDAY, 13))
    assert code_of(excinfo) == "MENU_DAY_PAST"
    other = build_kitchen(make, name="别家食堂")
    with pytest.raises(AppError) as excinfo:
        menus.save_menu(op, kitchen.lunch.id, MONDAY, [other.dishes[0].id, kitchen.dishes[0].id], now=early)
    assert code_of(excinfo) == "MENU_DISH_INVALID" and excinfo.value.details == {"ids": [other.dishes[0].id]}
    with pytest.raises(AppError) as excinfo:
        menus.save_menu(who(other.manager), kitchen.lunch.id, MONDAY, [other.dishes[0].id], now=early)
    assert code_of(excinfo) == "FORBIDDEN"

    menu = menus.save_menu(op, kitchen.lunch.id, MONDAY, [kitchen.dishes[0].id], now=early)
    empty_day = menus.save_menu(op, kitchen.dinner.id, MONDAY, [kitchen.dishes[0].id], now=early)
    empty_day.items.clear()
    db.session.flush()
    with pytest.raises(AppError) as excinfo:
        menus.publish_menu(op, empty_day.id, now=early)
    assert code_of(excinfo) == "MENU_EMPTY"
    published = menus.publish_menu(op, menu.id, now=early)
    assert published.status == "published" and published.published_by_id == kitchen.manager.id
    assert menus.publish_menu(op, menu.id, now=early).published_at == early  # idempotent
    # Replaced before the cut-off (09:30): stays published, audited with old and new dishes.
    replaced = menus.save_menu(op, kitchen.lunch.id, MONDAY, [kitchen.dishes[1].id, kitchen.dishes[0].id],
                               "改菜", now=at(MONDAY, 9, 29))
    assert replaced.id == menu.id and replaced.status == "published"
    assert [i.dish_id for i in replaced.items] == [kitchen.dishes[1].id, kitchen.dishes[0].id]
    db.session.commit()
    entry = db.session.scalars(select(AuditLog).where(AuditLog.action == "canteen_menu.replace")).one()
    assert entry.details["old_dish_ids"] == [kitchen.dishes[0].id]
    assert entry.details["dish_ids"] == [kitchen.dishes[1].id, kitchen.dishes[0].id]
    with pytest.raises(AppError) as excinfo:
        menus.save_menu(op, kitchen.lunch.id, MONDAY, [kitchen.dishes[2].id], now=at(MONDAY, 9, 30))
    assert code_of(excinfo) == "MENU_LOCKED" and excinfo.value.status == 409
    db.session.rollback()
    assert [i.dish_id for i in db.session.get(Menu, menu.id).items] == [kitchen.dishes[1].id, kitchen.dishes[0].id]


def test_menu_api_validation_codes(client, kitchen, make):
    headers = make.headers(kitchen.manager)
    body = {"slot_id": kitchen.lunch.id, "day": FUTURE_MONDAY.isoformat(), "dish_ids": [kitchen.dishes[0].id]}
    resp = client.put("/api/v1/canteen/menus", headers=headers, json=body)
    assert resp.status_code == 200, resp.get_json()
    menu = resp.get_json()
    assert menu["status"] == "draft" and menu["editable"] is True
    assert client.put("/api/v1/canteen/menus", headers=headers, json={**body, "dish_ids": []}).status_code == 422
    saturday = FUTURE_MONDAY - timedelta(days=2)
    resp = client.put("/api/v1/canteen/menus", headers=headers, json={**body, "day": saturday.isoformat()})
    assert (resp.status_code, resp.get_json()["code"]) == (422, "MENU_DAY_NOT_SERVED")
    resp = client.put("/api/v1/canteen/menus", headers=headers, json={**body, "dish_ids": [999999]})
    assert (resp.status_code, resp.get_json()["code"]) == (422, "MENU_DISH_INVALID")
    resp = client.put("/api/v1/canteen/menus", headers=headers, json={**body, "slot_id": 999999})
    assert resp.status_code == 404
    resp = client.put("/api/v1/canteen/menus", headers=headers, json={**body, "day": "2099-02-30"})
    assert resp.status_code == 422 and resp.get_json()["code"] == "VALIDATION_ERROR"
    published = client.post(f"/api/v1/canteen/menus/{menu['id']}/publish", headers=headers)
    assert published.status_code == 200 and published.get_json()["status"] == "published"
    other = build_kitchen(make, name="别家食堂")
    resp = client.put("/api/v1/canteen/menus", headers=make.headers(other.manager), json=body)
    assert resp.status_code == 403
    assert client.put("/api/v1/canteen/menus", headers=make.headers(make.user()), json=body).status_code == 403


# --- specials ----------------------------------------------------------------------------

def _special(kitchen, **overrides):
    data = {"slot_id": kitchen.lunch.id, "day": MONDAY, "kind": "low_price", "name": "每月低价菜",
            "dish_id": kitchen.dishes[0].id, "price_cents": 500, "portions_total": 50,
            "opens_at": at(MONDAY - timedelta(days=1), 12)}
    data.update(overrides)
    return data


def _book(special: Special, n: int) -> None:
    """What a booking does to the special (the booking service's statement)."""
    db.session.execute(update(Special).where(Special.id == special.id)
                       .values(portions_left=Special.portions_left - n))
    db.session.commit()
    db.session.refresh(special)


def test_special_validation(kitchen, make):
    op = who(kitchen.manager)
    early = at(MONDAY - timedelta(days=3), 9)
    with pytest.raises(AppError) as excinfo:
        menus.create_special(op, _special(kitchen, opens_at=at(MONDAY, 9, 30)), now=early)
    assert code_of(excinfo) == "SPECIAL_OPENS_AT_INVALID"
    assert excinfo.value.details["cutoff_at"] == "2026-03-02T09:30:00+08:00"
    other = build_kitchen(make, name="别家食堂")
    with pytest.raises(AppError) as excinfo:
        menus.create_special(op, _special(kitchen, dish_id=other.dishes[0].id), now=early)
    assert code_of(excinfo) == "SPECIAL_DISH_INVALID"
    with pytest.raises(AppError) as excinfo:
        menus.create_special(op, _special(kitchen, day=MONDAY - timedelta(days=1)), now=early)
    assert code_of(excinfo) == "MENU_DAY_NOT_SERVED"
    with pytest.raises(AppError) as excinfo:
        menus.create_special(op, _special(kitchen), now=at(MONDAY, 9, 30))
    assert code_of(excinfo) == "MENU_DAY_PAST"
    with pytest.raises(AppError) as excinfo:
        menus.create_special(who(other.manager), _special(kitchen), now=early)
    assert code_of(excinfo) == "FORBIDDEN"
    special = menus.create_special(op, _special(kitchen), now=early)
    assert (special.portions_total, special.portions_left) == (50, 50)


def test_special_portions_change_only_upward_once_booked(kitchen):
    op = who(kitchen.manager)
    early = at(MONDAY - timedelta(days=3), 9)
    special = menus.create_special(op, _special(kitchen), now=early)
    db.session.commit()
    # Nobody booked yet: down is fine.
    menus.update_special(op, special.id, {"portions_total": 30}, now=early)
    db.session.commit()
    assert (special.portions_total, special.portions_left) == (30, 30)
    _book(special, 2)
    menus.update_special(op, special.id, {"portions_total": 40}, now=early)
    db.session.commit()
    assert (special.portions_total, special.portions_left) == (40, 38)
    with pytest.raises(AppError) as excinfo:
        menus.update_special(op, special.id, {"portions_total": 39}, now=early)
    assert code_of(excinfo) == "SPECIAL_PORTIONS_DECREASE"
    assert excinfo.value.details == {"booked": 2, "portions_total": 40}
    db.session.rollback()
    stored = db.session.get(Special, special.id)
    db.session.refresh(stored)
    assert (stored.portions_total, stored.portions_left) == (40, 38)
    # Sold out, then more portions: exactly the added ones become available.
    _book(stored, 38)
    menus.update_special(op, special.id, {"portions_total": 45}, now=early)
    db.session.commit()
    assert (stored.portions_total, stored.portions_left) == (45, 5)
    # opens_at: changeable before it opens, not after.
    menus.update_special(op, special.id, {"opens_at": at(MONDAY - timedelta(days=1), 8)}, now=early)
    with pytest.raises(AppError) as excinfo:
        menus.update_special(op, special.id, {"opens_at": at(MONDAY - timedelta(days=1), 9)},
                             now=at(MONDAY - timedelta(days=1), 8, 1))
    assert code_of(excinfo) == "SPECIAL_ALREADY_OPEN"
    db.session.rollback()
    menus.deactivate_special(op, special.id)
    db.session.commit()
    with pytest.raises(AppError) as excinfo:
        menus.update_special(op, special.id, {"portions_total": 100}, now=early)
    assert code_of(excinfo) == "SPECIAL_INACTIVE"


def test_special_api_and_staff_view(client, kitchen, make):
    headers = make.headers(kitchen.manager)
    opens = datetime.combine(FUTURE_MONDAY - timedelta(days=1), time(12), SHANGHAI).isoformat()
    body = {"slot_id": kitchen.lunch.id, "day": FUTURE_MONDAY.isoformat(), "kind": "birthday", "name": "生日面",
            "portions_total": 20, "opens_at": opens}
    resp = client.post("/api/v1/canteen/specials", headers=headers, json=body)
    assert resp.status_code == 201, resp.get_json()
    special = resp.get_json()
    assert special["portions_left"] == 20 and special["price_text"] == "免费" and special["kind_label"] == "生日餐"
    assert client.post("/api/v1/canteen/specials", headers=headers, json={**body, "kind": "lottery"}).status_code == 422
    assert client.post("/api/v1/canteen/specials", headers=headers,
                       json={**body, "portions_total": 0}).status_code == 422
    assert client.post("/api/v1/canteen/specials", headers=headers,
                       json={**body, "opens_at": "2099-01-01T12:00:00"}).status_code == 422  # no offset
    _book(db.session.get(Special, special["id"]), 1)
    resp = client.put(f"/api/v1/canteen/specials/{special['id']}", headers=headers, json={"portions_total": 10})
    assert (resp.status_code, resp.get_json()["code"]) == (409, "SPECIAL_PORTIONS_DECREASE")
    resp = client.put(f"/api/v1/canteen/specials/{special['id']}", headers=headers, json={"portions_total": 25})
    assert resp.status_code == 200 and resp.get_json()["portions_left"] == 24
    listed = client.get(f"/api/v1/canteen/canteens/{kitchen.canteen.id}/specials?from={FUTURE_MONDAY}"
                        f"&to={FUTURE_MONDAY}", headers=headers).get_json()["items"]
    assert [(s["id"], s["meal"]) for s in listed] == [(special["id"], "lunch")]
    resp = client.post(f"/api/v1/canteen/specials/{special['id']}/deactivate", headers=headers)
    assert resp.status_code == 200 and resp.get_json()["is_active"] is False
    listed = client.get(f"/api/v1/canteen/canteens/{kitchen.canteen.id}/specials?from={FUTURE_MONDAY}"
                        f"&to={FUTURE_MONDAY}", headers=headers).get_json()["items"]
    assert listed[0]["is_active"] is False
    assert client.get(f"/api/v1/canteen/canteens/{kitchen.canteen.id}/specials?from={FUTURE_MONDAY}"
                      f"&to={FUTURE_MONDAY}", headers=make.headers(make.user())).status_code == 403


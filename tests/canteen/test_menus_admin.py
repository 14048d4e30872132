"""The panel's 食堂 views (canteens, slots, dishes, menus, specials) and the menus demo step."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from sqlalchemy import func, select

from app.auth import Principal
from app.demo import seed_identity
from app.extensions import db
from app.passwords import hash_password
from app.timeutil import SHANGHAI
from blueprints.canteen import demo_menus, menus
from models.canteen import Canteen, Dish, MealSlot, Menu, Special
from tests.canteen.conftest import build_kitchen
from tests.support.admin import PASSWORD, login

MONDAY = date(2026, 3, 2)
PAGES = ["/admin/canteens/", "/admin/canteen-slots/", "/admin/canteen-dishes/", "/admin/canteen-menus/",
         "/admin/canteen-specials/"]


def _menu_and_special(kitchen):
    op = Principal.for_user(kitchen.manager)
    early = datetime.combine(MONDAY - timedelta(days=3), time(9), SHANGHAI)
    menu = menus.save_menu(op, kitchen.lunch.id, MONDAY, [kitchen.dishes[0].id], "本周特供", now=early)
    special = menus.create_special(op, {"slot_id": kitchen.lunch.id, "day": MONDAY, "kind": "holiday",
                                        "name": "元宵汤圆", "portions_total": 30,
                                        "opens_at": datetime.combine(MONDAY - timedelta(days=1), time(12), SHANGHAI)},
                                   now=early)
    db.session.commit()
    return menu, special


def test_admin_and_auditor_see_every_view_auditor_reads_only(client, make, kitchen):
    _menu_and_special(kitchen)
    for reader in (make.user("admin", password=PASSWORD), make.user("auditor", password=PASSWORD)):
        assert login(client, reader).status_code == 302
        for page in PAGES:
            resp = client.get(page)
            assert resp.status_code == 200, (page, resp.status_code)
        assert kitchen.canteen.name in client.get("/admin/canteens/").get_data(as_text=True)
        assert "开餐前 2 小时截止" in client.get("/admin/canteen-slots/").get_data(as_text=True)
        assert "红烧肉" in client.get("/admin/canteen-dishes/").get_data(as_text=True)
        assert "本周特供" in client.get("/admin/canteen-menus/").get_data(as_text=True)
        assert "元宵汤圆" in client.get("/admin/canteen-specials/").get_data(as_text=True)
        new_status = client.get("/admin/canteens/new/").status_code
        assert new_status == (200 if "admin" in [g.role for g in reader.roles] else 403)
        client.post("/admin/logout")


def test_manager_sees_only_own_company_canteens_rows(client, make, kitchen):
    menu, special = _menu_and_special(kitchen)
    other = build_kitchen(make, name="别家食堂")
    other.manager.password_hash = hash_password(PASSWORD)
    db.session.commit()
    assert login(client, other.manager).status_code == 302
    for page in PAGES[2:]:
        assert client.get(page).status_code == 200
    assert "红烧肉" in client.get("/admin/canteen-dishes/").get_data(as_text=True)  # its own 红烧肉
    assert f"/admin/canteen-dishes/edit/?id={kitchen.dishes[0].id}" not in \
        client.get("/admin/canteen-dishes/").get_data(as_text=True)
    assert "本周特供" not in client.get("/admin/canteen-menus/").get_data(as_text=True)
    assert "元宵汤圆" not in client.get("/admin/canteen-specials/").get_data(as_text=True)
    # One record by id: not found; a write to it changes nothing.
    for url in (f"/admin/canteen-dishes/edit/?id={kitchen.dishes[0].id}", f"/admin/canteen-menus/edit/?id={menu.id}",
                f"/admin/canteen-specials/edit/?id={special.id}", f"/admin/canteen-menus/details/?id={menu.id}"):
        resp = client.get(url)
        assert resp.status_code == 302 or "元宵汤圆" not in resp.get_data(as_text=True), url
    page = client.get("/admin/canteen-dishes/new/")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert other.canteen.name in html and f'value="{kitchen.canteen.id}"' not in html
    resp = client.post(f"/admin/canteen-dishes/edit/?id={kitchen.dishes[0].id}",
                       data={"canteen_id": other.canteen.id, "name": "被改了",
                             "portions": "full"})
    db.session.expire_all()
    assert db.session.get(Dish, kitchen.dishes[0].id).name == "红烧肉"
    # Creating a dish for another company's canteen is refused.
    resp = client.post("/admin/canteen-dishes/new/", data={
                                                           "canteen_id": kitchen.canteen.id, "name": "偷加的菜",
                                                           "portions": "full"})
    assert db.session.scalar(select(func.count()).select_from(Dish).where(Dish.name == "偷加的菜")) == 0
    # Canteens and slots are the administrators'.
    assert client.get("/admin/canteens/").status_code == 403
    assert client.get("/admin/canteen-slots/").status_code == 403
    # Its own dish: creatable through the panel.
    resp = client.post("/admin/canteen-dishes/new/", data={
                                                           "canteen_id": other.canteen.id, "name": "自家新菜",
                                                           "category": "素菜", "portions": ["full", "half"],
                                                           "allergens_text": "花生，大豆"})
    assert resp.status_code == 302, resp.get_data(as_text=True)
    created = db.session.scalar(select(Dish).where(Dish.name == "自家新菜"))
    assert created.canteen_id == other.canteen.id and created.allergens == ["花生", "大豆"]
    assert created.portions == ["full", "half"]


def test_panel_special_portions_follow_the_rules(client, make, kitchen):
    _menu, special = _menu_and_special(kitchen)
    db.session.execute(Special.__table__.update().where(Special.id == special.id).values(portions_left=28))
    db.session.commit()
    admin = make.user("admin", password=PASSWORD)
    assert login(client, admin).status_code == 302
    assert client.get(f"/admin/canteen-specials/edit/?id={special.id}").status_code == 200
    data = {"slot_id": kitchen.lunch.id, "day": MONDAY.isoformat(),
            "kind": "holiday", "name": "元宵汤圆", "dish_id": "", "price_cents": "",
            "opens_at": "2026-03-01 12:00:00", "is_active": "y"}
    client.post(f"/admin/canteen-specials/edit/?id={special.id}", data={**data, "portions_total": 10})
    db.session.expire_all()
    stored = db.session.get(Special, special.id)
    assert (stored.portions_total, stored.portions_left) == (30, 28)
    client.post(f"/admin/canteen-specials/edit/?id={special.id}", data={**data, "portions_total": 40})
    db.session.expire_all()
    stored = db.session.get(Special, special.id)
    assert (stored.portions_total, stored.portions_left) == (40, 38)


def test_panel_slot_rules_are_validated(client, make, kitchen):
    admin = make.user("admin", password=PASSWORD)
    assert login(client, admin).status_code == 302
    assert client.get(f"/admin/canteen-slots/edit/?id={kitchen.lunch.id}").status_code == 200
    base = {"canteen": kitchen.canteen.id, "meal": "lunch", "serve_start": "11:30",
            "serve_end": "13:00", "open_days_ahead": "7", "cutoff_kind": "before_start", "cutoff_minutes": "",
            "cutoff_time": "", "cancel_until_cutoff": "y", "serving_days": "workdays", "capacity": "",
            "checkin_grace_minutes": "60", "is_active": "y"}
    resp = client.post(f"/admin/canteen-slots/edit/?id={kitchen.lunch.id}", data=base, follow_redirects=True)
    assert "餐次规则设置不正确" in resp.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(MealSlot, kitchen.lunch.id).cutoff_minutes == 120
    client.post(f"/admin/canteen-slots/edit/?id={kitchen.lunch.id}", data={**base, "cutoff_minutes": "90"})
    db.session.expire_all()
    assert db.session.get(MealSlot, kitchen.lunch.id).cutoff_minutes == 90


def test_demo_step_is_idempotent(app):
    seed_identity()
    from blueprints.places.demo import seed_places_and_calendar
    seed_places_and_calendar()
    now = datetime(2026, 3, 4, 10, tzinfo=SHANGHAI)  # a Wednesday
    demo_menus.seed(now=now)
    db.session.commit()
    counts = [db.session.scalar(select(func.count()).select_from(m)) for m in (Canteen, MealSlot, Dish, Menu, Special)]
    demo_menus.seed(now=now)
    db.session.commit()
    assert [db.session.scalar(select(func.count()).select_from(m))
            for m in (Canteen, MealSlot, Dish, Menu, Special)] == counts
    canteen = db.session.scalar(select(Canteen).where(Canteen.name == "机关第一食堂"))
    assert canteen.place_id is not None and len(canteen.slots) == 3 and counts[2] >= 10
    breakfast = next(s for s in canteen.slots if s.meal == "breakfast")
    assert breakfast.cutoff_kind == "previous_day" and breakfast.cutoff_time == time(20, 0)
    published = db.session.scalars(select(Menu).where(Menu.status == "published")).all()
    days = {m.day for m in published}
    assert date(2026, 3, 4) in days and date(2026, 3, 10) in days and date(2026, 2, 25) in days
    special = db.session.scalar(select(Special))
    assert (special.name, special.portions_total, special.day) == ("每月低价菜", 50, date(2026, 3, 5))


def test_panel_menus_go_through_the_menu_rules(client, make, kitchen):
    """Saving and publishing in the panel is the service's: a day the slot does not serve or a
    past day is refused, a published menu locks at the cut-off, another canteen's slot is refused."""
    kitchen.manager.password_hash = hash_password(PASSWORD)
    db.session.commit()
    assert login(client, kitchen.manager).status_code == 302
    day = date(2099, 3, 2)  # a Monday far ahead: open for menus whatever today is
    dishes = [kitchen.dishes[0].id, kitchen.dishes[2].id]
    resp = client.post("/admin/canteen-menus/new/", data={"slot_id": kitchen.lunch.id, "day": day.isoformat(),
                                                        "dish_ids": dishes, "note": "春季菜单"})
    assert resp.status_code == 302, resp.get_data(as_text=True)
    menu = db.session.scalar(select(Menu).where(Menu.slot_id == kitchen.lunch.id, Menu.day == day))
    assert menu.status == "draft" and [i.dish_id for i in menu.items] == dishes
    page = client.get(f"/admin/canteen-menus/new/?menu={menu.id}").get_data(as_text=True)
    assert "春季菜单" in page  # 修改菜品 starts from the saved menu
    assert client.post(f"/admin/canteen-menus/publish/?id={menu.id}").status_code == 302
    db.session.expire_all()
    assert db.session.get(Menu, menu.id).status == "published"

    saturday = date(2099, 3, 7)
    resp = client.post("/admin/canteen-menus/new/", data={"slot_id": kitchen.lunch.id, "day": saturday.isoformat(),
                                                        "dish_ids": dishes})
    assert resp.status_code == 422 and "该餐次当天不供餐" in resp.get_data(as_text=True)  # MENU_DAY_NOT_SERVED
    other = build_kitchen(make, name="别家食堂")
    resp = client.post("/admin/canteen-menus/new/", data={"slot_id": other.lunch.id, "day": day.isoformat(),
                                                        "dish_ids": dishes})
    assert resp.status_code == 400  # not among the manager's slots
    assert client.get(f"/admin/canteen-menus/edit/?id={menu.id}").status_code == 302  # no generic edit

"""Demo data for the canteen (menus): 机关第一食堂, run by 金穗餐饮管理有限公司, at the demo
place 职工食堂 (tray returns at 餐盘回收处) when the places demo made them; breakfast (cut-off
20:00 the evening before, every day), lunch and dinner (120 minutes before, workdays);
a dozen dishes; published menus for the 7 days before and the 7 days from today
(Asia/Shanghai); one special (每月低价菜, 50 portions) on the next working day's lunch.
Idempotent: it adds what is missing."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from sqlalchemy import select

from app.extensions import db
from app.timeutil import local, utcnow
from app.workcalendar import next_workday
from blueprints.canteen import rules
from models import Company, Place
from models.canteen import Canteen, Dish, MealSlot, Menu, MenuItem, Special

CANTEEN = "机关第一食堂"
COMPANY = "金穗餐饮管理有限公司"
SLOTS = [
    dict(meal="breakfast", serve_start=time(7, 0), serve_end=time(8, 30), cutoff_kind="previous_day",
         cutoff_time=time(20, 0), serving_days="every_day"),
    dict(meal="lunch", serve_start=time(11, 30), serve_end=time(13, 0), cutoff_kind="before_start",
         cutoff_minutes=120, serving_days="workdays"),
    dict(meal="dinner", serve_start=time(17, 30), serve_end=time(19, 0), cutoff_kind="before_start",
         cutoff_minutes=120, serving_days="workdays"),
]
# name, category, allergens, price (fen; None = free), portions, meals
DISHES = [
    ("豆浆油条", "早点", ["麸质", "大豆"], 300, ["full"], ("breakfast",)),
    ("鲜肉包子", "早点", ["麸质"], 200, ["full", "half"], ("breakfast",)),
    ("小米粥", "粥品", [], None, ["full", "half"], ("breakfast", "dinner")),
    ("茶叶蛋", "早点", ["蛋"], 150, ["full"], ("breakfast",)),
    ("红烧肉", "荤菜", [], 1200, ["full", "half"], ("lunch",)),
    ("宫保鸡丁", "荤菜", ["花生"], 1000, ["full", "half"], ("lunch", "dinner")),
    ("清蒸鲈鱼", "荤菜", ["鱼类"], 1500, ["full", "half"], ("dinner",)),
    ("番茄炒蛋", "素菜", ["蛋"], 600, ["full", "half"], ("lunch", "dinner")),
    ("清炒时蔬", "素菜", [], 500, ["full", "half"], ("lunch", "dinner")),
    ("麻婆豆腐", "素菜", ["大豆"], 600, ["full", "half"], ("lunch",)),
    ("米饭", "主食", [], None, ["full", "half"], ("lunch", "dinner")),
    ("紫菜蛋花汤", "汤", ["蛋"], None, ["full"], ("lunch", "dinner")),
]


def _place(code: str) -> Place | None:
    return db.session.execute(select(Place).where(Place.code == code, Place.is_active)).scalar_one_or_none()


def seed(now: datetime | None = None) -> None:
    now = now or utcnow()
    company = db.session.execute(select(Company).where(Company.name == COMPANY)).scalar_one_or_none()
    if company is None:
        return
    canteen = db.session.execute(select(Canteen).where(Canteen.name == CANTEEN)).scalar_one_or_none()
    if canteen is None:
        place, tray = _place("ZH-1-CANTEEN"), _place("ZH-1-TRAY")
        canteen = Canteen(name=CANTEEN, company_id=company.id, place_id=place.id if place else None,
                          tray_station_id=tray.id if tray else None)
        db.session.add(canteen)
        db.session.flush()
    slots = {s.meal: s for s in db.session.execute(select(MealSlot).where(MealSlot.canteen_id == canteen.id))
             .scalars()}
    for spec in SLOTS:
        if spec["meal"] not in slots:
            slots[spec["meal"]] = MealSlot(canteen_id=canteen.id, **spec)
            db.session.add(slots[spec["meal"]])
    dishes = {d.name: d for d in db.session.execute(select(Dish).where(Dish.canteen_id == canteen.id)).scalars()}
    for name, category, allergens, price, portions, _meals in DISHES:
        if name not in dishes:
            dishes[name] = Dish(canteen_id=canteen.id, name=name, category=category, allergens=allergens,
                                price_cents=price, portions=portions)
            db.session.add(dishes[name])
    db.session.flush()

    today = local(now).date()
    existing = {(m.slot_id, m.day) for m in db.session.execute(
        select(Menu).where(Menu.slot_id.in_([s.id for s in slots.values()]))).scalars()}
    for offset in range(-7, 7):
        day = today + timedelta(days=offset)
        for meal, slot in slots.items():
            if (slot.id, day) in existing or not rules.serves_on(slot, day):
                continue
            names = [name for name, *_rest, meals in DISHES if meal in meals]
            # Vary the menu by day: leave one dish out in turn (never the staple).
            skip = names[day.toordinal() % len(names)]
            chosen = [n for n in names if n != skip or n in ("米饭", "小米粥")]
            menu = Menu(slot_id=slot.id, day=day, status="published", note="",
                        published_at=rules.booking_opens_at(slot, day))
            menu.items = [MenuItem(dish_id=dishes[n].id, sort_order=i) for i, n in enumerate(chosen)]
            db.session.add(menu)

    lunch = slots["lunch"]
    special_day = next_workday(today + timedelta(days=1))
    exists = db.session.execute(select(Special).where(Special.slot_id == lunch.id, Special.day == special_day,
                                                      Special.kind == "low_price")).scalar_one_or_none()
    if exists is None:
        opens_at = min(rules.cutoff_at(lunch, special_day) - timedelta(hours=2),
                       max(rules.booking_opens_at(lunch, special_day), now))
        db.session.add(Special(slot_id=lunch.id, day=special_day, kind="low_price", name="每月低价菜",
                               dish_id=dishes["红烧肉"].id, price_cents=500, portions_total=50, portions_left=50,
                               opens_at=opens_at))
    db.session.flush()

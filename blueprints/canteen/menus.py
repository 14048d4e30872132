"""Canteens, meal slots, dishes, menus and specials (plain functions, no `request`).

Who sees what:
- Canteens and their active slots are public to every signed-in staff member (a retired
  canteen or slot only to administrators, auditors and its operator).
- Menus: staff see published menus only; the canteen's operator (`rules.operates`),
  administrators and auditors also see drafts. Dishes and specials as records (for editing)
  are the operator's: anyone else gets NOT_FOUND.
- Writes: administrators create and change canteens and slots; the operator (and
  administrators) change dishes, menus and specials. A canteen (public) its caller does not
  operate gives FORBIDDEN, a dish, draft menu or special NOT_FOUND.

Rules (each with its code below):
- a slot's rules must hang together (`validate_slot_rules`: serving window end after start,
  the cut-off kind with its value, open_days_ahead 1-60);
- a menu lists active dishes of the slot's canteen (MENU_DISH_INVALID) on a day the slot
  serves (MENU_DAY_NOT_SERVED), not after that meal's serving window
  (MENU_DAY_PAST); a published menu's dishes may be replaced until the slot's cut-off
  (MENU_LOCKED afterwards), and the replacement is audited with the old and new dishes;
- a special opens before the slot's cut-off (SPECIAL_OPENS_AT_INVALID); its portions_total
  only grows, or changes freely while nobody has booked it; `portions_left` follows in the
  same conditional UPDATE, so it never drops below what was booked
  (SPECIAL_PORTIONS_DECREASE);
- a dish used by a menu, special or booking is deactivated instead of deleted.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, time, timedelta

from sqlalchemy import delete, exists, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from app import audit
from app.auth import Principal, ensure_visible
from app.errors import AppError, register_codes
from app.extensions import db
from app.timeutil import local, utcnow
from blueprints.attachments import service as attachments
from blueprints.canteen import dish_ratings, rules
from models import Company, Place
from models.canteen import (
    CUTOFF_KINDS,
    MEALS,
    SERVING_DAYS,
    SPECIAL_KINDS,
    Canteen,
    Dish,
    MealBooking,
    MealSlot,
    Menu,
    MenuItem,
    Special,
)

register_codes({
    "CANTEEN_NAME_TAKEN": (409, "食堂名称已存在", "Another canteen already has this name."),
    "CANTEEN_COMPANY_INVALID": (422, "运营单位必须是餐饮服务单位",
                                "company_id must name a company of kind canteen_operator."),
    "CANTEEN_PLACE_INVALID": (422, "所选地点不存在或已停用",
                              "place_id / tray_station_id must name an active place; `details.field`."),
    "CANTEEN_SLOT_EXISTS": (409, "该食堂已设置此餐次", "The canteen already has a slot for this meal."),
    "CANTEEN_SLOT_RULES_INVALID": (422, "餐次规则设置不正确",
                                   "Slot rules do not hang together; `details.fields` maps field → message "
                                   "(serving window, cut-off kind and its value, open_days_ahead 1-60, capacity)."),
    "MENU_DAY_NOT_SERVED": (422, "该餐次当天不供餐",
                               "The slot does not serve on that day (serving days: workdays by the calendar, "
                               "or every day)."),
    "MENU_DAY_PAST": (422, "该餐次已结束，不能再修改",
                         "The meal's serving window on that day is over."),
    "MENU_RANGE_INVALID": (422, "日期范围不正确",
                              "`from` must not be after `to`, and the range is at most `details.max_days` days."),
    "DISH_NAME_TAKEN": (409, "本食堂已有同名菜品", "The canteen already has a dish with this name."),
    "DISH_PHOTO_INVALID": (422, "菜品图片无效",
                           "photo_id must be the caller's own unbound upload of purpose dish "
                           "(or already this dish's photo)."),
    "MENU_DISH_INVALID": (422, "菜品不存在、已停用或不属于本食堂",
                          "Menu: `details.ids` lists dish ids that are not active dishes of the slot's canteen."),
    "MENU_LOCKED": (409, "已过报餐截止时间，已发布的菜单不能再修改",
                    "A published menu's dishes can be replaced only until the slot's cut-off; `details.cutoff_at`."),
    "MENU_EMPTY": (422, "菜单没有菜品，不能发布", "Publishing needs at least one dish on the menu."),
    "SPECIAL_DISH_INVALID": (422, "菜品不存在、已停用或不属于本食堂",
                             "Special: dish_id is not an active dish of the slot's canteen."),
    "SPECIAL_OPENS_AT_INVALID": (422, "开抢时间必须早于该餐次的报餐截止时间",
                                 "Special: opens_at must be before the slot's cut-off that day; "
                                 "`details.cutoff_at`."),
    "SPECIAL_ALREADY_OPEN": (409, "特色菜已开抢，不能修改开抢时间",
                             "Special: opens_at can be changed only before the special opens."),
    "SPECIAL_PORTIONS_DECREASE": (409, "已有人预订，份数只能增加",
                                  "Special: portions_total may go down only while nobody has booked it; "
                                  "`details.booked`, `details.portions_total`."),
    "SPECIAL_INACTIVE": (409, "特色菜已下架", "The special has been deactivated and can no longer be changed."),
})

PORTIONS: dict[str, str] = {"full": "整份", "half": "半份"}
WEEKDAYS = "一二三四五六日"
MAX_RANGE_DAYS = 62
MAX_SCHEDULE_DAYS = 14


# --- text for people ---------------------------------------------------------------------

def price_text(price_cents: int | None) -> str:
    """8.50 元, or 免费 for no price."""
    if price_cents is None or price_cents == 0:
        return "免费"
    return f"{price_cents // 100}.{price_cents % 100:02d} 元"


def _duration_text(minutes: int) -> str:
    if minutes == 0:
        return "开餐时"
    if minutes % 60 == 0:
        return f"开餐前 {minutes // 60} 小时"
    if minutes > 60:
        return f"开餐前 {minutes // 60} 小时 {minutes % 60} 分钟"
    return f"开餐前 {minutes} 分钟"


def cutoff_text(slot: MealSlot) -> str:
    """「开餐前 2 小时截止」, 「前一天 20:00 截止」."""
    if slot.cutoff_kind == "previous_day":
        return f"前一天 {slot.cutoff_time:%H:%M} 截止"
    return f"{_duration_text(slot.cutoff_minutes)}截止"


def rules_text(slot: MealSlot) -> list[str]:
    """The slot's booking rules as the mini-program shows them."""
    lines = [f"供餐时间 {slot.serve_start:%H:%M}-{slot.serve_end:%H:%M}（{SERVING_DAYS[slot.serving_days]}）",
             f"提前 {slot.open_days_ahead} 天开放预订", cutoff_text(slot),
             "截止前可取消" if slot.cancel_until_cutoff else "预订后不可取消"]
    if slot.capacity:
        lines.append(f"每天限 {slot.capacity} 份")
    return lines


def weekday_text(day: date) -> str:
    return f"周{WEEKDAYS[day.weekday()]}"


# --- who ---------------------------------------------------------------------------------

def _ensure_operator(actor: Principal, canteen: Canteen) -> None:
    if not rules.manages(actor, canteen):
        raise AppError("FORBIDDEN", details={"canteen_id": canteen.id})


def check_range(first: date, last: date, max_days: int = MAX_RANGE_DAYS) -> None:
    if first > last or (last - first).days + 1 > max_days:
        raise AppError("MENU_RANGE_INVALID", details={"max_days": max_days})


# --- canteens and slots (reads) ----------------------------------------------------------

def list_canteens(actor: Principal, include_inactive: bool = False) -> list[Canteen]:
    stmt = select(Canteen).options(selectinload(Canteen.slots)).order_by(Canteen.id)
    canteens = list(db.session.execute(stmt).scalars())
    return [c for c in canteens if c.is_active or (include_inactive and rules.reads_internals(actor, c))]


def get_canteen(actor: Principal, canteen_id: int) -> Canteen:
    """An active canteen, or an inactive one for those who see internals; else NOT_FOUND."""
    return rules.find_canteen(actor, canteen_id, lambda a, c: c.is_active or rules.reads_internals(a, c))


def visible_slots(actor: Principal, canteen: Canteen) -> list[MealSlot]:
    return [s for s in canteen.slots if s.is_active or rules.reads_internals(actor, canteen)]


def get_slot(actor: Principal, slot_id: int) -> MealSlot:
    slot = db.session.get(MealSlot, slot_id)
    ensure_visible(slot is not None and ((slot.is_active and slot.canteen.is_active)
                                         or rules.reads_internals(actor, slot.canteen)))
    return slot


def schedule(slot: MealSlot, first: date, days: int) -> list[dict]:
    """For each of `days` days from `first`: whether the slot serves, and its times."""
    out = []
    for offset in range(days):
        day = first + timedelta(days=offset)
        serves = slot.is_active and rules.serves_on(slot, day)
        start, end = rules.serving_window(slot, day)
        out.append({"day": day, "weekday": weekday_text(day), "serves": serves,
                    "booking_opens_at": rules.booking_opens_at(slot, day) if serves else None,
                    "cutoff_at": rules.cutoff_at(slot, day) if serves else None,
                    "serve_start": start if serves else None, "serve_end": end if serves else None})
    return out


def canteen_view(actor: Principal, canteen: Canteen, days: int = 7, now: datetime | None = None) -> dict:
    """A canteen with its slots, their rules in Chinese and the next `days` days."""
    first = rules.today(now)
    slots = [{"slot": slot, "id": slot.id, "meal": slot.meal, "meal_label": MEALS[slot.meal],
              "serve_start": slot.serve_start, "serve_end": slot.serve_end,
              "open_days_ahead": slot.open_days_ahead, "cutoff_kind": slot.cutoff_kind,
              "cutoff_minutes": slot.cutoff_minutes, "cutoff_time": slot.cutoff_time,
              "cutoff_text": cutoff_text(slot), "rules_text": rules_text(slot),
              "cancel_until_cutoff": slot.cancel_until_cutoff, "serving_days": slot.serving_days,
              "capacity": slot.capacity, "checkin_grace_minutes": slot.checkin_grace_minutes,
              "is_active": slot.is_active, "days": schedule(slot, first, days)}
             for slot in visible_slots(actor, canteen)]
    return {"id": canteen.id, "name": canteen.name, "company_id": canteen.company_id,
            "company_name": canteen_company_name(canteen), "place_id": canteen.place_id,
            "place_name": _place_name(canteen.place_id), "tray_station_id": canteen.tray_station_id,
            "is_active": canteen.is_active, "operated": rules.manages(actor, canteen), "slots": slots}


def canteen_company_name(canteen: Canteen) -> str:
    company = db.session.get(Company, canteen.company_id)
    return company.name if company else ""


def _place_name(place_id: int | None) -> str | None:
    if place_id is None:
        return None
    place = db.session.get(Place, place_id)
    return place.name if place else None


# --- canteens and slots (administrators) --------------------------------------------------

def _check_company(company_id: int) -> None:
    company = db.session.get(Company, company_id)
    if company is None or company.kind != "canteen_operator":
        raise AppError("CANTEEN_COMPANY_INVALID", details={"company_id": company_id})


def _check_place(place_id: int | None, field: str) -> None:
    if place_id is None:
        return
    place = db.session.get(Place, place_id)
    if place is None or not place.is_active:
        raise AppError("CANTEEN_PLACE_INVALID", details={"field": field, "id": place_id})


def _flush_unique(code: str, details: dict | None = None) -> None:
    try:
        with db.session.begin_nested():
            db.session.flush()
    except IntegrityError as exc:
        if getattr(exc.orig, "sqlstate", None) == "23505":
            raise AppError(code, details=details or {}) from None
        raise


def create_canteen(actor: Principal, data: dict) -> Canteen:
    _check_company(data["company_id"])
    _check_place(data.get("place_id"), "place_id")
    _check_place(data.get("tray_station_id"), "tray_station_id")
    canteen = Canteen(**data)
    db.session.add(canteen)
    _flush_unique("CANTEEN_NAME_TAKEN")
    audit.record("canteen.create", "canteen", canteen.id, {"name": canteen.name, "company_id": canteen.company_id},
                 actor=actor)
    return canteen


def update_canteen(actor: Principal, canteen_id: int, data: dict) -> Canteen:
    canteen = db.session.get(Canteen, canteen_id)
    ensure_visible(canteen is not None)
    if "company_id" in data:
        _check_company(data["company_id"])
    for field in ("place_id", "tray_station_id"):
        if field in data:
            _check_place(data[field], field)
    for key, value in data.items():
        setattr(canteen, key, value)
    _flush_unique("CANTEEN_NAME_TAKEN")
    audit.record("canteen.update", "canteen", canteen.id, {"fields": sorted(data)}, actor=actor)
    return canteen


SLOT_DEFAULTS = {"open_days_ahead": 7, "cutoff_kind": "before_start", "cutoff_minutes": None, "cutoff_time": None,
                 "cancel_until_cutoff": True, "serving_days": "workdays", "capacity": None,
                 "checkin_grace_minutes": 60, "is_active": True}


def validate_slot_rules(values: dict) -> None:
    """CANTEEN_SLOT_RULES_INVALID (details.fields) unless the rules hang together."""
    problems: dict[str, str] = {}
    start, end = values.get("serve_start"), values.get("serve_end")
    if not isinstance(start, time) or not isinstance(end, time) or end <= start:
        problems["serve_end"] = "供餐结束时间必须晚于开始时间"
    kind = values.get("cutoff_kind")
    if kind not in CUTOFF_KINDS:
        problems["cutoff_kind"] = "截止方式只能是 " + "、".join(f"{k}（{v}）" for k, v in CUTOFF_KINDS.items())
    elif kind == "before_start":
        minutes = values.get("cutoff_minutes")
        if minutes is None or not 0 <= minutes <= 24 * 60:
            problems["cutoff_minutes"] = "开餐前截止须填写 0-1440 分钟"
        if values.get("cutoff_time") is not None:
            problems["cutoff_time"] = "开餐前截止时不填写前一天截止时间"
    else:
        if values.get("cutoff_time") is None:
            problems["cutoff_time"] = "前一天截止须填写截止时间（如 20:00）"
        if values.get("cutoff_minutes") is not None:
            problems["cutoff_minutes"] = "前一天截止时不填写分钟数"
    ahead = values.get("open_days_ahead")
    if not isinstance(ahead, int) or not 1 <= ahead <= 60:
        problems["open_days_ahead"] = "提前开放天数须为 1-60"
    if values.get("serving_days") not in SERVING_DAYS:
        problems["serving_days"] = "供餐日只能是 workdays 或 every_day"
    capacity = values.get("capacity")
    if capacity is not None and capacity <= 0:
        problems["capacity"] = "每日限额须大于 0（不限请留空）"
    grace = values.get("checkin_grace_minutes")
    if not isinstance(grace, int) or not 0 <= grace <= 600:
        problems["checkin_grace_minutes"] = "光盘打卡宽限须为 0-600 分钟"
    if problems:
        raise AppError("CANTEEN_SLOT_RULES_INVALID", details={"fields": problems})


def _slot_values(slot: MealSlot | None, data: dict) -> dict:
    base = dict(SLOT_DEFAULTS)
    if slot is not None:
        base.update({key: getattr(slot, key) for key in (*SLOT_DEFAULTS, "serve_start", "serve_end", "meal")})
    base.update(data)
    # Switching the cut-off kind drops the other kind's value unless it was given.
    if base.get("cutoff_kind") == "previous_day" and "cutoff_minutes" not in data:
        base["cutoff_minutes"] = None
    if base.get("cutoff_kind") == "before_start" and "cutoff_time" not in data:
        base["cutoff_time"] = None
    return base


def create_slot(actor: Principal, canteen_id: int, data: dict) -> MealSlot:
    canteen = db.session.get(Canteen, canteen_id)
    ensure_visible(canteen is not None)
    values = _slot_values(None, data)
    validate_slot_rules(values)
    slot = MealSlot(canteen_id=canteen.id, **values)
    db.session.add(slot)
    _flush_unique("CANTEEN_SLOT_EXISTS", {"meal": values["meal"]})
    audit.record("canteen_slot.create", "meal_slot", slot.id, {"canteen_id": canteen.id, "meal": slot.meal},
                 actor=actor)
    return slot


def update_slot(actor: Principal, slot_id: int, data: dict) -> MealSlot:
    slot = db.session.get(MealSlot, slot_id)
    ensure_visible(slot is not None)
    values = _slot_values(slot, data)
    validate_slot_rules(values)
    for key, value in values.items():
        if key != "meal" or "meal" in data:
            setattr(slot, key, value)
    _flush_unique("CANTEEN_SLOT_EXISTS", {"meal": values["meal"]})
    audit.record("canteen_slot.update", "meal_slot", slot.id, {"fields": sorted(data)}, actor=actor)
    return slot


# --- dishes ------------------------------------------------------------------------------

def list_dishes(actor: Principal, canteen_id: int, include_inactive: bool = False) -> list[Dish]:
    canteen = get_canteen(actor, canteen_id)
    if not rules.reads_internals(actor, canteen):
        raise AppError("FORBIDDEN", details={"canteen_id": canteen.id})
    stmt = select(Dish).where(Dish.canteen_id == canteen.id).order_by(Dish.category, Dish.name)
    if not include_inactive:
        stmt = stmt.where(Dish.is_active)
    return list(db.session.execute(stmt).scalars())


def get_dish(actor: Principal, dish_id: int) -> Dish:
    dish = db.session.get(Dish, dish_id)
    ensure_visible(dish is not None and rules.reads_internals(actor, db.session.get(Canteen, dish.canteen_id)))
    return dish


def _operated_dish(actor: Principal, dish_id: int) -> tuple[Dish, Canteen]:
    dish = get_dish(actor, dish_id)
    canteen = db.session.get(Canteen, dish.canteen_id)
    _ensure_operator(actor, canteen)
    return dish, canteen


# Dish photos are public (menus are): bound to the dish, seen by every signed-in user.
attachments.register_holder("dish", Dish, visible=lambda actor, dish: True)


def _set_photo(actor: Principal, dish: Dish, photo_id: int | None) -> None:
    """Give the (flushed) dish a new photo: the caller's own unbound upload of purpose "dish",
    bound to the dish first, so a bad id is a 422, never a foreign-key failure."""
    if photo_id is None or photo_id == dish.photo_id:
        return
    try:
        attachments.bind([photo_id], actor, "dish", dish.id, "dish")
    except AppError as exc:
        if exc.code != "ATTACHMENT_INVALID":
            raise
        raise AppError("DISH_PHOTO_INVALID", details={"photo_id": photo_id}) from None
    dish.photo_id = photo_id


def _clean_dish(data: dict) -> dict:
    data = dict(data)
    if "portions" in data:
        data["portions"] = [p for p in PORTIONS if p in data["portions"]]  # canonical order, no repeats
    if "allergens" in data:
        data["allergens"] = list(dict.fromkeys(a.strip() for a in data["allergens"] if a.strip()))
    for key in ("name", "category", "description"):
        if key in data and isinstance(data[key], str):
            data[key] = data[key].strip()
    return data


def create_dish(actor: Principal, canteen_id: int, data: dict) -> Dish:
    canteen = get_canteen(actor, canteen_id)
    _ensure_operator(actor, canteen)
    data = _clean_dish(data)
    photo_id = data.pop("photo_id", None)
    dish = Dish(canteen_id=canteen.id, **data)
    db.session.add(dish)
    _flush_unique("DISH_NAME_TAKEN", {"name": dish.name})
    _set_photo(actor, dish, photo_id)
    audit.record("dish.create", "dish", dish.id, {"canteen_id": canteen.id, "name": dish.name}, actor=actor)
    return dish


def update_dish(actor: Principal, dish_id: int, data: dict) -> Dish:
    dish, _canteen = _operated_dish(actor, dish_id)
    data = _clean_dish(data)
    photo_id = data.pop("photo_id", None)
    for key, value in data.items():
        setattr(dish, key, value)
    _flush_unique("DISH_NAME_TAKEN", {"name": dish.name})
    _set_photo(actor, dish, photo_id)
    audit.record("dish.update", "dish", dish.id, {"fields": sorted(data)}, actor=actor)
    return dish


def dish_in_use(dish_id: int) -> bool:
    return db.session.execute(select(
        exists().where(MenuItem.dish_id == dish_id)
        | exists().where(Special.dish_id == dish_id)
        | exists().where(MealBooking.dishes.contains([{"dish_id": dish_id}])))).scalar_one()


def remove_dish(actor: Principal, dish_id: int) -> tuple[Dish, bool]:
    """Delete a dish nobody used; one on a menu, a special or a booking is deactivated
    (kept for history). Returns (dish, deleted)."""
    dish, _canteen = _operated_dish(actor, dish_id)
    if dish_in_use(dish.id):
        dish.is_active = False
        audit.record("dish.deactivate", "dish", dish.id, {"name": dish.name}, actor=actor)
        return dish, False
    audit.record("dish.delete", "dish", dish.id, {"name": dish.name}, actor=actor)
    db.session.execute(delete(Dish).where(Dish.id == dish.id))
    db.session.expunge(dish)
    return dish, True


# --- menus -------------------------------------------------------------------------------

def _operated_slot(actor: Principal, slot_id: int) -> MealSlot:
    slot = get_slot(actor, slot_id)
    _ensure_operator(actor, slot.canteen)
    return slot


def _check_day(slot: MealSlot, day: date, now: datetime) -> None:
    if not rules.serves_on(slot, day):
        raise AppError("MENU_DAY_NOT_SERVED", details={"day": day.isoformat(), "slot_id": slot.id})
    if now >= rules.serving_window(slot, day)[1]:
        raise AppError("MENU_DAY_PAST", details={"day": day.isoformat(), "slot_id": slot.id})


def _check_dishes(canteen_id: int, dish_ids: list[int], code: str = "MENU_DISH_INVALID") -> None:
    found = set(db.session.execute(select(Dish.id).where(
        Dish.id.in_(dish_ids), Dish.canteen_id == canteen_id, Dish.is_active)).scalars())
    bad = [i for i in dish_ids if i not in found]
    if bad:
        raise AppError(code, details={"ids": bad})


def get_menu(actor: Principal, menu_id: int) -> Menu:
    menu = db.session.get(Menu, menu_id)
    if menu is None:
        raise AppError("NOT_FOUND")
    slot = db.session.get(MealSlot, menu.slot_id)
    ensure_visible(rules.reads_internals(actor, slot.canteen)
                   or (menu.status == "published" and slot.is_active and slot.canteen.is_active))
    return menu


def save_menu(actor: Principal, slot_id: int, day: date, dish_ids: list[int], note: str = "",
              now: datetime | None = None) -> Menu:
    """Create or replace the menu of a slot and day (a new menu is a draft). A published
    menu's dishes may be replaced until the slot's cut-off; it stays published (audited)."""
    now = now or utcnow()
    slot = _operated_slot(actor, slot_id)
    _check_day(slot, day, now)
    dish_ids = list(dict.fromkeys(dish_ids))
    _check_dishes(slot.canteen_id, dish_ids)
    menu = db.session.execute(select(Menu).where(Menu.slot_id == slot.id, Menu.day == day)
                              .with_for_update()).scalar_one_or_none()
    if menu is None:
        menu = Menu(slot_id=slot.id, day=day, status="draft", note=note.strip())
        db.session.add(menu)
        _flush_unique("CONFLICT")  # two creating at once: the second retries
        old: list[int] = []
    else:
        if menu.status == "published" and now >= rules.cutoff_at(slot, day):
            raise AppError("MENU_LOCKED", details={"cutoff_at": local(rules.cutoff_at(slot, day)).isoformat()})
        old = [item.dish_id for item in menu.items]
        menu.note = note.strip()
    if old != dish_ids:
        menu.items.clear()
        db.session.flush()
        menu.items.extend(MenuItem(dish_id=dish_id, sort_order=n) for n, dish_id in enumerate(dish_ids))
    db.session.flush()
    action = "canteen_menu.replace" if menu.status == "published" else "canteen_menu.save"
    audit.record(action, "menu", menu.id, {"slot_id": slot.id, "day": day.isoformat(), "status": menu.status,
                                           "old_dish_ids": old, "dish_ids": dish_ids}, actor=actor)
    return menu


def publish_menu(actor: Principal, menu_id: int, now: datetime | None = None) -> Menu:
    """Publish a draft (idempotent for a published menu)."""
    now = now or utcnow()
    menu = get_menu(actor, menu_id)
    slot = db.session.get(MealSlot, menu.slot_id)
    _ensure_operator(actor, slot.canteen)
    if menu.status == "published":
        return menu
    if now >= rules.serving_window(slot, menu.day)[1]:
        raise AppError("MENU_DAY_PAST", details={"day": menu.day.isoformat(), "slot_id": slot.id})
    if not menu.items:
        raise AppError("MENU_EMPTY")
    changed = db.session.execute(
        update(Menu).where(Menu.id == menu.id, Menu.status == "draft")
        .values(status="published", published_at=now, published_by_id=actor.user_id)
        .returning(Menu.id).execution_options(synchronize_session=False)).scalar_one_or_none()
    db.session.refresh(menu)
    if changed is not None:
        audit.record("canteen_menu.publish", "menu", menu.id,
                     {"slot_id": slot.id, "day": menu.day.isoformat()}, actor=actor)
    return menu


def menus_between(actor: Principal, canteen_id: int, first: date, last: date, slot_id: int | None = None,
                  now: datetime | None = None) -> list[dict]:
    """Menus of a canteen from `first` to `last`: published only for staff; with drafts for
    the operator, administrators and auditors. Each with its dishes and that slot and day's
    active specials."""
    check_range(first, last)
    canteen = get_canteen(actor, canteen_id)
    internal = rules.reads_internals(actor, canteen)
    slots = {s.id: s for s in visible_slots(actor, canteen)}
    if slot_id is not None:
        ensure_visible(slot_id in slots)
        slots = {slot_id: slots[slot_id]}
    if not slots:
        return []
    stmt = (select(Menu).where(Menu.slot_id.in_(slots), Menu.day >= first, Menu.day <= last)
            .options(selectinload(Menu.items).selectinload(MenuItem.dish)))
    if not internal:
        stmt = stmt.where(Menu.status == "published")
    menus = list(db.session.execute(stmt).scalars())
    specials = specials_between(slots, first, last, include_inactive=False)
    order = {meal: n for n, meal in enumerate(MEALS)}
    menus.sort(key=lambda m: (m.day, order[slots[m.slot_id].meal]))
    # Every dish's recent rating figures, in one query for the whole answer.
    ratings = dish_ratings.recent_summary({item.dish_id for menu in menus for item in menu.items}, now)
    return [menu_view(menu, slots[menu.slot_id], specials.get((menu.slot_id, menu.day), []), now=now,
                      ratings=ratings)
            for menu in menus]


def specials_between(slots: Iterable[int], first: date, last: date,
                     include_inactive: bool = False) -> dict[tuple[int, date], list[Special]]:
    stmt = (select(Special).where(Special.slot_id.in_(list(slots)), Special.day >= first, Special.day <= last)
            .order_by(Special.opens_at, Special.id))
    if not include_inactive:
        stmt = stmt.where(Special.is_active)
    out: dict[tuple[int, date], list[Special]] = {}
    for special in db.session.execute(stmt).scalars():
        out.setdefault((special.slot_id, special.day), []).append(special)
    return out


class RatedDish:
    """A menu's dish with its recent rating figures (`rating`: {average, count}); every other
    attribute is the dish's."""

    __slots__ = ("_dish", "rating")

    def __init__(self, dish: Dish, rating: dict):
        self._dish = dish
        self.rating = rating

    def __getattr__(self, name: str):
        return getattr(self._dish, name)


def menu_view(menu: Menu, slot: MealSlot, specials: list[Special], now: datetime | None = None,
              ratings: dict[int, dict] | None = None) -> dict:
    """One menu as the API shows it; `ratings` are the dishes' figures (`dish_ratings.recent_summary`),
    looked up here when not given."""
    now = now or utcnow()
    cutoff = rules.cutoff_at(slot, menu.day)
    if ratings is None:
        ratings = dish_ratings.recent_summary([item.dish_id for item in menu.items], now)
    empty = {"average": None, "count": 0}
    return {"id": menu.id, "canteen_id": slot.canteen_id, "slot_id": slot.id, "meal": slot.meal,
            "meal_label": MEALS[slot.meal], "day": menu.day, "weekday": weekday_text(menu.day),
            "status": menu.status, "published_at": menu.published_at, "note": menu.note,
            "cutoff_at": cutoff, "editable": now < cutoff or menu.status == "draft",
            "dishes": [RatedDish(item.dish, ratings.get(item.dish_id, empty)) for item in menu.items],
            "specials": [special_view(s, now) for s in specials]}


def special_view(special: Special, now: datetime | None = None) -> dict:
    now = now or utcnow()
    dish = db.session.get(Dish, special.dish_id) if special.dish_id else None
    return {"id": special.id, "slot_id": special.slot_id, "day": special.day, "kind": special.kind,
            "kind_label": SPECIAL_KINDS[special.kind], "name": special.name, "dish_id": special.dish_id,
            "dish_name": dish.name if dish else None, "price_cents": special.price_cents,
            "price_text": price_text(special.price_cents), "portions_total": special.portions_total,
            "portions_left": special.portions_left, "opens_at": special.opens_at,
            "is_open": now >= special.opens_at, "sold_out": special.portions_left == 0,
            "is_active": special.is_active}


# --- specials ----------------------------------------------------------------------------

def get_special(actor: Principal, special_id: int) -> Special:
    special = db.session.get(Special, special_id)
    if special is None:
        raise AppError("NOT_FOUND")
    slot = db.session.get(MealSlot, special.slot_id)
    ensure_visible(rules.reads_internals(actor, slot.canteen))
    return special


def _operated_special(actor: Principal, special_id: int) -> tuple[Special, MealSlot]:
    special = get_special(actor, special_id)
    slot = db.session.get(MealSlot, special.slot_id)
    _ensure_operator(actor, slot.canteen)
    return special, slot


def _check_opens_at(slot: MealSlot, day: date, opens_at: datetime) -> None:
    cutoff = rules.cutoff_at(slot, day)
    if opens_at >= cutoff:
        raise AppError("SPECIAL_OPENS_AT_INVALID", details={"cutoff_at": local(cutoff).isoformat()})


def create_special(actor: Principal, data: dict, now: datetime | None = None) -> Special:
    now = now or utcnow()
    slot = _operated_slot(actor, data["slot_id"])
    day = data["day"]
    _check_day(slot, day, now)
    if now >= rules.cutoff_at(slot, day):
        raise AppError("MENU_DAY_PAST", "该餐次已过报餐截止时间，不能再设置特色菜",
                       details={"day": day.isoformat(), "slot_id": slot.id})
    _check_opens_at(slot, day, data["opens_at"])
    if data.get("dish_id") is not None:
        _check_dishes(slot.canteen_id, [data["dish_id"]], "SPECIAL_DISH_INVALID")
    special = Special(slot_id=slot.id, day=day, kind=data["kind"], name=data["name"].strip(),
                      dish_id=data.get("dish_id"), price_cents=data.get("price_cents"),
                      portions_total=data["portions_total"], portions_left=data["portions_total"],
                      opens_at=data["opens_at"])
    db.session.add(special)
    db.session.flush()
    audit.record("special.create", "special", special.id,
                 {"slot_id": slot.id, "day": day.isoformat(), "portions_total": special.portions_total}, actor=actor)
    return special


def change_portions(special_id: int, portions_total: int) -> Special | None:
    """Set portions_total in one conditional UPDATE: up at any time, down only while
    nobody has booked (portions_left = portions_total). portions_left moves by the same
    amount, so what was booked stays booked. None when refused."""
    row = db.session.execute(
        update(Special)
        .where(Special.id == special_id,
               (Special.portions_total <= portions_total) | (Special.portions_left == Special.portions_total))
        .values(portions_left=Special.portions_left + (portions_total - Special.portions_total),
                portions_total=portions_total)
        .returning(Special.id).execution_options(synchronize_session=False)).scalar_one_or_none()
    if row is None:
        return None
    special = db.session.get(Special, special_id)
    db.session.refresh(special)
    return special


def update_special(actor: Principal, special_id: int, data: dict, now: datetime | None = None) -> Special:
    now = now or utcnow()
    special, slot = _operated_special(actor, special_id)
    if not special.is_active:
        raise AppError("SPECIAL_INACTIVE")
    if now >= rules.serving_window(slot, special.day)[1]:
        raise AppError("MENU_DAY_PAST", details={"day": special.day.isoformat(), "slot_id": slot.id})
    if "opens_at" in data and data["opens_at"] != special.opens_at:
        if now >= special.opens_at:
            raise AppError("SPECIAL_ALREADY_OPEN")
        _check_opens_at(slot, special.day, data["opens_at"])
        special.opens_at = data["opens_at"]
    if data.get("dish_id") is not None and data["dish_id"] != special.dish_id:
        _check_dishes(slot.canteen_id, [data["dish_id"]], "SPECIAL_DISH_INVALID")
    for key in ("name", "dish_id", "price_cents", "kind"):
        if key in data:
            setattr(special, key, data[key].strip() if key == "name" else data[key])
    db.session.flush()
    old_total = special.portions_total
    if "portions_total" in data and data["portions_total"] != old_total:
        changed = change_portions(special.id, data["portions_total"])
        if changed is None:
            db.session.refresh(special)
            raise AppError("SPECIAL_PORTIONS_DECREASE", details={
                "booked": special.portions_total - special.portions_left,
                "portions_total": special.portions_total})
    audit.record("special.update", "special", special.id,
                 {"fields": sorted(data), "portions_total": [old_total, special.portions_total]}, actor=actor)
    return special


def deactivate_special(actor: Principal, special_id: int) -> Special:
    """Take a special off sale (bookings already made stay)."""
    special, _slot = _operated_special(actor, special_id)
    if special.is_active:
        special.is_active = False
        audit.record("special.deactivate", "special", special.id,
                     {"booked": special.portions_total - special.portions_left}, actor=actor)
    db.session.flush()
    return special


def list_specials(actor: Principal, canteen_id: int, first: date, last: date,
                  now: datetime | None = None) -> list[dict]:
    """Specials of a canteen in a range, deactivated ones included: the operator,
    administrators and auditors (FORBIDDEN for anyone else)."""
    check_range(first, last)
    canteen = get_canteen(actor, canteen_id)
    if not rules.reads_internals(actor, canteen):
        raise AppError("FORBIDDEN", details={"canteen_id": canteen.id})
    slots = {s.id: s for s in visible_slots(actor, canteen)}
    found = specials_between(slots, first, last, include_inactive=True) if slots else {}
    order = {meal: n for n, meal in enumerate(MEALS)}
    items = [s for group in found.values() for s in group]
    items.sort(key=lambda s: (s.day, order[slots[s.slot_id].meal], s.id))
    return [dict(special_view(s, now), meal=slots[s.slot_id].meal, meal_label=MEALS[slots[s.slot_id].meal])
            for s in items]


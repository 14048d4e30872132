"""Production counts (配餐报表): what a canteen should cook for a slot on a day.

For a canteen, day and slot:

- booked = bookings in status booked or served (a cancelled booking does not count; a
  no-show only exists after the meal);
- per dish, the portions pre-selected in those bookings (a half portion counts 0.5), and per
  special the bookings that took it;
- the no-show rate r, from the slot's own history: over the CANTEEN_FORECAST_WEEKS weeks
  before the day ([day − 7·W, day)), on the same weekday,

      r = no_show / (served + no_show)

  counting meal_booking rows of that slot by status. When that weekday has no served or
  no-show booking in the window, the slot's rate over all days of the same window is used
  (basis "slot"); with no history at all, r = 0 (basis "none");
- recommended = ⌈booked × (1 − r)⌉, and for each dish ⌈portions × (1 − r)⌉ (each special
  likewise), computed with exact fractions so 10 × (1 − 3/10) is 7, not 8.

Each dish also carries its rating figures over the last 90 days (`rating`: {average, count},
`dish_ratings.recent_summary`, one query per slot and day); the XLSX export leaves them out.

Before the slot's cut-off (`rules.cutoff_at`) the figures are a forecast (bookings may
still change); from the cut-off on they are final. Everything takes `now` so tests pass
fixed times.

Who: the canteen's operator (`rules.operates`), administrators and auditors.
"""

from __future__ import annotations

import io
import math
from collections import defaultdict
from datetime import date, datetime, timedelta
from fractions import Fraction

from flask import current_app
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font
from sqlalchemy import extract, func, select

from app.auth import Principal
from app.errors import AppError, register_codes
from app.extensions import db
from app.timeutil import local, utcnow
from blueprints.canteen import dish_ratings, rules
from blueprints.canteen.menus import (
    MEALS,
    check_range,
    get_canteen,
    visible_slots,
    weekday_text,
)
from models.canteen import Canteen, Dish, MealBooking, MealSlot, Menu, Special

register_codes({
    "PRODUCTION_SLOT_INVALID": (422, "餐次不属于该食堂", "slot_id is not a slot of canteen_id."),
})

COUNTED = ("booked", "served")
MAX_EXPORT_DAYS = 62
STATUS_LABELS = {"forecast": "预测", "final": "最终"}
BASIS_LABELS = {"weekday_slot": "同餐次同星期", "slot": "同餐次全部日期", "none": "无历史数据"}


def _ceil(value: Fraction) -> int:
    return math.ceil(value)


def _forecast_weeks() -> int:
    return int(current_app.config.get("CANTEEN_FORECAST_WEEKS", 4))


def no_show_rate(slot: MealSlot, day: date, weeks: int | None = None) -> dict:
    """The slot's recent no-show rate for `day` (see the module docstring)."""
    weeks = _forecast_weeks() if weeks is None else weeks
    start = day - timedelta(days=7 * weeks)
    rows = db.session.execute(
        select(extract("isodow", MealBooking.day).label("dow"), MealBooking.status, func.count())
        .where(MealBooking.slot_id == slot.id, MealBooking.day >= start, MealBooking.day < day,
               MealBooking.status.in_(("served", "no_show")))
        .group_by("dow", MealBooking.status)).all()
    same: dict[str, int] = defaultdict(int)
    every: dict[str, int] = defaultdict(int)
    for dow, status, count in rows:
        every[status] += count
        if int(dow) == day.isoweekday():
            same[status] += count
    for basis, counts in (("weekday_slot", same), ("slot", every)):
        total = counts["served"] + counts["no_show"]
        if total:
            return {"rate": Fraction(counts["no_show"], total), "basis": basis, "served": counts["served"],
                    "no_show": counts["no_show"], "weeks": weeks, "since": start}
    return {"rate": Fraction(0), "basis": "none", "served": 0, "no_show": 0, "weeks": weeks, "since": start}


def slot_production(slot: MealSlot, day: date, now: datetime | None = None) -> dict:
    """The figures for one slot and day (the caller checked who may see them)."""
    now = now or utcnow()
    cutoff = rules.cutoff_at(slot, day)
    bookings = db.session.execute(
        select(MealBooking.special_id, MealBooking.dishes)
        .where(MealBooking.slot_id == slot.id, MealBooking.day == day, MealBooking.status.in_(COUNTED))).all()
    history = no_show_rate(slot, day)
    keep = 1 - history["rate"]
    booked = len(bookings)

    menu = db.session.execute(select(Menu).where(Menu.slot_id == slot.id, Menu.day == day)).scalar_one_or_none()
    on_menu = [] if menu is None else [item.dish_id for item in sorted(menu.items, key=lambda i: i.sort_order)]
    full: dict[int, int] = defaultdict(int)
    half: dict[int, int] = defaultdict(int)
    special_counts: dict[int, int] = defaultdict(int)
    for special_id, dishes in bookings:
        if special_id is not None:
            special_counts[special_id] += 1
        for choice in dishes or []:
            dish_id = choice.get("dish_id")
            if not isinstance(dish_id, int):
                continue
            (half if choice.get("portion") == "half" else full)[dish_id] += 1
    dish_ids = list(dict.fromkeys([*on_menu, *sorted(set(full) | set(half))]))
    names = dict(db.session.execute(select(Dish.id, Dish.name).where(Dish.id.in_(dish_ids))).all()) if dish_ids else {}
    ratings = dish_ratings.recent_summary(dish_ids, now)
    dishes = []
    for dish_id in dish_ids:
        portions = Fraction(full[dish_id]) + Fraction(half[dish_id], 2)
        dishes.append({"dish_id": dish_id, "name": names.get(dish_id, ""), "full": full[dish_id],
                       "half": half[dish_id], "portions": float(portions),
                       "recommended": _ceil(portions * keep), "on_menu": dish_id in on_menu,
                       "rating": ratings[dish_id]})

    specials = []
    for special in db.session.execute(select(Special).where(Special.slot_id == slot.id, Special.day == day)
                                      .order_by(Special.id)).scalars():
        count = special_counts.get(special.id, 0)
        specials.append({"special_id": special.id, "name": special.name, "booked": count,
                         "portions_total": special.portions_total, "portions_left": special.portions_left,
                         "recommended": _ceil(Fraction(count) * keep), "is_active": special.is_active})

    return {"canteen_id": slot.canteen_id, "slot_id": slot.id, "meal": slot.meal, "meal_label": MEALS[slot.meal],
            "day": day, "weekday": weekday_text(day), "serves": rules.serves_on(slot, day),
            "status": "final" if now >= cutoff else "forecast", "cutoff_at": cutoff,
            "booked": booked, "no_show_rate": round(float(history["rate"]), 4),
            "rate_basis": history["basis"], "history_served": history["served"],
            "history_no_show": history["no_show"], "history_weeks": history["weeks"],
            "recommended": _ceil(booked * keep), "menu_status": menu.status if menu else None,
            "dishes": dishes, "specials": specials}


def _production_canteen(actor: Principal, canteen_id: int) -> Canteen:
    canteen = get_canteen(actor, canteen_id)
    if not rules.reads_internals(actor, canteen):
        raise AppError("FORBIDDEN", details={"canteen_id": canteen.id})
    return canteen


def production(actor: Principal, canteen_id: int, day: date, slot_id: int | None = None,
               now: datetime | None = None) -> list[dict]:
    """Figures for each slot of the canteen on `day` (or the one slot named)."""
    canteen = _production_canteen(actor, canteen_id)
    slots = visible_slots(actor, canteen)
    if slot_id is not None:
        slots = [s for s in slots if s.id == slot_id]
        if not slots:
            raise AppError("PRODUCTION_SLOT_INVALID", details={"slot_id": slot_id})
    return [slot_production(slot, day, now) for slot in slots]


def production_range(actor: Principal, canteen_id: int, first: date, last: date,
                     now: datetime | None = None) -> tuple[Canteen, list[dict]]:
    """Every served slot and day from `first` to `last` (days a slot does not serve are left
    out unless someone booked them)."""
    check_range(first, last, MAX_EXPORT_DAYS)
    canteen = _production_canteen(actor, canteen_id)
    slots = list(visible_slots(actor, canteen))
    out = []
    day = first
    while day <= last:
        for slot in slots:
            figures = slot_production(slot, day, now)
            if figures["serves"] or figures["booked"]:
                out.append(figures)
        day += timedelta(days=1)
    return canteen, out


def _sheet(wb: Workbook, title: str, headers: list[str], rows: list[list], widths: list[int], first: bool = False):
    ws = wb.active if first else wb.create_sheet()
    ws.title = title
    ws.append(headers)
    for cell in ws[1]:
        cell.font = Font(bold=True)
        cell.alignment = Alignment(horizontal="center")
    for row in rows:
        ws.append(row)
    for n, width in enumerate(widths):
        ws.column_dimensions[chr(ord("A") + n)].width = width
    ws.freeze_panes = "A2"
    return ws


def export_xlsx(actor: Principal, canteen_id: int, first: date, last: date, now: datetime | None = None) -> bytes:
    """配餐报表 as XLSX: a summary sheet per slot and day, dish details, specials."""
    now = now or utcnow()
    canteen, figures = production_range(actor, canteen_id, first, last, now)
    summary = [[f["day"].isoformat(), f["weekday"], f["meal_label"], STATUS_LABELS[f["status"]],
                local(f["cutoff_at"]).strftime("%Y-%m-%d %H:%M"), f["booked"], f["no_show_rate"],
                BASIS_LABELS[f["rate_basis"]], f["recommended"], {"draft": "草稿", "published": "已发布"}.get(
                    f["menu_status"] or "", "未设置")] for f in figures]
    dishes = [[f["day"].isoformat(), f["meal_label"], d["name"], d["full"], d["half"], d["portions"],
               d["recommended"], "是" if d["on_menu"] else "否"] for f in figures for d in f["dishes"]]
    specials = [[f["day"].isoformat(), f["meal_label"], s["name"], s["portions_total"], s["booked"],
                 s["portions_left"], s["recommended"], "是" if s["is_active"] else "否"]
                for f in figures for s in f["specials"]]
    wb = Workbook()
    ws = _sheet(wb, "配餐汇总", ["日期", "星期", "餐次", "状态", "报餐截止", "预订份数", "近期未取餐率", "未取餐率依据",
                             "建议备餐份数", "菜单"], summary, [12, 6, 8, 8, 18, 10, 14, 16, 14, 8], first=True)
    for row in ws.iter_rows(min_row=2, min_col=7, max_col=7):
        for cell in row:
            cell.number_format = "0.0%"
    _sheet(wb, "菜品明细",
           ["日期", "餐次", "菜品", "整份", "半份", "折合份数（半份计0.5）", "建议备餐份数", "在菜单上"], dishes,
           [12, 8, 16, 8, 8, 22, 14, 10])
    _sheet(wb, "特色菜", ["日期", "餐次", "名称", "总份数", "已预订", "剩余", "建议备餐份数", "在售"],
           specials, [12, 8, 16, 8, 8, 8, 14, 8])
    info = wb.create_sheet("说明")
    for line in (f"食堂：{canteen.name}", f"日期：{first.isoformat()} 至 {last.isoformat()}",
                 f"生成时间：{local(now):%Y-%m-%d %H:%M}",
                 f"建议备餐份数 = 向上取整(预订份数 × (1 − 近期未取餐率))；未取餐率取该餐次近 {_forecast_weeks()} 周"
                 "同一星期几的 未取餐 ÷ (已取餐 + 未取餐)，无数据时取该餐次近期全部日期，仍无数据时为 0。",
                 "报餐截止前为预测，截止后为最终。"):
        info.append([line])
    info.column_dimensions["A"].width = 100
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


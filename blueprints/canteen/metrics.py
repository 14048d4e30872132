"""Anti-waste figures of a canteen over a period, the department ranking (红黑榜) and the
quarterly evaluation report (季度评估, XLSX).

Definitions (per slot and in total, over the days `start`..`end` inclusive):
- bookings: live bookings (booked, served, no-show; cancelled ones are not counted);
- no-show rate = no_show / (served + no_show) (bookings still "booked" are undecided);
- diners: the operator's actual diner count of each slot and day (walk-ins included);
  where a slot-day has no count, its served bookings stand in (`diners_estimated_days`
  says for how many slot-days that happened);
- waste kg by stage: the effective weighings (newest row of each correction chain);
- waste grams per served meal = total waste g / served; per diner = total waste g / diners;
- clean-plate check-in rate = check-ins not rejected / served.
Rates are None when their denominator is 0; rates are rounded to 4 decimals, grams to 1.
"""

from __future__ import annotations

import io
from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import func, select

from app.auth import Principal, ensure_visible
from app.errors import AppError
from app.extensions import db, get_row
from blueprints.canteen import rules
from blueprints.canteen.waste import check_range, effective_entries
from models import Department
from models.canteen import (
    MEALS,
    WASTE_STAGES,
    Canteen,
    CleanPlateCheckin,
    DinerCount,
    MealBooking,
    MealSlot,
)

DEFAULT_MIN_SERVED = 10
DEFAULT_TOP = 5


def _rate(numerator: int, denominator: int) -> float | None:
    return round(numerator / denominator, 4) if denominator else None


def _grams(kg: Decimal, per: int) -> float | None:
    return round(float(kg * 1000) / per, 1) if per else None


def may_see_report(actor: Principal, canteen: Canteen) -> bool:
    return actor.reads_everything or actor.has_role("canteen_manager", "company", canteen.company_id)


# --- the figures ---------------------------------------------------------------------------

def _empty() -> dict:
    return {"bookings": 0, "served": 0, "no_show": 0, "diners": 0, "diners_estimated_days": 0, "checkins": 0,
            "waste_kg": defaultdict(Decimal)}


def _finish(raw: dict) -> dict:
    waste = {stage: raw["waste_kg"].get(stage, Decimal("0")) for stage in WASTE_STAGES}
    total = sum(waste.values(), Decimal("0"))
    served, no_show = raw["served"], raw["no_show"]
    return {
        "bookings": raw["bookings"], "served": served, "no_show": no_show,
        "no_show_rate": _rate(no_show, served + no_show),
        "diners": raw["diners"], "diners_estimated_days": raw["diners_estimated_days"],
        "waste_kg": {stage: float(kg) for stage, kg in waste.items()}, "waste_kg_total": float(total),
        "waste_g_per_served": _grams(total, served), "waste_g_per_diner": _grams(total, raw["diners"]),
        "checkins": raw["checkins"], "checkin_rate": _rate(raw["checkins"], served),
    }


def compute(canteen: Canteen, start: date, end: date) -> dict:
    """{"canteen_id", "from", "to", "total": {...}, "slots": [{slot_id, meal, meal_label, ...}]}."""
    check_range(start, end)
    per_slot: dict[int, dict] = defaultdict(_empty)
    served_by_slot_day: dict[tuple[int, date], int] = defaultdict(int)
    for slot_id, day, status, n in db.session.execute(
            select(MealBooking.slot_id, MealBooking.day, MealBooking.status, func.count())
            .where(MealBooking.canteen_id == canteen.id, MealBooking.day.between(start, end),
                   MealBooking.status.in_(("booked", "served", "no_show")))
            .group_by(MealBooking.slot_id, MealBooking.day, MealBooking.status)):
        per_slot[slot_id]["bookings"] += n
        if status in ("served", "no_show"):
            per_slot[slot_id][status] += n
        if status == "served":
            served_by_slot_day[(slot_id, day)] += n
    counts = {(slot_id, day): diners for slot_id, day, diners in db.session.execute(
        select(DinerCount.slot_id, DinerCount.day, DinerCount.diners)
        .where(DinerCount.canteen_id == canteen.id, DinerCount.day.between(start, end)))}
    for key in set(counts) | set(served_by_slot_day):
        slot = per_slot[key[0]]
        if key in counts:
            slot["diners"] += counts[key]
        else:
            slot["diners"] += served_by_slot_day[key]
            slot["diners_estimated_days"] += 1
    for slot_id, n in db.session.execute(
            select(MealBooking.slot_id, func.count()).select_from(CleanPlateCheckin)
            .join(MealBooking, MealBooking.id == CleanPlateCheckin.booking_id)
            .where(CleanPlateCheckin.canteen_id == canteen.id, CleanPlateCheckin.day.between(start, end),
                   CleanPlateCheckin.status != "rejected", MealBooking.status == "served")
            .group_by(MealBooking.slot_id)):
        per_slot[slot_id]["checkins"] += n
    for entry in effective_entries(canteen.id, start, end):
        per_slot[entry.slot_id]["waste_kg"][entry.stage] += entry.kg

    total = _empty()
    for raw in per_slot.values():
        for key in ("bookings", "served", "no_show", "diners", "diners_estimated_days", "checkins"):
            total[key] += raw[key]
        for stage, kg in raw["waste_kg"].items():
            total["waste_kg"][stage] += kg
    slots = {s.id: s for s in db.session.execute(select(MealSlot).where(
        (MealSlot.canteen_id == canteen.id) | MealSlot.id.in_(list(per_slot)))).scalars()}
    order = sorted(slots.values(), key=lambda s: (s.serve_start, s.id))
    return {
        "canteen_id": canteen.id, "canteen_name": canteen.name, "from": start, "to": end,
        "total": _finish(total),
        "slots": [{"slot_id": s.id, "meal": s.meal, "meal_label": MEALS.get(s.meal, s.meal),
                   **_finish(per_slot.get(s.id) or _empty())} for s in order],
    }


def metrics(actor: Principal, canteen_id: int, start: date, end: date) -> dict:
    return compute(rules.find_canteen(actor, canteen_id), start, end)


# --- 红黑榜 ----------------------------------------------------------------------------------

def department_figures(start: date, end: date, canteen_id: int | None = None) -> list[dict]:
    """Per department (of the booking): served, no_show, check-ins (not rejected) and the rates."""
    check_range(start, end)
    where = [MealBooking.day.between(start, end), MealBooking.department_id.is_not(None)]
    if canteen_id is not None:
        where.append(MealBooking.canteen_id == canteen_id)
    figures: dict[int, dict] = defaultdict(lambda: {"served": 0, "no_show": 0, "checkins": 0})
    for dept_id, status, n in db.session.execute(
            select(MealBooking.department_id, MealBooking.status, func.count())
            .where(*where, MealBooking.status.in_(("served", "no_show")))
            .group_by(MealBooking.department_id, MealBooking.status)):
        figures[dept_id][status] += n
    for dept_id, n in db.session.execute(
            select(MealBooking.department_id, func.count()).select_from(CleanPlateCheckin)
            .join(MealBooking, MealBooking.id == CleanPlateCheckin.booking_id)
            .where(*where, MealBooking.status == "served", CleanPlateCheckin.status != "rejected")
            .group_by(MealBooking.department_id)):
        figures[dept_id]["checkins"] += n
    names = dict(db.session.execute(select(Department.id, Department.name).where(
        Department.id.in_(list(figures)))).all())
    return [{"department_id": dept_id, "department_name": names.get(dept_id, ""), **f,
             "no_show_rate": _rate(f["no_show"], f["served"] + f["no_show"]),
             "checkin_rate": _rate(f["checkins"], f["served"])}
            for dept_id, f in figures.items()]


def _best_worst(rows: list[dict], key: str, lower_is_better: bool, top: int) -> dict:
    """Best `top` and worst `top`; a department is on one list only (with fewer than 2×top
    eligible departments the worst list is shorter). Ties: more served meals first, then name."""
    sign = 1 if lower_is_better else -1
    ranked = sorted(rows, key=lambda r: (sign * r[key], -r["served"], r["department_name"], r["department_id"]))
    best = ranked[:top]
    rest = ranked[len(best):]
    worst = sorted(rest, key=lambda r: (-sign * r[key], -r["served"], r["department_name"],
                                        r["department_id"]))[:top]
    return {"best": best, "worst": worst}


def rankings(actor: Principal, start: date, end: date, canteen_id: int | None = None,
             min_served: int = DEFAULT_MIN_SERVED, top: int = DEFAULT_TOP) -> dict:
    """The published 红黑榜: departments with at least `min_served` served meals in the
    period, best and worst by no-show rate and by clean-plate rate. Department names only."""
    if actor.kind == "visitor":
        raise AppError("FORBIDDEN")
    if canteen_id is not None:
        canteen = get_row(Canteen, canteen_id)
        ensure_visible(canteen is not None)
    eligible = [r for r in department_figures(start, end, canteen_id) if r["served"] >= min_served]
    return {"from": start, "to": end, "canteen_id": canteen_id, "min_served": min_served, "top": top,
            "eligible_departments": len(eligible),
            "no_show": _best_worst(eligible, "no_show_rate", True, top),
            "clean_plate": _best_worst(eligible, "checkin_rate", False, top)}


# --- 季度评估 (XLSX) --------------------------------------------------------------------------

def quarter_bounds(year: int, quarter: int) -> tuple[date, date]:
    first = date(year, 3 * quarter - 2, 1)
    after = date(year + 1, 1, 1) if quarter == 4 else date(year, 3 * quarter + 1, 1)
    return first, after - timedelta(days=1)


SUMMARY_ROWS = [
    ("预订份数", "bookings"), ("已取餐", "served"), ("未取餐", "no_show"), ("未取餐率", "no_show_rate"),
    ("实际就餐人数", "diners"), ("就餐人数按取餐数估算的餐次数", "diners_estimated_days"),
    *[(f"{label}（千克）", f"waste:{stage}") for stage, label in WASTE_STAGES.items()],
    ("浪费合计（千克）", "waste_kg_total"), ("每份已取餐浪费（克）", "waste_g_per_served"),
    ("人均浪费（克/人次）", "waste_g_per_diner"), ("光盘打卡次数", "checkins"), ("光盘打卡率", "checkin_rate"),
]
RATE_KEYS = {"no_show_rate", "checkin_rate"}


def _value(figures: dict, key: str):
    if key.startswith("waste:"):
        return figures["waste_kg"][key.removeprefix("waste:")]
    return figures[key]


def quarterly_report(actor: Principal, canteen_id: int, year: int, quarter: int,
                     min_served: int = DEFAULT_MIN_SERVED) -> tuple[bytes, str]:
    """The quarter's evaluation workbook and its file name."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    canteen = rules.find_canteen(actor, canteen_id, may_see_report)
    start, end = quarter_bounds(year, quarter)
    periods = [("季度合计", start, end)]
    for month in range(3 * quarter - 2, 3 * quarter + 1):
        first = date(year, month, 1)
        last = (date(year + 1, 1, 1) if month == 12 else date(year, month + 1, 1)) - timedelta(days=1)
        periods.append((f"{month}月", first, last))
    figures = [(label, compute(canteen, a, b)) for label, a, b in periods]

    wb = Workbook()
    bold = Font(bold=True)
    ws = wb.active
    ws.title = "汇总"
    ws.append([f"{canteen.name} {year}年第{quarter}季度反食品浪费评估", None])
    ws["A1"].font = bold
    ws.append([f"统计期间：{start.isoformat()} 至 {end.isoformat()}；未填报实际就餐人数的餐次按已取餐数计"])
    ws.append([])
    header_row = ws.max_row + 1
    ws.append(["指标", *[label for label, _ in figures]])
    for label, key in SUMMARY_ROWS:
        ws.append([label, *[_value(f["total"], key) for _, f in figures]])
    for cell in ws[header_row]:
        cell.font = bold
    for row in ws.iter_rows(min_row=header_row + 1):
        if any(key in RATE_KEYS for label, key in SUMMARY_ROWS if label == row[0].value):
            for cell in row[1:]:
                cell.number_format = "0.00%"
    ws.append([])
    ws.append(["分餐次（季度）", *[s["meal_label"] for s in figures[0][1]["slots"]]])
    ws[ws.max_row][0].font = bold
    for label, key in SUMMARY_ROWS:
        ws.append([label, *[_value(s, key) for s in figures[0][1]["slots"]]])
    ws.column_dimensions["A"].width = 30

    waste = wb.create_sheet("浪费称重")
    waste.append(["日期", "餐次", "环节", "重量（千克）", "备注", "是否更正记录"])
    for cell in waste[1]:
        cell.font = bold
    slots = {s.id: s for s in db.session.execute(select(MealSlot).where(MealSlot.canteen_id == canteen.id)).scalars()}
    stage_order = {stage: n for n, stage in enumerate(WASTE_STAGES)}
    entries = sorted(effective_entries(canteen.id, start, end), key=lambda e: (
        e.day, slots[e.slot_id].serve_start if e.slot_id in slots else None, stage_order.get(e.stage), e.id))
    for entry in entries:
        slot = slots.get(entry.slot_id)
        waste.append([entry.day, MEALS.get(slot.meal, slot.meal) if slot else str(entry.slot_id),
                      WASTE_STAGES.get(entry.stage, entry.stage), float(entry.kg), entry.note,
                      "是" if entry.corrects_id is not None else "否"])
    for row in waste.iter_rows(min_row=2, max_col=1):
        row[0].number_format = "yyyy-mm-dd"
    waste.column_dimensions["A"].width = 12

    ranking = wb.create_sheet("部门排名")
    ranking.append([f"已取餐不少于 {min_served} 份的部门，按未取餐率从低到高"])
    ranking.append(["名次", "部门", "已取餐", "未取餐", "未取餐率", "光盘打卡", "光盘打卡率"])
    for cell in ranking[2]:
        cell.font = bold
    rows = [r for r in department_figures(start, end, canteen.id) if r["served"] >= min_served]
    rows.sort(key=lambda r: (r["no_show_rate"], -r["served"], r["department_name"], r["department_id"]))
    for place, r in enumerate(rows, 1):
        ranking.append([place, r["department_name"], r["served"], r["no_show"], r["no_show_rate"], r["checkins"],
                        r["checkin_rate"]])
        ranking.cell(ranking.max_row, 5).number_format = "0.00%"
        ranking.cell(ranking.max_row, 7).number_format = "0.00%"
    ranking.column_dimensions["B"].width = 24

    out = io.BytesIO()
    wb.save(out)
    return out.getvalue(), f"canteen-{canteen.id}-{year}Q{quarter}.xlsx"

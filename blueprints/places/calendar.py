"""The working calendar as administrators keep it: a year is loaded at once (the State
Council publishes each year's holidays and 调休 make-up workdays together), replacing that
year's entries. Arithmetic on the calendar lives in app/workcalendar.py."""

from __future__ import annotations

from collections import Counter
from datetime import date

from sqlalchemy import delete, func, insert, select

from app import audit
from app.errors import AppError, register_codes
from app.extensions import db
from app.locks import lock_key
from models.calendar import CalendarDay

MIN_YEAR, MAX_YEAR = 2000, 2100
DEFAULT_WORKDAY_NAME = "调休上班"

register_codes({
    "CALENDAR_YEAR_INVALID": (422, "年份超出范围（2000–2100）", "Calendar: the year in the URL is out of range."),
    "CALENDAR_DATE_OUTSIDE_YEAR": (422, "日期不在该年份内",
                                   "Calendar: `details.dates` lie outside the year being loaded."),
    "CALENDAR_DUPLICATE_DATE": (422, "同一日期重复出现",
                                "Calendar: `details.dates` appear more than once in the same list."),
    "CALENDAR_HOLIDAY_IS_WORKDAY": (422, "同一日期不能既是节假日又是调休上班日",
                                    "Calendar: `details.dates` are in both `holidays` and `workdays`."),
    "CALENDAR_WORKDAY_NOT_WEEKEND": (422, "调休上班日必须是星期六或星期日",
                                     "Calendar: `details.dates` are make-up workdays that are not a Saturday or "
                                     "Sunday."),
})


def check_year(year: int) -> None:
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise AppError("CALENDAR_YEAR_INVALID", details={"year": year, "min": MIN_YEAR, "max": MAX_YEAR})


def _year_rows(year: int) -> list[CalendarDay]:
    return list(db.session.execute(
        select(CalendarDay).where(CalendarDay.day >= date(year, 1, 1), CalendarDay.day <= date(year, 12, 31))
        .order_by(CalendarDay.day)).scalars())


def calendar_year(year: int) -> dict:
    """{"year", "holidays": [{date, name}], "workdays": [{date, name}]}."""
    check_year(year)
    rows = _year_rows(year)
    return {"year": year,
            "holidays": [{"date": r.day, "name": r.name} for r in rows if r.kind == "holiday"],
            "workdays": [{"date": r.day, "name": r.name} for r in rows if r.kind == "workday"]}


def _dates(problem: list[date]) -> dict:
    return {"dates": sorted({d.isoformat() for d in problem})}


def validate_year(year: int, holidays: list[dict], workdays: list[dict]) -> None:
    """Every date inside the year, none twice, none both a holiday and a workday, every
    make-up workday a Saturday or Sunday. The first kind of problem found is raised, with
    every date that has it."""
    check_year(year)
    all_days = [e["date"] for e in holidays] + [e["date"] for e in workdays]
    outside = [d for d in all_days if d.year != year]
    if outside:
        raise AppError("CALENDAR_DATE_OUTSIDE_YEAR", details={"year": year, **_dates(outside)})
    for entries in (holidays, workdays):
        repeated = [d for d, n in Counter(e["date"] for e in entries).items() if n > 1]
        if repeated:
            raise AppError("CALENDAR_DUPLICATE_DATE", details=_dates(repeated))
    both = {e["date"] for e in holidays} & {e["date"] for e in workdays}
    if both:
        raise AppError("CALENDAR_HOLIDAY_IS_WORKDAY", details=_dates(list(both)))
    weekdays = [e["date"] for e in workdays if e["date"].isoweekday() < 6]
    if weekdays:
        raise AppError("CALENDAR_WORKDAY_NOT_WEEKEND", details=_dates(weekdays))


def replace_year(actor, year: int, holidays: list[dict], workdays: list[dict], *, record: bool = True) -> dict:
    """Replace the year's entries with these (in the caller's transaction; audited).
    Loads of the same year run one after the other (an advisory lock per year)."""
    validate_year(year, holidays, workdays)
    db.session.execute(select(func.pg_advisory_xact_lock(lock_key(f"calendar:{year}"))))
    before = {(r.day, r.kind, r.name) for r in _year_rows(year)}
    wanted = {(e["date"], "holiday", e["name"].strip()) for e in holidays}
    wanted |= {(e["date"], "workday", (e.get("name") or "").strip() or DEFAULT_WORKDAY_NAME) for e in workdays}
    if before != wanted:
        db.session.execute(delete(CalendarDay).where(CalendarDay.day >= date(year, 1, 1),
                                                     CalendarDay.day <= date(year, 12, 31)))
        if wanted:
            db.session.execute(insert(CalendarDay), [{"day": d, "kind": k, "name": n} for d, k, n in sorted(wanted)])
        db.session.expire_all()
    if record:
        def fmt(items):
            return sorted(f"{d.isoformat()} {k} {n}" for d, k, n in items)
        audit.record("calendar.replace", "calendar", year, {
            "holidays": sum(1 for _, k, _ in wanted if k == "holiday"),
            "workdays": sum(1 for _, k, _ in wanted if k == "workday"),
            "added": fmt(wanted - before), "removed": fmt(before - wanted)}, actor=actor)
    return calendar_year(year)

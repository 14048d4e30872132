"""Production counts (配餐报表): booked portions, pre-selections (half = 0.5), specials, the
no-show-adjusted recommendation with its fallbacks, forecast vs final, the XLSX export."""

from __future__ import annotations

import io
from datetime import date, datetime, time, timedelta

import openpyxl
import pytest

from app.auth import Principal
from app.errors import AppError
from app.extensions import db
from app.timeutil import SHANGHAI
from blueprints.canteen import menus, production
from models.canteen import MealBooking, Special
from tests.canteen.conftest import build_kitchen

TARGET = date(2026, 3, 30)  # a Monday; with 4 weeks the history window is [2026-03-02, 2026-03-30)


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), SHANGHAI)


class Diners:
    """Bookings made straight in the table (the booking service is another part's)."""

    def __init__(self, make, kitchen, n: int = 12):
        self.kitchen = kitchen
        self.users = [make.user() for _ in range(n)]

    def add(self, slot, day: date, statuses: dict[str, int], dishes=None, special=None):
        n = 0
        for status, count in statuses.items():
            for _ in range(count):
                user = self.users[n]
                n += 1
                db.session.add(MealBooking(user_id=user.id, canteen_id=self.kitchen.canteen.id, slot_id=slot.id,
                                           meal=slot.meal, day=day, status=status,
                                           dishes=(dishes or {}).get(n - 1, []),
                                           special_id=special.id if special is not None and n <= 3 else None))
        db.session.commit()


@pytest.fixture
def history(make, kitchen):
    diners = Diners(make, kitchen)
    lunch, dinner = kitchen.lunch, kitchen.dinner
    # Lunch on the four Mondays of the window: 15 served, 5 no-shows → 1/4.
    for day, served, no_show in ((date(2026, 3, 2), 4, 1), (date(2026, 3, 9), 4, 1), (date(2026, 3, 16), 3, 2),
                                 (date(2026, 3, 23), 4, 1)):
        diners.add(lunch, day, {"served": served, "no_show": no_show, "cancelled": 2})
    # Other lunches in the window: many no-shows (must not be used for a Monday).
    diners.add(lunch, date(2026, 3, 3), {"served": 1, "no_show": 9})
    # Outside the window (5 weeks back) and bookings never swept: ignored.
    diners.add(lunch, date(2026, 2, 23), {"no_show": 10})
    diners.add(lunch, date(2026, 3, 24), {"booked": 5})
    # Wednesdays: 7 served, 3 no-shows → 3/10 exactly.
    diners.add(lunch, date(2026, 3, 25), {"served": 7, "no_show": 3})
    # Dinner: history on a Tuesday only → Monday falls back to the slot's rate (1/4).
    diners.add(dinner, date(2026, 3, 17), {"served": 3, "no_show": 1})
    return diners


def test_no_show_rate_by_weekday_and_slot_with_fallbacks(app, kitchen, history):
    monday_lunch = production.no_show_rate(kitchen.lunch, TARGET)
    assert (monday_lunch["rate"], monday_lunch["basis"]) == (0.25, "weekday_slot")
    assert (monday_lunch["served"], monday_lunch["no_show"]) == (15, 5)
    monday_dinner = production.no_show_rate(kitchen.dinner, TARGET)
    assert (monday_dinner["rate"], monday_dinner["basis"]) == (0.25, "slot")
    breakfast = production.no_show_rate(kitchen.breakfast, TARGET)
    assert (breakfast["rate"], breakfast["basis"]) == (0, "none")
    # A shorter window (1 week) sees only 2026-03-23 on Mondays: 1 of 5.
    app.config["CANTEEN_FORECAST_WEEKS"] = 1
    try:
        assert production.no_show_rate(kitchen.lunch, TARGET)["rate"] == pytest.approx(0.2)
    finally:
        app.config["CANTEEN_FORECAST_WEEKS"] = 4
    # The fallback covers all weekdays of the window: Monday lunches + 3-03 + 3-25.
    tuesday = production.no_show_rate(kitchen.lunch, date(2026, 3, 31))  # window from 2026-03-03
    assert tuesday["basis"] == "weekday_slot" and tuesday["rate"] == pytest.approx(9 / 10)
    thursday = production.no_show_rate(kitchen.lunch, date(2026, 4, 2))  # no Thursday lunches
    assert thursday["basis"] == "slot"
    # window [03-05, 04-02): Mondays 03-09/16/23 (11 served, 4 no-show), 03-25 (7, 3)
    assert thursday["rate"] == pytest.approx(7 / 25)


def test_production_counts_portions_specials_and_recommendation(make, kitchen, history):
    op = Principal.for_user(kitchen.manager)
    red, greens, rice = kitchen.dishes
    menus.save_menu(op, kitchen.lunch.id, TARGET, [red.id, rice.id], now=at(TARGET - timedelta(days=3), 9))
    special = menus.create_special(op, {"slot_id": kitchen.lunch.id, "day": TARGET, "kind": "low_price",
                                        "name": "每月低价菜", "portions_total": 50,
                                        "opens_at": at(TARGET - timedelta(days=1), 12)},
                                   now=at(TARGET - timedelta(days=3), 9))
    db.session.execute(Special.__table__.update().where(Special.id == special.id).values(portions_left=47))
    db.session.commit()
    picks = {0: [{"dish_id": red.id, "portion": "full"}, {"dish_id": rice.id, "portion": "half"}],
             1: [{"dish_id": red.id, "portion": "full"}],
             2: [{"dish_id": red.id, "portion": "half"}, {"dish_id": greens.id, "portion": "full"}],
             3: [{"dish_id": red.id, "portion": "full"}],
             4: [{"dish_id": red.id, "portion": "half"}],
             10: [{"dish_id": red.id, "portion": "full"}]}  # the cancelled one: not counted
    history.add(kitchen.lunch, TARGET, {"booked": 8, "served": 2, "cancelled": 1}, dishes=picks, special=special)

    before = production.production(op, kitchen.canteen.id, TARGET, kitchen.lunch.id, now=at(TARGET, 9, 29))
    assert len(before) == 1
    lunch = before[0]
    assert lunch["status"] == "forecast" and lunch["booked"] == 10
    assert (lunch["no_show_rate"], lunch["rate_basis"]) == (0.25, "weekday_slot")
    assert lunch["recommended"] == 8  # ⌈10 × 0.75⌉ = ⌈7.5⌉
    dishes = {d["name"]: d for d in lunch["dishes"]}
    assert (dishes["红烧肉"]["full"], dishes["红烧肉"]["half"], dishes["红烧肉"]["portions"]) == (3, 2, 4.0)
    assert dishes["红烧肉"]["recommended"] == 3  # ⌈4 × 0.75⌉
    assert (dishes["米饭"]["portions"], dishes["米饭"]["recommended"]) == (0.5, 1)  # ⌈0.375⌉
    assert dishes["清炒时蔬"]["on_menu"] is False and dishes["清炒时蔬"]["portions"] == 1.0
    assert [d["name"] for d in lunch["dishes"]] == ["红烧肉", "米饭", "清炒时蔬"]  # menu order, then the rest
    assert lunch["specials"] == [{"special_id": special.id, "name": "每月低价菜", "booked": 3, "portions_total": 50,
                                  "portions_left": 47, "recommended": 3, "is_active": True}]
    after = production.production(op, kitchen.canteen.id, TARGET, kitchen.lunch.id, now=at(TARGET, 9, 30))
    assert after[0]["status"] == "final" and after[0]["booked"] == 10
    # All slots of the day: dinner falls back to the slot's rate, breakfast has no history.
    day = {f["meal"]: f for f in production.production(op, kitchen.canteen.id, TARGET, now=at(TARGET, 6))}
    # breakfast closed at 20:00 the day before
    assert day["breakfast"]["status"] == "final" and day["lunch"]["status"] == "forecast"
    assert day["dinner"]["rate_basis"] == "slot" and day["breakfast"]["recommended"] == 0


def test_exact_fractions_and_rounding(make, kitchen, history):
    wednesday = date(2026, 4, 1)  # Wednesday history: 3/10 no-shows
    history.add(kitchen.lunch, wednesday, {"booked": 10})
    figures = production.slot_production(kitchen.lunch, wednesday, now=at(wednesday, 8))
    assert figures["no_show_rate"] == 0.3 and figures["recommended"] == 7


def test_production_api_scoping(client, make, kitchen, history):
    url = f"/api/v1/canteen/production?canteen_id={kitchen.canteen.id}&day={TARGET}&slot_id={kitchen.lunch.id}"
    for reader in (kitchen.manager, kitchen.worker, make.user("admin"), make.user("auditor")):
        resp = client.get(url, headers=make.headers(reader))
        assert resp.status_code == 200, resp.get_json()
        assert resp.get_json()["items"][0]["rate_basis"] == "weekday_slot"
    other = build_kitchen(make, name="别家食堂")
    resp = client.get(url, headers=make.headers(other.manager))
    assert (resp.status_code, resp.get_json()["code"]) == (403, "FORBIDDEN")
    assert client.get(url, headers=make.headers(make.user())).status_code == 403
    resp = client.get(f"/api/v1/canteen/production?canteen_id={kitchen.canteen.id}&day={TARGET}"
                      f"&slot_id={other.lunch.id}", headers=make.headers(kitchen.manager))
    assert (resp.status_code, resp.get_json()["code"]) == (422, "PRODUCTION_SLOT_INVALID")
    with pytest.raises(AppError):
        production.production(Principal.for_user(other.manager), kitchen.canteen.id, TARGET)


def test_xlsx_export_has_the_figures(client, make, kitchen, history):
    history.add(kitchen.lunch, TARGET, {"booked": 8, "served": 2},
                dishes={0: [{"dish_id": kitchen.dishes[0].id, "portion": "half"}]})
    op = Principal.for_user(kitchen.manager)
    data = production.export_xlsx(op, kitchen.canteen.id, TARGET - timedelta(days=2), TARGET,
                                  now=at(TARGET, 9))
    wb = openpyxl.load_workbook(io.BytesIO(data))
    assert wb.sheetnames == ["配餐汇总", "菜品明细", "特色菜", "说明"]
    summary = wb["配餐汇总"]
    header = [c.value for c in summary[1]]
    assert header[:9] == ["日期", "星期", "餐次", "状态", "报餐截止", "预订份数", "近期未取餐率", "未取餐率依据",
                          "建议备餐份数"]
    rows = {(r[0], r[2]): r for r in summary.iter_rows(min_row=2, values_only=True)}
    # Saturday and Sunday: breakfast only (every day); lunch and dinner on workdays.
    assert ("2026-03-28", "早餐") in rows and ("2026-03-28", "午餐") not in rows
    lunch = rows[("2026-03-30", "午餐")]
    assert lunch[1] == "周一" and lunch[3] == "预测" and lunch[4] == "2026-03-30 09:30"
    assert (lunch[5], lunch[6], lunch[7], lunch[8]) == (10, 0.25, "同餐次同星期", 8)
    assert rows[("2026-03-30", "早餐")][3] == "最终"
    dish_rows = list(wb["菜品明细"].iter_rows(min_row=2, values_only=True))
    assert dish_rows == [("2026-03-30", "午餐", "红烧肉", 0, 1, 0.5, 1, "否")]

    headers = make.headers(kitchen.manager)
    resp = client.get(f"/api/v1/canteen/production.xlsx?canteen_id={kitchen.canteen.id}&from={TARGET}&to={TARGET}",
                      headers=headers)
    assert resp.status_code == 200
    assert resp.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert "attachment" in resp.headers["Content-Disposition"]
    api_rows = list(openpyxl.load_workbook(io.BytesIO(resp.data))["配餐汇总"].iter_rows(min_row=2, values_only=True))
    assert [(r[2], r[5], r[8]) for r in api_rows] == [("早餐", 0, 0), ("午餐", 10, 8), ("晚餐", 0, 0)]
    too_long = client.get(f"/api/v1/canteen/production.xlsx?canteen_id={kitchen.canteen.id}&from=2026-01-01"
                          f"&to=2026-06-30", headers=headers)
    assert (too_long.status_code, too_long.get_json()["code"]) == (422, "MENU_RANGE_INVALID")
    other = build_kitchen(make, name="别家食堂")
    assert client.get(f"/api/v1/canteen/production.xlsx?canteen_id={kitchen.canteen.id}&from={TARGET}&to={TARGET}",
                      headers=make.headers(other.manager)).status_code == 403

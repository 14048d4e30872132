"""Metrics on a constructed dataset (exact figures), the department ranking's threshold and
lists, the quarterly XLSX, and who may see them."""

from __future__ import annotations

import io
from datetime import timedelta
from decimal import Decimal

import pytest
from openpyxl import load_workbook

from app.extensions import db
from models.canteen import CleanPlateCheckin, DinerCount, WasteEntry
from tests.canteen.conftest import build_kitchen
from tests.canteen.waste_helpers import DAY, booking, photo

API = "/api/v1/canteen"
YESTERDAY = DAY - timedelta(days=1)


def _checkin(meal, status: str) -> CleanPlateCheckin:
    picture = photo(_user(meal.user_id))
    row = CleanPlateCheckin(booking_id=meal.id, user_id=meal.user_id, canteen_id=meal.canteen_id, day=meal.day,
                            photo_id=picture.id, photo_sha256=picture.sha256, status=status)
    db.session.add(row)
    db.session.commit()
    return row


def _user(user_id):
    from models import User

    return db.session.get(User, user_id)


def _waste(kitchen, slot, day, stage, kg, corrects=None) -> WasteEntry:
    row = WasteEntry(canteen_id=kitchen.canteen.id, slot_id=slot.id, day=day, stage=stage, kg=Decimal(kg),
                     corrects_id=corrects.id if corrects else None)
    db.session.add(row)
    db.session.commit()
    return row


@pytest.fixture
def dataset(make, kitchen):
    a, b, c, d, e, f = (make.user() for _ in range(6))
    lunch = {u: booking(kitchen, u, status="served") for u in (a, b, c, d)}
    booking(kitchen, e, status="no_show")
    booking(kitchen, f, status="cancelled")
    yesterday = {u: booking(kitchen, u, day=YESTERDAY) for u in (a, b)}
    booking(kitchen, a, slot=kitchen.dinner)
    booking(kitchen, b, slot=kitchen.dinner, status="no_show")
    db.session.add_all([DinerCount(canteen_id=kitchen.canteen.id, slot_id=kitchen.lunch.id, day=DAY, diners=6),
                        DinerCount(canteen_id=kitchen.canteen.id, slot_id=kitchen.dinner.id, day=DAY, diners=3),
                        DinerCount(canteen_id=kitchen.canteen.id, slot_id=kitchen.breakfast.id, day=YESTERDAY,
                                   diners=10)])
    db.session.commit()
    _checkin(lunch[a], "accepted")
    _checkin(lunch[b], "rejected")
    _checkin(lunch[c], "pending_review")
    _checkin(yesterday[a], "approved")
    plate = _waste(kitchen, kitchen.lunch, DAY, "plate", "2.00")
    _waste(kitchen, kitchen.lunch, DAY, "plate", "1.50", corrects=plate)
    _waste(kitchen, kitchen.lunch, DAY, "overproduction", "3.00")
    _waste(kitchen, kitchen.dinner, DAY, "preparation", "0.50")
    _waste(kitchen, kitchen.lunch, DAY - timedelta(days=2), "plate", "100")  # outside the period
    other = build_kitchen(make, "第二食堂")
    _waste(other, other.lunch, DAY, "plate", "50")  # another canteen
    booking(other, c, slot=other.dinner)
    return kitchen


def test_metrics_figures(client, make, dataset):
    kitchen = dataset
    resp = client.get(f"{API}/metrics?canteen_id={kitchen.canteen.id}&from={YESTERDAY}&to={DAY}",
                      headers=make.headers(kitchen.worker))
    assert resp.status_code == 200, resp.get_json()
    body = resp.get_json()
    assert (body["from"], body["to"]) == (YESTERDAY.isoformat(), DAY.isoformat())
    slots = {s["meal"]: s for s in body["slots"]}
    assert list(slots) == ["breakfast", "lunch", "dinner"]
    no_waste = {"preparation": 0.0, "overproduction": 0.0, "plate": 0.0}
    assert slots["breakfast"] == {
        "slot_id": kitchen.breakfast.id, "meal": "breakfast", "meal_label": "早餐", "bookings": 0, "served": 0,
        "no_show": 0, "no_show_rate": None, "diners": 10, "diners_estimated_days": 0, "waste_kg": no_waste,
        "waste_kg_total": 0.0, "waste_g_per_served": None, "waste_g_per_diner": 0.0, "checkins": 0,
        "checkin_rate": None}
    assert {k: v for k, v in slots["lunch"].items() if k not in ("slot_id", "meal", "meal_label")} == {
        "bookings": 7, "served": 6, "no_show": 1, "no_show_rate": 0.1429, "diners": 8, "diners_estimated_days": 1,
        "waste_kg": {"preparation": 0.0, "overproduction": 3.0, "plate": 1.5}, "waste_kg_total": 4.5,
        "waste_g_per_served": 750.0, "waste_g_per_diner": 562.5, "checkins": 3, "checkin_rate": 0.5}
    assert {k: v for k, v in slots["dinner"].items() if k not in ("slot_id", "meal", "meal_label")} == {
        "bookings": 2, "served": 1, "no_show": 1, "no_show_rate": 0.5, "diners": 3, "diners_estimated_days": 0,
        "waste_kg": {"preparation": 0.5, "overproduction": 0.0, "plate": 0.0}, "waste_kg_total": 0.5,
        "waste_g_per_served": 500.0, "waste_g_per_diner": 166.7, "checkins": 0, "checkin_rate": 0.0}
    assert body["total"] == {
        "bookings": 9, "served": 7, "no_show": 2, "no_show_rate": 0.2222, "diners": 21, "diners_estimated_days": 1,
        "waste_kg": {"preparation": 0.5, "overproduction": 3.0, "plate": 1.5}, "waste_kg_total": 5.0,
        "waste_g_per_served": 714.3, "waste_g_per_diner": 238.1, "checkins": 3, "checkin_rate": 0.4286}


def test_metrics_permissions(client, make, dataset):
    kitchen = dataset
    url = f"{API}/metrics?canteen_id={kitchen.canteen.id}&from={YESTERDAY}&to={DAY}"
    other = build_kitchen(make, "第三食堂")
    for outsider in (other.manager, make.user()):
        assert client.get(url, headers=make.headers(outsider)).status_code == 404
    for reader in (make.user("auditor"), make.user("admin"), kitchen.manager):
        assert client.get(url, headers=make.headers(reader)).status_code == 200
    too_long = client.get(f"{API}/metrics?canteen_id={kitchen.canteen.id}&from={DAY - timedelta(days=366)}&to={DAY}",
                          headers=make.headers(kitchen.manager))
    assert too_long.status_code == 422 and too_long.get_json()["code"] == "CANTEEN_RANGE_INVALID"


def _department_history(make, kitchen, name, served, no_show, checkins):
    dept = make.department(name)
    user = make.user(department=dept)
    meals = [booking(kitchen, user, day=DAY - timedelta(days=n)) for n in range(served)]
    for n in range(no_show):
        booking(kitchen, user, slot=kitchen.dinner, day=DAY - timedelta(days=n), status="no_show")
    for meal in meals[:checkins]:
        _checkin(meal, "accepted")
    return dept


def test_rankings(client, make, kitchen):
    d1 = _department_history(make, kitchen, "办公室", served=10, no_show=0, checkins=8)
    d2 = _department_history(make, kitchen, "财务处", served=12, no_show=3, checkins=3)
    d3 = _department_history(make, kitchen, "后勤处", served=9, no_show=0, checkins=0)
    d4 = _department_history(make, kitchen, "人事处", served=10, no_show=1, checkins=10)
    staff = make.headers(make.user())
    period = f"from={DAY - timedelta(days=30)}&to={DAY}"

    def names(body, key, side):
        return [r["department_name"] for r in body[key][side]]

    body = client.get(f"{API}/rankings?{period}&top=1", headers=staff).get_json()
    assert (body["min_served"], body["eligible_departments"]) == (10, 3)
    assert (names(body, "no_show", "best"), names(body, "no_show", "worst")) == (["办公室"], ["财务处"])
    assert (names(body, "clean_plate", "best"), names(body, "clean_plate", "worst")) == (["人事处"], ["财务处"])
    assert body["no_show"]["worst"][0] == {"department_id": d2.id, "department_name": "财务处", "served": 12,
                                           "no_show": 3, "no_show_rate": 0.2, "checkins": 3, "checkin_rate": 0.25}
    # a department is on one list only: with 3 eligible and top 2, the worst list has one
    body = client.get(f"{API}/rankings?{period}&top=2", headers=staff).get_json()
    assert (names(body, "no_show", "best"), names(body, "no_show", "worst")) == (["办公室", "人事处"], ["财务处"])
    # a lower threshold lets 后勤处 in; the tie at 0% goes to more served meals
    body = client.get(f"{API}/rankings?{period}&top=2&min_served=9&canteen_id={kitchen.canteen.id}",
                      headers=staff).get_json()
    assert body["eligible_departments"] == 4
    assert names(body, "no_show", "best") == ["办公室", "后勤处"]
    assert names(body, "clean_plate", "worst") == ["后勤处", "财务处"]
    assert d3.id in {r["department_id"] for r in body["clean_plate"]["worst"]} and d4 and d1
    # visitors may not; a foreign canteen id is not found; never a person
    assert client.get(f"{API}/rankings?{period}", headers=make.headers(make.user(kind="visitor"))).status_code == 403
    assert client.get(f"{API}/rankings?{period}&canteen_id=999999", headers=staff).status_code == 404
    assert all(set(r) == {"department_id", "department_name", "served", "no_show", "no_show_rate", "checkins",
                          "checkin_rate"} for r in body["no_show"]["best"])


def test_quarterly_report(client, make, dataset):
    kitchen = dataset
    url = f"{API}/reports/quarterly.xlsx?canteen_id={kitchen.canteen.id}&year=2025&quarter=1"
    assert client.get(url, headers=make.headers(kitchen.worker)).status_code == 404  # managers only
    assert client.get(url, headers=make.headers(build_kitchen(make, "第四食堂").manager)).status_code == 404
    resp = client.get(url, headers=make.headers(kitchen.manager))
    assert resp.status_code == 200
    assert resp.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert "2025Q1.xlsx" in resp.headers["Content-Disposition"]
    wb = load_workbook(io.BytesIO(resp.data))
    assert wb.sheetnames == ["汇总", "浪费称重", "部门排名"]
    summary = wb["汇总"]
    rows, by_slot = {}, {}
    target = rows
    for r in summary.iter_rows(values_only=True):
        if r and r[0]:
            target = by_slot if r[0] == "分餐次（季度）" else target
            target.setdefault(r[0], r[1:])
    assert by_slot["分餐次（季度）"][:3] == ("早餐", "午餐", "晚餐")
    assert by_slot["已取餐"][:3] == (0, 6, 1)
    assert rows["指标"] == ("季度合计", "1月", "2月", "3月")
    assert rows["预订份数"][:4] == (9, 0, 0, 9)
    assert rows["未取餐率"][0] == pytest.approx(0.2222)
    assert rows["餐盘剩余（千克）"][0] == pytest.approx(101.5)  # the weighing of 3月10日 is in the quarter
    assert rows["浪费合计（千克）"][3] == pytest.approx(105.0)
    assert rows["光盘打卡率"][0] == pytest.approx(0.4286)
    waste_rows = list(wb["浪费称重"].iter_rows(min_row=2, values_only=True))
    assert [(r[0].date().isoformat(), r[1], r[2], r[3], r[5]) for r in waste_rows] == [
        ((DAY - timedelta(days=2)).isoformat(), "午餐", "餐盘剩余", 100.0, "否"),
        (DAY.isoformat(), "午餐", "剩余饭菜", 3.0, "否"),
        (DAY.isoformat(), "午餐", "餐盘剩余", 1.5, "是"),
        (DAY.isoformat(), "晚餐", "备餐损耗", 0.5, "否")]
    ranking = list(wb["部门排名"].iter_rows(min_row=2, values_only=True))
    assert ranking[0] == ("名次", "部门", "已取餐", "未取餐", "未取餐率", "光盘打卡", "光盘打卡率")
    assert ranking[1:] == []  # nobody in the dataset has a department
    assert client.get(url.replace("quarter=1", "quarter=5"), headers=make.headers(kitchen.manager)).status_code == 422

"""扫码核验 in the panel: a counter's handheld scanner types the pass; the same rules as
POST /api/v1/passes/verify (once only, the purpose decides who may scan)."""

from __future__ import annotations

from app.extensions import db
from models.canteen import MealBooking
from tests.canteen.test_booking import WED, at
from tests.canteen.test_booking_pass import _booking, _pass
from tests.support.admin import PASSWORD, login


def _panel(client, user):
    panel = client.application.test_client()
    assert login(panel, user).status_code == 302
    return panel


def test_the_counter_scans_a_pass_in_the_panel_once(client, make, kitchen, booking_clock):
    diner = make.user(name="赵敏")
    booking = _booking(kitchen, diner)
    token = _pass(client, make, booking.id, diner)
    booking_clock(at(WED, 11, 40))
    manager = make.user("canteen_manager", company=kitchen.company, password=PASSWORD)
    panel = _panel(client, manager)
    page = panel.get("/admin/scan/")
    assert page.status_code == 200 and "扫码核验" in page.get_data(as_text=True)

    first = panel.post("/admin/scan/", data={"token": f" {token}\n"}, follow_redirects=False)
    assert first.status_code == 200
    assert "取餐核销成功：赵敏（已取餐）" in first.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(MealBooking, booking.id).status == "served"

    again = panel.post("/admin/scan/", data={"token": token})
    assert again.status_code == 409 and "当前状态为「已取餐」" in again.get_data(as_text=True)
    assert panel.post("/admin/scan/", data={"token": "not-a-pass"}).status_code == 400
    assert panel.post("/admin/scan/", data={"token": ""}).status_code == 400


def test_only_scanning_roles_open_the_scan_page_and_a_foreign_canteen_is_refused(client, make, kitchen,
                                                                                booking_clock):
    assert _panel(client, make.user("auditor", password=PASSWORD)).get("/admin/scan/").status_code == 403
    diner = make.user()
    booking = _booking(kitchen, diner)
    token = _pass(client, make, booking.id, diner)
    booking_clock(at(WED, 11, 40))
    other = make.user("canteen_manager", company=make.company("canteen_operator"), password=PASSWORD)
    resp = _panel(client, other).post("/admin/scan/", data={"token": token})
    assert resp.status_code == 403 and "核验未通过" in resp.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(MealBooking, booking.id).status == "booked"

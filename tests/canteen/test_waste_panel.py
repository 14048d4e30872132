"""Weighings and diner counts entered in the panel go through the same service as the API:
scoped to the operator's canteens, corrections appended, never edited."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import select

from app.extensions import db
from models.canteen import DinerCount, WasteEntry
from tests.canteen.conftest import build_kitchen
from tests.support.admin import PASSWORD, login


def _panel(client, user):
    panel = client.application.test_client()
    assert login(panel, user).status_code == 302
    return panel


def _entries() -> list[WasteEntry]:
    db.session.expire_all()
    return list(db.session.execute(select(WasteEntry).order_by(WasteEntry.id)).scalars())


def test_manager_enters_and_corrects_a_weighing_in_the_panel(client, make, kitchen):
    manager = make.user("canteen_manager", company=kitchen.company, password=PASSWORD)
    panel = _panel(client, manager)
    assert panel.get("/admin/antiwaste/waste/new/").status_code == 200
    resp = panel.post("/admin/antiwaste/waste/new/", data={
        "slot_id": kitchen.lunch.id, "day": "2026-11-02", "stage": "plate", "kg": "3.25", "note": "午餐"})
    assert resp.status_code == 302, resp.get_data(as_text=True)
    [entry] = _entries()
    assert (entry.slot_id, entry.day, entry.stage, entry.kg, entry.entered_by_id) == (
        kitchen.lunch.id, date(2026, 11, 2), "plate", Decimal("3.25"), manager.id)

    assert panel.post(f"/admin/antiwaste/waste/correct/?id={entry.id}",
                      data={"kg": "2.75", "note": "秤未归零"}).status_code == 302
    first, correction = _entries()
    assert first.kg == Decimal("3.25") and (correction.corrects_id, correction.kg) == (first.id, Decimal("2.75"))
    again = panel.post(f"/admin/antiwaste/waste/correct/?id={entry.id}", data={"kg": "1", "note": "再改"})
    assert again.status_code == 409 and len(_entries()) == 2  # correct the correction instead

    future = panel.post("/admin/antiwaste/waste/new/", data={
        "slot_id": kitchen.lunch.id, "day": "2099-01-01", "stage": "plate", "kg": "1"})
    assert future.status_code == 422 and len(_entries()) == 2  # the service's CANTEEN_DAY_IN_FUTURE


def test_diner_counts_and_scope_in_the_panel(client, make, kitchen):
    manager = make.user("canteen_manager", company=kitchen.company, password=PASSWORD)
    panel = _panel(client, manager)
    for diners in (180, 176):  # a second entry replaces the figure
        resp = panel.post("/admin/antiwaste/diner-counts/new/", data={
            "slot_id": kitchen.lunch.id, "day": "2026-11-02", "diners": diners})
        assert resp.status_code == 302, resp.get_data(as_text=True)
    db.session.expire_all()
    assert [c.diners for c in db.session.execute(select(DinerCount)).scalars()] == [176]

    # Another canteen's manager opens the pages but cannot enter figures for this canteen.
    other = make.user("canteen_manager", company=build_kitchen(make).company, password=PASSWORD)
    stranger = _panel(client, other)
    assert stranger.get("/admin/antiwaste/waste/new/").status_code == 200
    resp = stranger.post("/admin/antiwaste/waste/new/", data={
        "slot_id": kitchen.lunch.id, "day": "2026-11-02", "stage": "plate", "kg": "1"})
    assert resp.status_code == 400 and len(_entries()) == 0
    auditor = _panel(client, make.user("auditor", password=PASSWORD))
    assert auditor.get("/admin/antiwaste/waste/").status_code == 200
    assert auditor.post("/admin/antiwaste/diner-counts/new/", data={
        "slot_id": kitchen.lunch.id, "day": "2026-11-02", "diners": 1}).status_code == 403

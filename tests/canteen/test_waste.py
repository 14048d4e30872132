"""Diner counts (upsert, audited) and waste weighings (append-only corrections)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from sqlalchemy import select

from app.extensions import db
from blueprints.canteen import waste
from models import AuditLog
from models.canteen import DinerCount, WasteEntry
from tests.canteen.conftest import build_kitchen
from tests.canteen.waste_helpers import DAY, at

API = "/api/v1/canteen"
NOW = at(DAY, 21)


def _now(monkeypatch):
    monkeypatch.setattr(waste, "utcnow", lambda: NOW)


def test_diner_count_upsert_audit_and_scope(client, make, kitchen, monkeypatch):
    _now(monkeypatch)
    other = build_kitchen(make, "第二食堂")
    body = {"slot_id": kitchen.lunch.id, "day": DAY.isoformat(), "diners": 180}
    first = client.put(f"{API}/diner-counts", headers=make.headers(kitchen.worker), json=body)
    assert first.status_code == 200, first.get_json()
    again = client.put(f"{API}/diner-counts", headers=make.headers(kitchen.manager), json={**body, "diners": 185})
    assert again.status_code == 200 and again.get_json()["id"] == first.get_json()["id"]
    assert again.get_json()["diners"] == 185 and again.get_json()["entered_by"] == kitchen.manager.name
    assert db.session.execute(select(DinerCount.diners)).scalars().all() == [185]
    audits = db.session.execute(select(AuditLog.details).where(AuditLog.action == "canteen.diner_count.set")
                                .order_by(AuditLog.id)).scalars().all()
    assert [(a["diners"], a["previous"]) for a in audits] == [(180, None), (185, 180)]
    # another canteen's operator, a diner: not found; a future day; a negative figure
    for outsider in (other.manager, make.user()):
        assert client.put(f"{API}/diner-counts", headers=make.headers(outsider), json=body).status_code == 404
    future = client.put(f"{API}/diner-counts", headers=make.headers(kitchen.worker),
                        json={**body, "day": (DAY + timedelta(days=1)).isoformat()})
    assert future.status_code == 422 and future.get_json()["code"] == "CANTEEN_DAY_IN_FUTURE"
    assert client.put(f"{API}/diner-counts", headers=make.headers(kitchen.worker),
                      json={**body, "diners": -1}).status_code == 422
    listed = client.get(f"{API}/diner-counts?canteen_id={kitchen.canteen.id}&from={DAY}&to={DAY}",
                        headers=make.headers(make.user("auditor"))).get_json()["items"]
    assert [(d["meal"], d["diners"]) for d in listed] == [("lunch", 185)]
    assert client.get(f"{API}/diner-counts?canteen_id={kitchen.canteen.id}&from={DAY}&to={DAY}",
                      headers=make.headers(other.worker)).status_code == 404


def test_waste_corrections_are_appended(client, make, kitchen, monkeypatch):
    _now(monkeypatch)
    h = make.headers(kitchen.worker)
    add = client.post(f"{API}/waste", headers=h, json={"slot_id": kitchen.lunch.id, "day": DAY.isoformat(),
                                                       "stage": "plate", "kg": "12.5", "note": "午餐回收"})
    assert add.status_code == 201, add.get_json()
    first = add.get_json()
    assert (first["kg"], first["stage_label"], first["corrects_id"]) == (12.5, "餐盘剩余", None)
    bin2 = client.post(f"{API}/waste", headers=h, json={"slot_id": kitchen.lunch.id, "day": DAY.isoformat(),
                                                        "stage": "plate", "kg": 3}).get_json()
    prep = client.post(f"{API}/waste", headers=h, json={"slot_id": kitchen.lunch.id, "day": DAY.isoformat(),
                                                        "stage": "preparation", "kg": 4.25}).get_json()
    # a correction: a new row, the original kept
    fix = client.post(f"{API}/waste/{first['id']}/correct", headers=h, json={"kg": 2.5, "note": "多输了一位"})
    assert fix.status_code == 201
    fixed = fix.get_json()
    assert (fixed["corrects_id"], fixed["kg"], fixed["stage"], fixed["day"]) == (first["id"], 2.5, "plate",
                                                                                 DAY.isoformat())
    # correcting the corrected row again: refused, naming the newer row
    again = client.post(f"{API}/waste/{first['id']}/correct", headers=h, json={"kg": 1, "note": "再改"})
    assert again.status_code == 409 and again.get_json()["code"] == "CANTEEN_WASTE_ALREADY_CORRECTED"
    assert again.get_json()["details"]["newer_id"] == fixed["id"]
    fix2 = client.post(f"{API}/waste/{fixed['id']}/correct", headers=h, json={"kg": 2.75, "note": "复核"}).get_json()
    # a correction needs a reason
    assert client.post(f"{API}/waste/{bin2['id']}/correct", headers=h, json={"kg": 1}).status_code == 422
    rows = db.session.execute(select(WasteEntry.id, WasteEntry.kg).order_by(WasteEntry.id)).all()
    assert [kg for _, kg in rows] == [Decimal("12.50"), Decimal("3.00"), Decimal("4.25"), Decimal("2.50"),
                                      Decimal("2.75")]

    report = client.get(f"{API}/waste?canteen_id={kitchen.canteen.id}&from={DAY}&to={DAY}", headers=h).get_json()
    effective = {(e["stage"], e["original_id"]): (e["id"], e["kg"], e["corrections"]) for e in report["effective"]}
    assert effective == {("plate", first["id"]): (fix2["id"], 2.75, 2), ("plate", bin2["id"]): (bin2["id"], 3.0, 0),
                         ("preparation", prep["id"]): (prep["id"], 4.25, 0)}
    history = {e["id"]: e["corrected_by_id"] for e in report["history"]}
    assert history == {first["id"]: fixed["id"], bin2["id"]: None, prep["id"]: None, fixed["id"]: fix2["id"],
                       fix2["id"]: None}


def test_waste_scope_and_input(client, make, kitchen, monkeypatch):
    _now(monkeypatch)
    other = build_kitchen(make, "第二食堂")
    entry = waste.add_waste(make_principal(kitchen.worker), kitchen.lunch.id, DAY, "overproduction", Decimal("5"))
    db.session.commit()
    body = {"slot_id": kitchen.lunch.id, "day": DAY.isoformat(), "stage": "plate", "kg": 1}
    assert client.post(f"{API}/waste", headers=make.headers(other.worker), json=body).status_code == 404
    assert client.post(f"{API}/waste/{entry.id}/correct", headers=make.headers(other.manager),
                       json={"kg": 1, "note": "x"}).status_code == 404
    assert client.get(f"{API}/waste?canteen_id={kitchen.canteen.id}&from={DAY}&to={DAY}",
                      headers=make.headers(make.user())).status_code == 404
    h = make.headers(kitchen.worker)
    for bad in ({"stage": "other"}, {"kg": -1}, {"kg": 10000}, {"kg": "1.234"}, {"slot_id": 0}):
        assert client.post(f"{API}/waste", headers=h, json={**body, **bad}).status_code == 422, bad
    future = client.post(f"{API}/waste", headers=h, json={**body, "day": (DAY + timedelta(days=1)).isoformat()})
    assert future.get_json()["code"] == "CANTEEN_DAY_IN_FUTURE"
    wrong_range = client.get(f"{API}/waste?canteen_id={kitchen.canteen.id}&from={DAY}&to={DAY - timedelta(days=1)}",
                             headers=h)
    assert wrong_range.status_code == 422 and wrong_range.get_json()["code"] == "CANTEEN_RANGE_INVALID"
    assert db.session.execute(select(WasteEntry.id)).scalars().all() == [entry.id]


def make_principal(user):
    from app.auth import Principal

    return Principal.for_user(user)

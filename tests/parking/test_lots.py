"""Lots: the list with live occupancy, guards' corrections, the nightly reconciliation, usage."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from sqlalchemy import select

from app.extensions import db
from app.timeutil import SHANGHAI, local, utcnow
from blueprints.parking import lots
from models import AuditLog
from models.parking import ParkingCorrection
from tests.parking.test_gate import car, make_gate, occupied

API = "/api/v1/parking/lots"


def test_list_and_one_lot(app, client, make):
    gate = make_gate(client, staff_capacity=5, visitor_capacity=2, ev_capacity=1)
    car(make, "京A12345")
    gate.event("京A12345")
    body = client.get(API, headers=make.headers(make.user())).get_json()
    assert [(b["id"], b["capacity"], b["occupied"], b["free"], b["mode"], b["mode_label"]) for b in body] == \
        [(gate.lot.id, 8, 1, 7, "open", "白名单通行")]
    assert body[0]["capacities"] == {"staff": 5, "visitor": 2, "ev": 1, "accessible": 0}
    assert body[0]["location"].endswith("地下停车场")
    one = client.get(f"{API}/{gate.lot.id}", headers=make.headers(make.user("auditor")))
    assert one.status_code == 200 and one.get_json()["occupied"] == 1
    missing = client.get(f"{API}/999999", headers=make.headers(make.user()))
    assert missing.status_code == 404 and missing.get_json()["code"] == "PARKING_LOT_NOT_FOUND"
    assert client.get(API, headers=make.headers(make.user(kind="visitor"))).status_code == 403


def test_guard_corrects_and_night_reconciles(app, client, make):
    gate = make_gate(client)
    guard = make.user("guard", company=make.company("security"))
    car(make, "京A12345")
    gate.event("京A12345")
    resp = client.post(f"{API}/{gate.lot.id}/occupancy", json={"occupied": 5, "reason": "  早班清点 "},
                       headers=make.headers(guard))
    assert resp.status_code == 200 and resp.get_json()["occupied"] == 5
    row = db.session.execute(select(ParkingCorrection)).scalar_one()
    assert (row.occupied_before, row.occupied_after, row.reason, row.actor_id) == (1, 5, "早班清点", guard.id)
    audit = db.session.execute(select(AuditLog).where(AuditLog.action == "parking.occupancy_corrected")).scalar_one()
    assert audit.details == {"before": 1, "after": 5}
    for bad in ({"occupied": -1, "reason": "x"}, {"occupied": 3, "reason": "  "}, {"occupied": 3}):
        assert client.post(f"{API}/{gate.lot.id}/occupancy", json=bad, headers=make.headers(guard)).status_code == 422
    assert client.post(f"{API}/{gate.lot.id}/occupancy", json={"occupied": 1, "reason": "x"},
                       headers=make.headers(make.user())).status_code == 403
    # after the count: one car leaves, one comes in; then a gate that was offline sends an exit
    # from before the count (already reflected in it): the live count moves, the night restores it
    gate.event("京A12345", "out")
    gate.event("京A12345")
    assert occupied(gate.lot) == 5
    gate.event("沪B11111", "out", at=utcnow() - timedelta(hours=2), offline=True, opened=True)
    assert occupied(gate.lot) == 4
    assert lots.reconcile() == 1
    assert occupied(gate.lot) == 5
    latest = db.session.execute(select(ParkingCorrection).order_by(ParkingCorrection.id.desc())).scalars().first()
    assert (latest.occupied_before, latest.occupied_after, latest.reason, latest.actor_id) == \
        (4, 5, lots.RECONCILE_REASON, None)
    assert lots.reconcile() == 0  # nothing left to correct: safe to run again


def test_usage(app, client, make):
    gate = make_gate(client)
    car(make, "京A12345")
    car(make, "京A54321")
    today = local(utcnow()).date()
    yesterday = datetime.combine(today - timedelta(days=1), time(9), SHANGHAI)
    gate.event("京A12345", at=yesterday, offline=True, opened=True)
    gate.event("京A12345", "out", at=yesterday + timedelta(hours=8), offline=True, opened=True)
    gate.event("京A12345")
    gate.event("京A54321")
    gate.event("沪B99999")
    admin = make.headers(make.user("admin"))
    resp = client.get(f"{API}/{gate.lot.id}/usage", headers=admin,
                      query_string={"date_from": (today - timedelta(days=1)).isoformat(), "date_to": today.isoformat()})
    assert resp.status_code == 200, resp.get_json()
    body = resp.get_json()
    by_day = {d["day"]: (d["entries"], d["exits"], d["refused"], d["vehicles"]) for d in body["days"]}
    assert by_day[today.isoformat()] == (2, 0, 1, 2)
    assert by_day[(today - timedelta(days=1)).isoformat()] == (1, 1, 0, 1)
    assert body["entry_reasons"] == {"staff_vehicle": 3, "unknown_plate": 1}
    bad = client.get(f"{API}/{gate.lot.id}/usage", headers=admin,
                     query_string={"date_from": today.isoformat(), "date_to": (today - timedelta(days=1)).isoformat()})
    assert bad.status_code == 422 and bad.get_json()["code"] == "PARKING_PERIOD_INVALID"
    assert client.get(f"{API}/{gate.lot.id}/usage", headers=make.headers(make.user()),
                      query_string={"date_from": today.isoformat(), "date_to": today.isoformat()}).status_code == 403

"""The gate API: signed requests, decisions, occupancy, resends, offline events, whitelist sync."""

from __future__ import annotations

import json
import secrets
import time
from datetime import timedelta

import pytest
from sqlalchemy import select

from app import crypto
from app.extensions import db
from app.timeutil import local, utcnow
from blueprints.parking.rules import GATE_SECRET_PURPOSE
from models.parking import GateEvent, GateKey, LotOccupancy, ParkingLot, ParkingReservation, Vehicle
from models.places import Place
from tests.parking.gate_helpers import event_worker, signed_headers
from tests.support.procs import run_at_once
from tests.visitors.conftest import make_visit

EVENTS, WHITELIST = "/api/v1/parking/gate/events", "/api/v1/parking/gate/whitelist"


class Gate:
    def __init__(self, client, lot, key_id, secret):
        self.client, self.lot, self.key_id, self.secret = client, lot, key_id, secret

    def post(self, event: dict, **sign):
        body = json.dumps(event).encode()
        return self.client.post(EVENTS, data=body, headers=signed_headers(self.key_id, self.secret, "POST", EVENTS,
                                                                          body, **sign))

    def event(self, plate: str, direction: str = "in", at=None, **extra) -> dict:
        resp = self.post({"event_id": secrets.token_hex(6), "plate": plate, "direction": direction,
                          "occurred_at": local(at or utcnow()).isoformat(), **extra})
        assert resp.status_code == 200, resp.get_json()
        return resp.get_json()

    def whitelist(self, since: int, limit: int = 1000):
        path = f"{WHITELIST}?since={since}&limit={limit}"
        return self.client.get(path, headers=signed_headers(self.key_id, self.secret, "GET", path, b""))


def make_gate(client, mode: str = "open", **capacity) -> Gate:
    building = Place(kind="building", name=f"主楼{secrets.token_hex(3)}")
    db.session.add(building)
    db.session.flush()
    place = Place(kind="area", name="地下停车场", parent_id=building.id)
    db.session.add(place)
    db.session.flush()
    lot = ParkingLot(place_id=place.id, name="地下停车场", mode=mode,
                     **{"staff_capacity": 10, "visitor_capacity": 2, **capacity})
    db.session.add(lot)
    db.session.flush()
    secret = secrets.token_urlsafe(32)
    key = GateKey(lot_id=lot.id, key_id=f"g{secrets.token_hex(4)}", name="东门",
                  secret_enc=crypto.encrypt(secret, GATE_SECRET_PURPOSE))
    db.session.add(key)
    db.session.commit()
    return Gate(client, lot, key.key_id, secret)


def car(make, plate: str) -> Vehicle:
    vehicle = Vehicle(user_id=make.user().id, plate=plate, plate_kind="ordinary")
    db.session.add(vehicle)
    db.session.commit()
    return vehicle


def reservation(lot, plate: str, *, user=None, visit_id=None, start=None, hours: int = 4) -> ParkingReservation:
    start = start or utcnow() - timedelta(minutes=5)
    row = ParkingReservation(lot_id=lot.id, user_id=user.id if user else None, visit_id=visit_id, plate=plate,
                             kind="visitor" if visit_id else "staff", day=local(start).date(), period="day",
                             starts_at=start, ends_at=start + timedelta(hours=hours), status="reserved")
    db.session.add(row)
    db.session.commit()
    return row


def occupied(lot) -> int:
    db.session.expire_all()
    return db.session.execute(select(LotOccupancy.occupied).where(LotOccupancy.lot_id == lot.id)).scalar() or 0


def test_open_lot_staff_vehicle_in_and_out(app, client, make):
    gate = make_gate(client)
    car(make, "京A12345")
    answer = gate.event("京a 12345")
    assert (answer["opened"], answer["reason"], answer["reason_label"], answer["plate"], answer["occupancy"]) == \
        (True, "staff_vehicle", "员工车辆", "京A12345", 1)
    unknown = gate.event("沪B99999")
    assert (unknown["opened"], unknown["reason"], unknown["occupancy"]) == (False, "unknown_plate", 1)
    out = gate.event("京A12345", "out")
    assert (out["opened"], out["reason"], out["occupancy"]) == (True, "exit", 0)
    # an exit of a car the count never saw does not go below zero
    assert gate.event("沪B99999", "out")["occupancy"] == 0


def test_resend_returns_the_first_decision_and_counts_once(app, client, make):
    gate = make_gate(client)
    car(make, "京A12345")
    event = {"event_id": "e-1", "plate": "京A12345", "direction": "in", "occurred_at": local(utcnow()).isoformat()}
    first = gate.post(event).get_json()
    again = gate.post(event).get_json()  # a fresh nonce: a genuine resend, not a replay
    assert (first["replayed"], again["replayed"]) == (False, True)
    assert again["opened"] is True and again["occupancy"] == 1 == occupied(gate.lot)


def test_reservation_lot(app, client, make):
    gate = make_gate(client, mode="reservation")
    staff = car(make, "京A12345")
    assert gate.event("京A12345")["reason"] == "no_reservation"
    booked = reservation(gate.lot, "京A12345", user=staff.user)
    answer = gate.event("京A12345")
    assert (answer["opened"], answer["reason"]) == (True, "reservation")
    db.session.expire_all()
    assert db.session.get(ParkingReservation, booked.id).status == "entered"
    gate.event("京A12345", "out")
    db.session.expire_all()
    stored = db.session.get(ParkingReservation, booked.id)
    assert stored.status == "completed" and stored.entered_at and stored.exited_at
    # a reservation for later today opens only from PARKING_GATE_EARLY_MINUTES before it
    later = reservation(gate.lot, "京B54321", user=make.user(), start=utcnow() + timedelta(hours=2))
    assert gate.event("京B54321")["reason"] == "unknown_plate"
    assert db.session.get(ParkingReservation, later.id).status == "reserved"


def test_visitor_reservation_and_full_lot(app, client, make):
    gate = make_gate(client, staff_capacity=1, visitor_capacity=1)
    host = make.user()
    application = make_visit(make, host, plate="粤B12345")
    reservation(gate.lot, "粤B12345", visit_id=application.visits[0].id)
    car(make, "京A11111")
    car(make, "京A22222")
    assert gate.event("京A11111")["reason"] == "staff_vehicle"
    assert gate.event("粤B12345")["reason"] == "visitor_reservation"   # reserved: in even when full
    full = gate.event("京A22222")
    assert (full["opened"], full["reason"], full["occupancy"]) == (False, "lot_full", 2)


def test_offline_events_late_and_out_of_order(app, client, make):
    gate = make_gate(client)
    t0 = utcnow() - timedelta(hours=3)
    # the exit arrives before the entry it follows
    out = gate.event("京A12345", "out", at=t0 + timedelta(hours=1), offline=True, opened=True)
    assert (out["offline"], out["occupancy"]) == (True, 0)
    entry = gate.event("京A12345", "in", at=t0, offline=True, opened=True)
    assert entry["reason"] == "staff_vehicle" and entry["occupancy"] == 1
    refused = gate.event("沪B00000", "in", at=t0, offline=True, opened=False)
    assert (refused["opened"], refused["reason"]) == (False, "unknown_plate")
    assert db.session.execute(select(GateEvent.plate).order_by(GateEvent.occurred_at)).scalars().all() == \
        ["京A12345", "沪B00000", "京A12345"]
    bad = gate.post({"event_id": "x", "plate": "京A12345", "direction": "in",
                     "occurred_at": local(t0).isoformat(), "offline": True})
    assert bad.status_code == 422


def test_refused_requests(app, client, make):
    gate = make_gate(client)
    event = {"event_id": "e-1", "plate": "京A12345", "direction": "in", "occurred_at": local(utcnow()).isoformat()}
    nonce = secrets.token_urlsafe(16)
    assert gate.post(event, nonce=nonce).status_code == 200
    replay = gate.post(event, nonce=nonce)
    assert replay.status_code == 409 and replay.get_json()["code"] == "PARKING_REPLAYED"
    stale = gate.post(event, timestamp=int(time.time()) - 3600)
    assert stale.status_code == 401 and stale.get_json()["code"] == "PARKING_TIMESTAMP_STALE"
    body = json.dumps(event).encode()
    forged = client.post(EVENTS, data=body, headers=signed_headers(gate.key_id, "wrong-secret", "POST", EVENTS, body))
    assert forged.status_code == 401 and forged.get_json()["code"] == "PARKING_SIGNATURE_INVALID"
    unknown = client.post(EVENTS, data=body, headers=signed_headers("nobody", gate.secret, "POST", EVENTS, body))
    assert unknown.status_code == 401 and unknown.get_json()["code"] == "PARKING_GATE_UNKNOWN"
    unsigned = client.post(EVENTS, json=event)
    assert unsigned.status_code == 401 and unsigned.get_json()["code"] == "PARKING_SIGNATURE_INVALID"
    plate = gate.post({**event, "event_id": "e-2", "plate": "京A1234O"})
    assert plate.status_code == 422 and plate.get_json()["code"] == "PARKING_PLATE_INVALID"
    assert gate.post({**event, "event_id": "e-3", "direction": "sideways"}).status_code == 422
    # a user's token is no gate key
    assert client.post(EVENTS, json=event, headers=make.headers(make.user("admin"))).status_code == 401


@pytest.mark.parametrize("limit", [1, 1000])
def test_whitelist_sync(app, client, make, limit):
    gate = make_gate(client)
    owner = make.user()
    headers = make.headers(owner)
    client.post("/api/v1/parking/vehicles", json={"plate": "京A12345"}, headers=headers)
    second = client.post("/api/v1/parking/vehicles", json={"plate": "京A54321"}, headers=headers).get_json()
    client.delete(f"/api/v1/parking/vehicles/{second['id']}", headers=headers)
    changes, since = [], 0
    while True:
        page = gate.whitelist(since, limit).get_json()
        changes += [(c["plate"], c["action"]) for c in page["changes"]]
        since = page["version"]
        if not page["more"]:
            break
    assert changes == [("京A12345", "allow"), ("京A54321", "allow"), ("京A54321", "revoke")]
    assert gate.whitelist(since).get_json() == {"version": since, "more": False, "changes": []}


def test_two_processes_one_event(app, client, make):
    gate = make_gate(client)
    car(make, "京A12345")
    event = {"event_id": "same", "plate": "京A12345", "direction": "in", "occurred_at": local(utcnow()).isoformat()}
    outcomes = run_at_once(event_worker, [(gate.key_id, gate.secret, event)] * 3)
    assert sorted(replayed for _, replayed in outcomes) == [False, True, True], outcomes
    assert occupied(gate.lot) == 1
    assert len(db.session.execute(select(GateEvent)).scalars().all()) == 1

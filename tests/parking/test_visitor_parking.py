"""Visitor parking tied to visits: approval holds a visitor space, cancelling frees it,
a full lot tells the host, and concurrent approvals never hold more than the capacity."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update

from app.extensions import db
from app.timeutil import local, utcnow
from models.notifications import InAppMessage
from models.parking import ParkingLot, ParkingReservation, WhitelistChange
from tests.parking.test_gate import make_gate
from tests.rooms.booking_helpers import post_worker
from tests.support.procs import run_at_once
from tests.visitors.conftest import make_visit

API = "/api/v1/visitors/applications"


def pending(make, plate: str, start=None):
    host = make.user()
    start = start or (utcnow() + timedelta(days=1)).replace(second=0, microsecond=0)
    application = make_visit(make, host, status="pending", plate=plate, starts_at=start,
                             ends_at=start + timedelta(hours=2))
    return host, application


def reservations():
    db.session.expire_all()
    return db.session.execute(select(ParkingReservation).order_by(ParkingReservation.id)).scalars().all()


def test_approval_holds_a_space_and_cancelling_frees_it(app, client, make):
    gate = make_gate(client, visitor_capacity=2)
    host, application = pending(make, "粤B12345")
    visit = application.visits[0]
    assert client.get(f"{API}/{application.id}", headers=make.headers(host)).get_json()["free_visitor_spaces"] == 2
    resp = client.post(f"{API}/{application.id}/approve", json={}, headers=make.headers(host))
    assert resp.status_code == 200, resp.get_json()
    [held] = reservations()
    assert (held.visit_id, held.plate, held.kind, held.status, held.lot_id) == \
        (visit.id, "粤B12345", "visitor", "reserved", gate.lot.id)
    assert (held.starts_at, held.ends_at) == (visit.starts_at, visit.ends_at)
    # the gate lets it in during the window
    assert gate.event("粤B12345", at=visit.starts_at + timedelta(minutes=5))["reason"] == "visitor_reservation"
    db.session.expire_all()
    assert db.session.get(ParkingReservation, held.id).status == "entered"

    host2, other = pending(make, "粤B54321")
    client.post(f"{API}/{other.id}/approve", json={}, headers=make.headers(host2))
    second = reservations()[-1]
    assert second.status == "reserved"
    resp = client.post(f"{API}/{other.id}/cancel", json={"reason": "改期"}, headers=make.headers(host2))
    assert resp.status_code == 200, resp.get_json()
    assert reservations()[-1].status == "revoked"
    changes = db.session.execute(select(WhitelistChange.plate, WhitelistChange.action)
                                 .order_by(WhitelistChange.id)).all()
    assert [tuple(c) for c in changes] == [("粤B12345", "allow"), ("粤B54321", "allow"), ("粤B54321", "revoke")]


def test_full_lot_tells_the_host_and_availability_shows_it(app, client, make):
    gate = make_gate(client, visitor_capacity=1)
    start = (utcnow() + timedelta(days=1)).replace(second=0, microsecond=0)
    params = {"starts_at": local(start).isoformat(), "ends_at": local(start + timedelta(hours=2)).isoformat()}
    staff = make.headers(make.user())
    assert client.get("/api/v1/parking/visitor-availability", query_string=params, headers=staff).get_json() == \
        [{"lot_id": gate.lot.id, "lot_name": gate.lot.name, "capacity": 1, "free": 1}]
    first_host, first = pending(make, "粤B11111", start)
    client.post(f"{API}/{first.id}/approve", json={}, headers=make.headers(first_host))
    assert client.get("/api/v1/parking/visitor-availability", query_string=params,
                      headers=staff).get_json()[0]["free"] == 0
    host, second = pending(make, "粤B22222", start + timedelta(hours=1))
    # the host sees before approving that no visitor space is left
    detail = client.get(f"{API}/{second.id}", headers=make.headers(host)).get_json()
    assert detail["free_visitor_spaces"] == 0
    resp = client.post(f"{API}/{second.id}/approve", json={}, headers=make.headers(host))
    assert resp.status_code == 200 and resp.get_json()["status"] == "approved"  # the visit is approved anyway
    assert [r.plate for r in reservations()] == ["粤B11111"]
    notices = db.session.execute(select(InAppMessage.title).where(InAppMessage.user_id == host.id)).scalars().all()
    assert "访客车位已满" in notices
    # no plate, no space asked for; no lot for visitors at all, no warning either
    db.session.execute(update(ParkingLot).values(visitor_capacity=0))
    db.session.commit()
    host4, other = pending(make, "粤B44444", start)
    client.post(f"{API}/{other.id}/approve", json={}, headers=make.headers(host4))
    assert db.session.execute(select(InAppMessage.title).where(InAppMessage.user_id == host4.id)).scalars().all() \
        .count("访客车位已满") == 0
    host3, walker = pending(make, None)
    client.post(f"{API}/{walker.id}/approve", json={}, headers=make.headers(host3))
    assert len(reservations()) == 1
    bad = client.get("/api/v1/parking/visitor-availability", headers=staff,
                     query_string={"starts_at": params["ends_at"], "ends_at": params["starts_at"]})
    assert bad.status_code == 422


def test_concurrent_approvals_never_exceed_the_visitor_capacity(app, client, make):
    make_gate(client, visitor_capacity=2)
    start = (utcnow() + timedelta(days=1)).replace(second=0, microsecond=0)
    apps = [pending(make, f"粤B3333{n}", start) for n in range(5)]
    outcomes = run_at_once(post_worker, [(make.token(host), f"/visitors/applications/{application.id}/approve", {})
                                         for host, application in apps])
    assert sorted(status for status, _ in outcomes) == [200] * 5, outcomes
    held = [r for r in reservations() if r.status == "reserved"]
    assert len(held) == 2

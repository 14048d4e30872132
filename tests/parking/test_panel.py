"""停车管理 in the admin panel."""

from __future__ import annotations

from sqlalchemy import select

from app import crypto
from app.extensions import db
from blueprints.parking.rules import GATE_SECRET_PURPOSE
from models import AuditLog
from models.parking import GateKey, ParkingLot
from models.places import Place
from tests.parking.test_gate import car, make_gate
from tests.support.admin import PASSWORD, admin_user, auditor, signed_in  # noqa: F401

PAGES = ["parking-lots", "parking-spaces", "vehicles", "parking-reservations", "parking-draws", "gate-keys",
         "gate-events", "parking-corrections"]


def test_every_page_renders_for_admins_and_auditors(make, signed_in, admin_user, auditor):  # noqa: F811
    gate = make_gate(None)
    car(make, "京A12345")
    for user in (admin_user, auditor):
        client = signed_in(user)
        for page in PAGES:
            assert client.get(f"/admin/{page}/").status_code == 200, page
        client.post("/admin/logout", data={})
    page = signed_in(admin_user).get("/admin/vehicles/?search=京A").get_data(as_text=True)
    assert "京A12345" in page
    assert gate.lot.name in signed_in(admin_user).get("/admin/parking-lots/").get_data(as_text=True)


def test_lot_and_gate_key_from_the_panel(make, signed_in, admin_user, auditor):  # noqa: F811
    building = Place(kind="building", name="主楼")
    db.session.add(building)
    db.session.flush()
    area = Place(kind="area", name="北区停车场", parent_id=building.id)
    db.session.add(area)
    db.session.commit()
    client = signed_in(admin_user)
    resp = client.post("/admin/parking-lots/new/", data={
        "place": area.id, "name": "北区停车场", "mode": "reservation", "staff_capacity": 40, "visitor_capacity": 10,
        "ev_capacity": 4, "accessible_capacity": 2, "grace_minutes": 30, "draw_at": "18:00", "am_ends_at": "12:30",
        "opens_at": "07:00", "closes_at": "20:00", "is_active": "y"})
    assert resp.status_code == 302, resp.get_data(as_text=True)[:2000]
    lot = db.session.execute(select(ParkingLot).where(ParkingLot.name == "北区停车场")).scalar_one()
    assert (lot.mode, lot.staff_capacity, lot.visitor_capacity) == ("reservation", 40, 10)
    created = client.post("/admin/gate-keys/new/", data={"lot": lot.id, "name": "北门入口", "direction": "in",
                                                          "is_active": "y"}, follow_redirects=True)
    page = created.get_data(as_text=True)
    key = db.session.execute(select(GateKey).where(GateKey.name == "北门入口")).scalar_one()
    secret = crypto.decrypt(key.secret_enc, GATE_SECRET_PURPOSE)
    assert key.key_id in page and secret in page  # shown once, with the warning
    assert secret not in key.secret_enc and key.direction == "in"
    assert secret not in client.get("/admin/gate-keys/").get_data(as_text=True)
    audit = db.session.execute(select(AuditLog).where(AuditLog.action == "gate_key.create")).scalar_one()
    assert secret not in str(audit.details)
    client.post("/admin/logout", data={})
    reader = signed_in(auditor)
    assert reader.post("/admin/parking-lots/new/", data={"name": "x"}).status_code in (302, 403)
    assert db.session.execute(select(ParkingLot).where(ParkingLot.name == "x")).first() is None


def test_demo_seeds_once(app):
    from sqlalchemy import func

    from app.demo import seed_demo
    from models.parking import GateEvent, LotOccupancy, ParkingDraw, ParkingReservation, Vehicle

    seed_demo()
    assert db.session.execute(select(func.count()).select_from(ParkingLot)).scalar() == 2
    assert db.session.execute(select(func.count()).select_from(Vehicle)).scalar() == 6
    assert db.session.execute(select(func.count()).select_from(GateEvent)).scalar() == 7 * 13
    states = dict(db.session.execute(select(ParkingReservation.status, func.count())
                                     .group_by(ParkingReservation.status)).all())
    assert states.get("reserved") == 4 and states.get("waitlisted") == 2, states
    assert db.session.execute(select(func.count()).select_from(ParkingDraw)).scalar() >= 2
    assert db.session.execute(select(LotOccupancy.occupied)).scalars().all() == [0]
    seed_demo()
    assert db.session.execute(select(func.count()).select_from(GateEvent)).scalar() == 7 * 13

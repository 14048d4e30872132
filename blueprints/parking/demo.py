"""Demo data for parking, after the places demo made the car parks (ZL-B1-P underground, an
open lot; ZH-P surface, a reservation lot): capacities per kind, a gate key per lot (secret
in the log once, for trying the gate API), staff vehicles (ordinary, new-energy, one EV),
a week of gate events (occupancy and usage have figures), tomorrow's applications for the
surface lot with its draw run, and a guard's occupancy correction. Adds nothing when lots
exist already."""

from __future__ import annotations

import logging
import secrets
from datetime import datetime, time, timedelta

from sqlalchemy import select

from app import crypto
from app.auth import Principal
from app.extensions import db
from app.timeutil import SHANGHAI, local, utcnow
from blueprints.parking import gate as gates
from blueprints.parking import lots, reservations, vehicles
from blueprints.parking.rules import GATE_SECRET_PURPOSE
from models import User
from models.parking import GateKey, ParkingLot
from models.places import Place

log = logging.getLogger(__name__)

LOTS = {
    "ZL-B1-P": {"name": "主楼地下停车场", "mode": "open", "staff_capacity": 60, "visitor_capacity": 10,
                "ev_capacity": 6, "accessible_capacity": 2},
    "ZH-P": {"name": "综合楼地面停车场", "mode": "reservation", "staff_capacity": 3, "visitor_capacity": 4,
             "ev_capacity": 1, "accessible_capacity": 1},
}
# employee number: (plate, is_ev)
CARS = {"E1001": ("京A12345", False), "E1002": ("京AD12345", True), "E1003": ("京B8H9K2", False),
        "E1004": ("京A66666", False), "E1005": ("京C12345", False), "E1006": ("京AF23456", True)}


def seed() -> None:
    if db.session.execute(select(ParkingLot.id)).first() is not None:
        return
    places = {p.code: p for p in db.session.execute(select(Place).where(Place.code.in_(list(LOTS)))).scalars()}
    if len(places) != len(LOTS):
        return
    made = {}
    for code, values in LOTS.items():
        lot = ParkingLot(place_id=places[code].id, **values)
        db.session.add(lot)
        db.session.flush()
        secret = secrets.token_urlsafe(32)
        db.session.add(GateKey(lot_id=lot.id, key_id=f"demo-{code.lower()}", name=f"{values['name']}入口",
                               secret_enc=crypto.encrypt(secret, GATE_SECRET_PURPOSE)))
        log.info("demo gate key for %s: key id demo-%s (secret shown in the panel's 道闸密钥 only when created)",
                 values["name"], code.lower())
        made[code] = lot
    db.session.flush()
    people = {u.employee_no: u for u in db.session.execute(select(User).where(User.employee_no.in_(list(CARS))))
              .scalars()}
    cars = {}
    for number, (plate, ev) in CARS.items():
        if number in people:
            principal = Principal.for_user(people[number])
            cars[number] = vehicles.add_vehicle(principal, {"plate": plate, "is_ev": ev}, max_vehicles=3)
    db.session.commit()

    # a week of entries and exits at the open lot (recorded as a gate sent them)
    gate = db.session.execute(select(GateKey).where(GateKey.lot_id == made["ZL-B1-P"].id)).scalar_one()
    today = local(utcnow()).date()
    n = 0
    for back in range(7, 0, -1):
        day = today - timedelta(days=back)
        for i, (plate, _) in enumerate(CARS.values()):
            arrive = datetime.combine(day, time(8, 10 + 7 * i), SHANGHAI)
            for direction, at in (("in", arrive), ("out", arrive + timedelta(hours=9, minutes=i * 5))):
                n += 1
                gates.record_event(gate, {"event_id": f"demo-{n}", "plate": plate, "direction": direction,
                                          "occurred_at": at, "offline": False})
        gates.record_event(gate, {"event_id": f"demo-x{back}", "plate": "沪B99999", "direction": "in",
                                  "occurred_at": datetime.combine(day, time(10), SHANGHAI), "offline": False})
    db.session.commit()
    guard = db.session.execute(select(User).where(User.employee_no == "C4001")).scalar_one_or_none()
    if guard is not None:
        lots.correct(Principal.for_user(guard), made["ZL-B1-P"].id, 0, "夜班清点：场内无车")
        db.session.commit()

    # tomorrow at the surface lot: five applications for three staff spaces and one EV space, drawn
    tomorrow = today + timedelta(days=1)
    before_draw = datetime.combine(today, time(9), SHANGHAI)
    for number, vehicle in cars.items():
        kind = "ev" if vehicle.is_ev else "staff"
        reservations.apply(Principal.for_user(people[number]), {"lot_id": made["ZH-P"].id, "vehicle_id": vehicle.id,
                                                               "day": tomorrow, "period": "day", "kind": kind},
                           now=before_draw)
    db.session.commit()
    for kind in reservations.STAFF_KINDS:
        reservations.run_draw(made["ZH-P"].id, tomorrow, kind)
    db.session.commit()

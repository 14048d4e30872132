"""Reservations of a scarce lot: applications, the draw (reproducible from its stored seed),
the waitlist, cancellations, first come after the draw, no-shows, refusals, and several
processes applying for the last spaces at once."""

from __future__ import annotations

from datetime import datetime, time, timedelta

import pytest
from sqlalchemy import select

from app.extensions import db
from app.timeutil import SHANGHAI, local, utcnow
from blueprints.parking import reservations
from blueprints.parking.rules import Applicant, draw
from models.parking import ParkingDraw, ParkingReservation, Vehicle, WhitelistChange
from tests.parking.test_gate import make_gate
from tests.rooms.booking_helpers import post_worker
from tests.support.procs import run_at_once

API = "/api/v1/parking/reservations"
DAY = datetime(2030, 6, 4).date()                       # a Tuesday
BEFORE_DRAW = datetime(2030, 6, 3, 10, tzinfo=SHANGHAI)  # the draw is at 18:00 the day before
AFTER_DRAW = datetime(2030, 6, 3, 19, tzinfo=SHANGHAI)


@pytest.fixture
def clock(monkeypatch):
    def set_clock(moment):
        monkeypatch.setattr(reservations, "clock", lambda: moment)
    set_clock(BEFORE_DRAW)
    return set_clock


def driver(make, *, ev: bool = False, plate: str | None = None):
    user = make.user()
    vehicle = Vehicle(user_id=user.id, plate=plate or f"京A{user.id % 100000:05d}", plate_kind="ordinary", is_ev=ev)
    db.session.add(vehicle)
    db.session.commit()
    return user, vehicle


def apply(client, make, user, vehicle, lot, day=DAY, **extra):
    return client.post(API, json={"lot_id": lot.id, "vehicle_id": vehicle.id, "day": day.isoformat(), **extra},
                       headers=make.headers(user))


def statuses(ids):
    db.session.expire_all()
    return [db.session.get(ParkingReservation, i).status for i in ids]


def test_draw_grants_in_drawn_order_and_can_be_rerun(app, client, make, clock):
    gate = make_gate(client, mode="reservation", staff_capacity=2)
    people = [driver(make) for _ in range(5)]
    ids = []
    for user, vehicle in people:
        resp = apply(client, make, user, vehicle, gate.lot)
        assert resp.status_code == 201, resp.get_json()
        assert (resp.get_json()["status"], resp.get_json()["period_label"]) == ("applied", "全天")
        ids.append(resp.get_json()["id"])
    record = reservations.run_draw(gate.lot.id, DAY, "staff", seed="5eed")
    db.session.commit()
    assert reservations.run_draw(gate.lot.id, DAY, "staff") is None  # once only
    assert len(record.result["winners"]) == 2 and len(record.result["waitlist"]) == 3
    rerun = draw(record.seed, [Applicant(a["reservation_id"], a["user_id"], a["weight"]) for a in record.applicants],
                 len(record.applicants))
    assert rerun["winners"] == record.result["order"]
    by_id = dict(zip(ids, statuses(ids), strict=True))
    assert sorted(i for i, s in by_id.items() if s == "reserved") == sorted(record.result["winners"])
    ranks = {r.id: r.waitlist_rank for r in db.session.execute(select(ParkingReservation)).scalars()}
    assert [ranks[i] for i in record.result["waitlist"]] == [1, 2, 3]
    allowed = db.session.execute(select(WhitelistChange.source).where(WhitelistChange.action == "allow")).scalars()
    assert sorted(allowed) == sorted(f"reservation:{i}" for i in record.result["winners"])

    # every applicant sees the whole draw, their own marked, nobody's identity
    loser = record.result["waitlist"][0]
    owner = people[ids.index(loser)][0]
    shown = client.get(f"{API}/{loser}/draw", headers=make.headers(owner)).get_json()
    assert shown["seed"] == "5eed" and shown["order"] == record.result["order"]
    assert [a["reservation_id"] for a in shown["applicants"] if a["mine"]] == [loser]
    assert all("user_id" not in a for a in shown["applicants"])
    assert client.get(f"{API}/{loser}/draw", headers=make.headers(make.user())).status_code == 404

    # a winner cancels: the first of the waitlist gets the space
    winner = record.result["winners"][0]
    resp = client.post(f"{API}/{winner}/cancel", headers=make.headers(people[ids.index(winner)][0]))
    assert resp.status_code == 200 and resp.get_json()["status"] == "cancelled"
    assert statuses([loser, record.result["waitlist"][1]]) == ["reserved", "waitlisted"]


def test_after_the_draw_first_come_then_waitlist(app, client, make, clock):
    gate = make_gate(client, mode="reservation", staff_capacity=1)
    clock(AFTER_DRAW)
    first, second = driver(make), driver(make)
    assert apply(client, make, *first, gate.lot).get_json()["status"] == "reserved"
    late = apply(client, make, *second, gate.lot).get_json()
    assert (late["status"], late["waitlist_rank"]) == ("waitlisted", 1)
    # half days: the morning is taken, an afternoon fits... for a second space only
    third = driver(make)
    assert apply(client, make, *third, gate.lot, period="pm").get_json()["status"] == "waitlisted"


def test_weights(app, client, make, clock):
    gate = make_gate(client, mode="reservation", staff_capacity=5, ev_capacity=1)
    user, vehicle = driver(make, ev=True)
    earlier = ParkingReservation(lot_id=gate.lot.id, user_id=user.id, vehicle_id=vehicle.id, plate=vehicle.plate,
                                 kind="staff", day=DAY - timedelta(days=3), period="day",
                                 starts_at=datetime.combine(DAY - timedelta(days=3), time(7), SHANGHAI),
                                 ends_at=datetime.combine(DAY - timedelta(days=3), time(20), SHANGHAI),
                                 status="completed")
    db.session.add(earlier)
    db.session.commit()
    resp = apply(client, make, user, vehicle, gate.lot, kind="ev")
    assert resp.status_code == 201, resp.get_json()
    record = reservations.run_draw(gate.lot.id, DAY, "ev", seed="ab")
    db.session.commit()
    assert [(a["weight"], a["reasons"]) for a in record.applicants] == \
        [(1.0, ["近期中签 1 次", "新能源车申请充电车位"])]


def test_refusals(app, client, make, clock):
    gate = make_gate(client, mode="reservation")
    open_gate = make_gate(client)
    user, vehicle = driver(make)
    other_user, other_vehicle = driver(make)

    def code(resp):
        return resp.status_code, resp.get_json().get("code")
    assert code(apply(client, make, user, vehicle, open_gate.lot)) == (422, "PARKING_NOT_RESERVABLE")
    assert code(apply(client, make, user, vehicle, gate.lot, day=DAY - timedelta(days=2))) == \
        (422, "PARKING_DAY_INVALID")
    assert code(apply(client, make, user, vehicle, gate.lot, day=DAY + timedelta(days=30))) == \
        (422, "PARKING_DAY_INVALID")
    assert code(apply(client, make, user, vehicle, gate.lot, kind="ev")) == (422, "PARKING_KIND_NOT_ALLOWED")
    assert code(apply(client, make, user, vehicle, gate.lot, kind="visitor"))[0] == 422
    assert code(apply(client, make, user, other_vehicle, gate.lot)) == (404, "NOT_FOUND")
    assert apply(client, make, user, vehicle, gate.lot, period="am").status_code == 201
    assert code(apply(client, make, user, vehicle, gate.lot)) == (409, "PARKING_RESERVATION_EXISTS")
    assert apply(client, make, user, vehicle, gate.lot, period="pm").status_code == 201
    missing = client.post(API, json={"lot_id": 999999, "vehicle_id": vehicle.id, "day": DAY.isoformat()},
                          headers=make.headers(user))
    assert code(missing) == (404, "PARKING_LOT_NOT_FOUND")
    assert client.post(API, json={"lot_id": gate.lot.id}, headers=make.headers(user)).status_code == 422


def test_no_show_frees_the_space_for_the_waitlist(app, client, make, clock):
    gate = make_gate(client, mode="reservation", staff_capacity=1)
    clock(AFTER_DRAW)
    holder = apply(client, make, *driver(make), gate.lot).get_json()
    waiting = apply(client, make, *driver(make), gate.lot).get_json()
    clock(datetime(2030, 6, 4, 7, 20, tzinfo=SHANGHAI))
    assert reservations.mark_no_shows() == 0  # 07:00 + 30 min grace not over yet
    clock(datetime(2030, 6, 4, 7, 31, tzinfo=SHANGHAI))
    assert reservations.mark_no_shows() == 1
    assert reservations.mark_no_shows() == 0  # the promoted one has its own grace from now
    assert statuses([holder["id"], waiting["id"]]) == ["no_show", "reserved"]
    clock(datetime(2030, 6, 4, 8, 2, tzinfo=SHANGHAI))
    assert reservations.mark_no_shows() == 1


def test_several_processes_for_the_last_spaces(app, client, make):
    gate = make_gate(client, mode="reservation", staff_capacity=2)
    gate.lot.draw_at = time(0, 0)  # tomorrow's draw time (today 00:00) has passed: first come
    db.session.commit()
    day = local(utcnow()).date() + timedelta(days=1)
    people = [driver(make) for _ in range(6)]
    calls = [(make.token(u), "/parking/reservations", {"lot_id": gate.lot.id, "vehicle_id": v.id,
                                                        "day": day.isoformat()}) for u, v in people]
    outcomes = run_at_once(post_worker, calls)
    assert sorted(status for status, _ in outcomes) == [201] * 6, outcomes
    held = db.session.execute(select(ParkingReservation.status).where(ParkingReservation.day == day)).scalars().all()
    assert sorted(held) == ["reserved", "reserved", "waitlisted", "waitlisted", "waitlisted", "waitlisted"]
    assert db.session.execute(select(ParkingDraw)).first() is None


def test_numbered_spaces_are_assigned_and_reused(app, client, make, clock):
    from models.parking import ParkingSpace

    gate = make_gate(client, mode="reservation", staff_capacity=2)
    db.session.add_all([ParkingSpace(lot_id=gate.lot.id, number=n, kind="staff") for n in ("B-02", "B-01")])
    db.session.add(ParkingSpace(lot_id=gate.lot.id, number="EV-1", kind="ev"))
    db.session.commit()
    clock(AFTER_DRAW)
    first = apply(client, make, *driver(make), gate.lot).get_json()
    second = apply(client, make, *driver(make), gate.lot).get_json()
    third_user, third_vehicle = driver(make)
    third = apply(client, make, third_user, third_vehicle, gate.lot).get_json()
    assert [(r["status"], r["space_number"]) for r in (first, second, third)] == \
        [("reserved", "B-01"), ("reserved", "B-02"), ("waitlisted", None)]
    owner = db.session.get(ParkingReservation, first["id"]).user
    client.post(f"{API}/{first['id']}/cancel", headers=make.headers(owner))
    promoted = client.get(f"{API}/{third['id']}", headers=make.headers(third_user)).get_json()
    assert (promoted["status"], promoted["space_number"]) == ("reserved", "B-01")

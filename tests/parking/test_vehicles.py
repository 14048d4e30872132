"""Staff vehicles: registration, one active owner per plate, the per-person limit, removal,
the whitelist log, disabling a user."""

from __future__ import annotations

from sqlalchemy import select

from app.extensions import db
from blueprints.identity.service import disable_user
from models.parking import Vehicle, WhitelistChange
from tests.rooms.booking_helpers import post_worker
from tests.support.procs import run_at_once

API = "/api/v1/parking/vehicles"


def _whitelist() -> list[tuple[str, str, str]]:
    return [(w.plate, w.action, w.source) for w in
            db.session.execute(select(WhitelistChange).order_by(WhitelistChange.id)).scalars()]


def test_register_list_and_remove(app, client, make):
    owner = make.user()
    headers = make.headers(owner)
    resp = client.post(API, json={"plate": "京a·12345"}, headers=headers)
    assert resp.status_code == 201, resp.get_json()
    car = resp.get_json()
    assert (car["plate"], car["plate_kind"], car["plate_kind_label"], car["is_ev"]) == \
        ("京A12345", "ordinary", "普通车牌", False)
    ev = client.post(API, json={"plate": "粤BD12345", "is_ev": True}, headers=headers).get_json()
    assert ev["plate_kind"] == "new_energy" and ev["is_ev"] is True
    assert [v["plate"] for v in client.get(API, headers=headers).get_json()] == ["京A12345", "粤BD12345"]
    assert client.get(API, headers=make.headers(make.user())).get_json() == []
    admin = make.headers(make.user("admin"))
    assert len(client.get(API, query_string={"user_id": owner.id}, headers=admin).get_json()) == 2
    # another member of staff passing user_id still sees only their own
    assert client.get(API, query_string={"user_id": owner.id}, headers=make.headers(make.user())).get_json() == []

    assert client.delete(f"{API}/{car['id']}", headers=headers).status_code == 204
    assert client.delete(f"{API}/{car['id']}", headers=headers).status_code == 404  # gone already
    assert [v["plate"] for v in client.get(API, headers=headers).get_json()] == ["粤BD12345"]
    assert _whitelist() == [("京A12345", "allow", f"vehicle:{car['id']}"),
                            ("粤BD12345", "allow", f"vehicle:{ev['id']}"),
                            ("京A12345", "revoke", f"vehicle:{car['id']}")]
    # the plate is free again
    assert client.post(API, json={"plate": "京A12345"}, headers=make.headers(make.user())).status_code == 201


def test_refusals(app, client, make):
    owner, other = make.user(), make.user()
    headers = make.headers(owner)
    for bad in ("", "京A1234", "ABC", "京A1234O", "x" * 20):
        resp = client.post(API, json={"plate": bad}, headers=headers)
        assert resp.status_code == 422 and resp.get_json()["code"] in ("PARKING_PLATE_INVALID", "VALIDATION_ERROR"), bad
    assert client.post(API, json={"plate": "京A11111"}, headers=headers).status_code == 201
    mine = client.post(API, json={"plate": "京A 11111"}, headers=headers)
    assert mine.status_code == 409 and mine.get_json()["code"] == "PARKING_PLATE_TAKEN"
    assert mine.get_json()["details"] == {"mine": True}
    theirs = client.post(API, json={"plate": "京A11111"}, headers=make.headers(other))
    assert theirs.status_code == 409 and theirs.get_json()["details"] == {"mine": False}
    for plate in ("京A22222", "京A33333"):
        assert client.post(API, json={"plate": plate}, headers=headers).status_code == 201
    over = client.post(API, json={"plate": "京A44444"}, headers=headers)
    assert over.status_code == 409 and over.get_json()["code"] == "PARKING_VEHICLE_LIMIT"
    assert over.get_json()["details"] == {"max_vehicles": app.config["PARKING_MAX_VEHICLES"]}
    visitor = client.post(API, json={"plate": "京A55555"}, headers=make.headers(make.user(kind="visitor")))
    assert visitor.status_code == 403
    assert len(db.session.execute(select(Vehicle).where(Vehicle.user_id == owner.id)).scalars().all()) == 3


def test_disabling_a_user_removes_their_vehicles(app, client, make):
    owner = make.user()
    client.post(API, json={"plate": "沪B8H9K2"}, headers=make.headers(owner))
    disable_user(make.user("admin"), owner, "离职")
    db.session.commit()
    assert db.session.execute(select(Vehicle.is_active).where(Vehicle.user_id == owner.id)).scalar() is False
    assert [(p, a) for p, a, _ in _whitelist()] == [("沪B8H9K2", "allow"), ("沪B8H9K2", "revoke")]


def test_two_processes_one_plate_one_owner(app, make):
    users = [make.user() for _ in range(4)]
    outcomes = run_at_once(post_worker, [(make.token(u), "/parking/vehicles", {"plate": "京A99999"}) for u in users])
    assert sorted(status for status, _ in outcomes) == [201, 409, 409, 409], outcomes
    assert {code for status, code in outcomes if status == 409} == {"PARKING_PLATE_TAKEN"}
    assert len(db.session.execute(select(Vehicle).where(Vehicle.plate == "京A99999", Vehicle.is_active))
               .scalars().all()) == 1


def test_one_person_at_once_stays_within_the_limit(app, make):
    owner = make.user()
    token = make.token(owner)
    plates = ["京A10001", "京A10002", "京A10003", "京A10004", "京A10005"]
    outcomes = run_at_once(post_worker, [(token, "/parking/vehicles", {"plate": p}) for p in plates])
    assert sorted(status for status, _ in outcomes) == [201, 201, 201, 409, 409], outcomes
    active = db.session.execute(select(Vehicle).where(Vehicle.user_id == owner.id, Vehicle.is_active)).scalars().all()
    assert len(active) == app.config["PARKING_MAX_VEHICLES"] == 3

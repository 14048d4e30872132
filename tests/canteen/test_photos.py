"""Photos of records that are not orders: a dish's photo is public (menus are), a waste
weighing's photo is seen by whoever reads the canteen's figures."""

from __future__ import annotations

from datetime import date

from tests.attachments.helpers import image_bytes, upload

API = "/api/v1"


def _upload(client, headers, purpose: str, color=(30, 90, 150)) -> int:
    resp = upload(client, headers, image_bytes(color=color), purpose=purpose)
    assert resp.status_code == 201, resp.get_json()
    return resp.get_json()["id"]


def test_a_dish_photo_is_bound_to_the_dish_and_seen_by_every_user(client, kitchen, make):
    manager = make.headers(kitchen.manager)
    photo = _upload(client, manager, "dish")
    stranger = make.headers(make.user())
    assert client.get(f"{API}/attachments/{photo}/thumbnail", headers=stranger).status_code == 404  # unbound

    resp = client.post(f"{API}/canteen/canteens/{kitchen.canteen.id}/dishes", headers=manager,
                       json={"name": "糖醋排骨", "category": "荤菜", "photo_id": photo})
    assert resp.status_code == 201, resp.get_json()
    assert resp.get_json()["photo"]["id"] == photo
    meta = client.get(f"{API}/attachments/{photo}/meta", headers=manager).get_json()
    assert meta["bound"] is True and meta["order_type"] == "dish" and meta["order_id"] == resp.get_json()["id"]
    assert client.get(f"{API}/attachments/{photo}/thumbnail", headers=stranger).status_code == 200


def test_a_dish_photo_must_be_the_operators_own_unbound_dish_upload(client, kitchen, make):
    manager = make.headers(kitchen.manager)
    url = f"{API}/canteen/canteens/{kitchen.canteen.id}/dishes"
    others = _upload(client, make.headers(make.user()), "dish")
    checkin_photo = _upload(client, manager, "checkin")
    for photo_id in (others, checkin_photo, 2_000_000):
        resp = client.post(url, headers=manager, json={"name": f"菜{photo_id}", "photo_id": photo_id})
        assert resp.status_code == 422 and resp.get_json()["code"] == "DISH_PHOTO_INVALID", resp.get_json()
    photo = _upload(client, manager, "dish")
    first = client.post(url, headers=manager, json={"name": "甲", "photo_id": photo})
    assert first.status_code == 201
    second = client.post(url, headers=manager, json={"name": "乙", "photo_id": photo})  # already bound
    assert second.status_code == 422 and second.get_json()["code"] == "DISH_PHOTO_INVALID"


def test_a_waste_photo_is_seen_by_the_canteens_operators_and_readers_only(client, kitchen, make):
    manager = make.headers(kitchen.manager)
    photo = _upload(client, manager, "waste")
    resp = client.post(f"{API}/canteen/waste", headers=manager, json={
        "slot_id": kitchen.lunch.id, "day": date(2026, 11, 2).isoformat(), "stage": "plate", "kg": 3.5,
        "photo_id": photo})
    assert resp.status_code == 201, resp.get_json()
    assert resp.get_json()["photo"]["id"] == photo
    worker, auditor = make.headers(kitchen.worker), make.headers(make.user("auditor"))
    for headers in (worker, auditor):
        assert client.get(f"{API}/attachments/{photo}", headers=headers).status_code == 200
    other_operator = make.user("canteen_manager", company=make.company("canteen_operator"))
    for headers in (make.headers(make.user()), make.headers(other_operator)):
        assert client.get(f"{API}/attachments/{photo}", headers=headers).status_code == 404

    foreign = _upload(client, make.headers(make.user()), "waste")
    resp = client.post(f"{API}/canteen/waste", headers=manager, json={
        "slot_id": kitchen.lunch.id, "day": "2026-11-02", "stage": "plate", "kg": 1, "photo_id": foreign})
    assert resp.status_code == 422 and resp.get_json()["code"] == "ATTACHMENT_INVALID"

"""Scenes of mini-program codes: the format (`<prefix>=<id>`), the registry later domains use,
and GET /api/v1/scenes/resolve (404 for what names nothing, 422 for what WeChat would never
hand over)."""

from __future__ import annotations

import pytest

from app.errors import AppError
from app.extensions import db
from blueprints.places import service
from miniapp_api import codes
from tests.places.helpers import API, tree


def error(resp, status: int, code: str) -> dict:
    body = resp.get_json()
    assert resp.status_code == status, body
    assert set(body) == {"code", "message", "details"} and body["code"] == code, body
    return body


# --- format and registry ---------------------------------------------------------------------

def test_place_scene_format(app):
    places = tree()
    scene = service.place_scene(places["r301"])
    assert scene == f"p={places['r301'].id}"
    assert codes.is_valid_scene(scene)
    entry, object_id = codes.parse_scene(scene)
    assert (entry.type, entry.prefix, object_id) == ("place", "p", places["r301"].id)
    assert codes.scene_types()["p"] == "place"
    # The longest id a place can have still fits WeChat's 32 characters with room to spare.
    assert len(codes.make_scene("place", 2**31 - 1)) == 12


def test_registry_keeps_prefixes_and_types_apart():
    def resolver(principal, object_id):
        return {"counter": {"id": object_id}}

    entry = codes.register_scene_type("ct", "test_counter", resolver)
    assert codes.register_scene_type("ct", "test_counter", resolver) == entry  # idempotent (module reloads)
    assert codes.make_scene("test_counter", 7) == "ct=7"
    with pytest.raises(ValueError, match="already registered"):
        codes.register_scene_type("p", "test_other", resolver)   # a prefix belongs to one type
    with pytest.raises(ValueError, match="already registered"):
        codes.register_scene_type("cx", "place", resolver)       # and a type to one prefix
    for bad in ("", "P", "toolong", "c1", "c="):
        with pytest.raises(ValueError):
            codes.register_scene_type(bad, "test_bad", resolver)
    with pytest.raises(KeyError):
        codes.make_scene("nothing", 1)
    for bad_id in (0, -1, 2**31, True, "1"):
        with pytest.raises(ValueError):
            codes.make_scene("test_counter", bad_id)


@pytest.mark.parametrize("scene", ["p=", "=1", "p=0", "p=01", "p=-1", "p=1.0", "P=1", "p=1&x=2", "pp=1",
                                   "p=2147483648", "p=99999999999", "zz=1", "p", "hello", "p==1"])
def test_malformed_or_unknown_scenes(scene):
    with pytest.raises(AppError) as exc:
        codes.parse_scene(scene)
    assert exc.value.code == "SCENE_NOT_FOUND"


@pytest.mark.parametrize(("scene", "valid"), [
    ("p=1", True), ("a" * 32, True), ("a" * 33, False), ("", False), ("p=1 ", False), ("p=中", False),
    ("p%3D1", False), ("!#$&'()*+,/:;=?@-._~", True), ("p=1\n", False),
])
def test_wechat_scene_rules(scene, valid):
    assert codes.is_valid_scene(scene) is valid


# --- resolve -------------------------------------------------------------------------------

def test_resolve_a_place(client, make):
    places = tree()
    for user in (make.user(), make.user(kind="visitor"), make.user("technician", company=make.company())):
        resp = client.get(f"{API}/scenes/resolve?scene=p={places['r301'].id}", headers=make.headers(user))
        assert resp.status_code == 200, resp.get_json()
        body = resp.get_json()
        assert body["type"] == "place" and body["id"] == places["r301"].id
        assert body["place"]["path"] == "行政中心主楼 / 3层 / 301会议室"
        assert body["place"]["kind"] == "room" and body["place"]["id"] == places["r301"].id


def test_resolve_accepts_a_still_encoded_scene(client, make):
    places = tree()
    h = make.headers(make.user())
    resp = client.get(f"{API}/scenes/resolve?scene=p%253D{places['hall'].id}", headers=h)  # "p%3D<id>" arrives
    assert resp.status_code == 200 and resp.get_json()["place"]["name"] == "大厅"


def test_retired_places_do_not_resolve(client, make):
    places = tree()
    places["f3"].is_active = False  # the floor: the room under it is out of use too
    db.session.commit()
    for user in (make.user(), make.user("admin")):
        h = make.headers(user)
        for place in (places["f3"], places["r301"]):
            error(client.get(f"{API}/scenes/resolve?scene=p={place.id}", headers=h), 404, "SCENE_NOT_FOUND")
    assert client.get(f"{API}/scenes/resolve?scene=p={places['f1'].id}", headers=h).status_code == 200


@pytest.mark.parametrize("scene", ["p=999999", "p=0", "q=1", "hello", "p=1=2", "p=99999999999999", "~", "p=01"])
def test_unknown_or_malformed_scenes_are_404(client, make, scene):
    tree()
    resp = client.get(f"{API}/scenes/resolve", query_string={"scene": scene}, headers=make.headers(make.user()))
    error(resp, 404, "SCENE_NOT_FOUND")


@pytest.mark.parametrize("scene", ["", "a" * 33, "p=1 ", "场景=1", "p=1%", "p=1\n", "p=%E4%B8%AD"])
def test_invalid_scene_strings_are_422(client, make, scene):
    resp = client.get(f"{API}/scenes/resolve", query_string={"scene": scene}, headers=make.headers(make.user()))
    body = error(resp, 422, "VALIDATION_ERROR")
    assert "scene" in body["details"]["fields"]["query"]


def test_resolve_needs_a_scene_and_a_sign_in(client, make):
    error(client.get(f"{API}/scenes/resolve", headers=make.headers(make.user())), 422, "VALIDATION_ERROR")
    error(client.get(f"{API}/scenes/resolve?scene=p=1"), 401, "AUTH_REQUIRED")


def test_other_domains_answer_through_the_registry(client, make):
    """A later domain (a canteen counter, say) registers its prefix; resolve hands its payload on."""
    seen = []

    def resolve_counter(principal, object_id):
        seen.append((principal.user_id, object_id))
        return {"counter": {"id": object_id, "name": "一号窗口"}} if object_id == 5 else None

    codes.register_scene_type("tc", "test_canteen_counter", resolve_counter)
    user = make.user()
    h = make.headers(user)
    body = client.get(f"{API}/scenes/resolve?scene=tc=5", headers=h).get_json()
    assert body == {"type": "test_canteen_counter", "id": 5, "counter": {"id": 5, "name": "一号窗口"}}
    error(client.get(f"{API}/scenes/resolve?scene=tc=6", headers=h), 404, "SCENE_NOT_FOUND")
    assert seen == [(user.id, 5), (user.id, 6)]

"""The tree of places through the API: who sees what, the hierarchy rules (database and
service), names unique among siblings, paths, audit, and bad input as 4xx."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app.extensions import db
from models import AuditLog, Place
from tests.places.helpers import API, make_place, tree


@pytest.fixture
def admin_h(make):
    return make.headers(make.user("admin", "staff"))


@pytest.fixture
def staff_h(make):
    return make.headers(make.user())


def error(resp, status: int, code: str) -> dict:
    body = resp.get_json()
    assert resp.status_code == status, body
    assert set(body) == {"code", "message", "details"} and body["code"] == code, body
    return body


# --- reading ---------------------------------------------------------------------------------

def test_get_one_has_path_and_ancestors(client, staff_h):
    places = tree()
    body = client.get(f"{API}/places/{places['r301'].id}", headers=staff_h).get_json()
    assert body["path"] == "行政中心主楼 / 3层 / 301会议室"
    assert body["kind"] == "room" and body["kind_label"] == "房间" and body["code"] == "ZL-301"
    assert body["parent_id"] == places["f3"].id
    assert [(a["kind"], a["name"]) for a in body["ancestors"]] == [("building", "行政中心主楼"), ("floor", "3层")]
    assert body["created_at"].endswith("+08:00")
    building = client.get(f"{API}/places/{places['main'].id}", headers=staff_h).get_json()
    assert building["path"] == "行政中心主楼" and building["ancestors"] == [] and building["parent_id"] is None


def test_list_is_depth_first_in_sort_order(client, staff_h):
    tree()
    items = client.get(f"{API}/places", headers=staff_h).get_json()
    assert [p["path"] for p in items] == [
        "行政中心主楼", "行政中心主楼 / 大厅", "行政中心主楼 / 1层", "行政中心主楼 / 3层",
        "行政中心主楼 / 3层 / 301会议室", "综合楼", "综合楼 / 1层", "综合楼 / 1层 / 职工食堂"]


def test_list_filters(client, staff_h):
    places = tree()
    rooms = client.get(f"{API}/places?kind=area", headers=staff_h).get_json()
    assert [p["path"] for p in rooms] == ["行政中心主楼 / 大厅", "综合楼 / 1层 / 职工食堂"]
    children = client.get(f"{API}/places?parent_id={places['main'].id}", headers=staff_h).get_json()
    assert [p["name"] for p in children] == ["大厅", "1层", "3层"]
    error(client.get(f"{API}/places?kind=castle", headers=staff_h), 422, "VALIDATION_ERROR")
    error(client.get(f"{API}/places?parent_id=abc", headers=staff_h), 422, "VALIDATION_ERROR")


def test_tree_is_nested(client, staff_h):
    tree()
    roots = client.get(f"{API}/places/tree", headers=staff_h).get_json()
    assert [r["name"] for r in roots] == ["行政中心主楼", "综合楼"]
    main = roots[0]
    assert [c["name"] for c in main["children"]] == ["大厅", "1层", "3层"]
    assert main["children"][2]["children"][0]["path"] == "行政中心主楼 / 3层 / 301会议室"
    assert main["children"][2]["children"][0]["children"] == []


def test_retired_places_are_hidden_from_staff_with_everything_below(client, make, staff_h):
    places = tree()
    places["f3"].is_active = False
    db.session.commit()
    auditor_h = make.headers(make.user("auditor"))
    paths = [p["path"] for p in client.get(f"{API}/places", headers=staff_h).get_json()]
    assert "行政中心主楼 / 3层" not in paths and "行政中心主楼 / 3层 / 301会议室" not in paths
    # Asking for retired places is an administrator's and auditor's privilege.
    paths = [p["path"] for p in client.get(f"{API}/places?include_inactive=true", headers=staff_h).get_json()]
    assert "行政中心主楼 / 3层" not in paths
    for pid in (places["f3"].id, places["r301"].id):
        error(client.get(f"{API}/places/{pid}", headers=staff_h), 404, "NOT_FOUND")
        assert client.get(f"{API}/places/{pid}", headers=auditor_h).status_code == 200
    listed = client.get(f"{API}/places?include_inactive=true", headers=auditor_h).get_json()
    assert {"行政中心主楼 / 3层", "行政中心主楼 / 3层 / 301会议室"} <= {p["path"] for p in listed}
    assert [p["is_active"] for p in listed if p["name"] == "3层"] == [False]
    default = [p["path"] for p in client.get(f"{API}/places", headers=auditor_h).get_json()]
    assert "行政中心主楼 / 3层" not in default
    nested = client.get(f"{API}/places/tree?include_inactive=1", headers=auditor_h).get_json()
    assert [c["name"] for c in nested[0]["children"]] == ["大厅", "1层", "3层"]


def test_signed_in_only(client):
    tree()
    for url in ("/places", "/places/tree", "/places/1"):
        error(client.get(API + url), 401, "AUTH_REQUIRED")


def test_visitors_see_places_too(client, make):
    places = tree()
    visitor_h = make.headers(make.user(kind="visitor"))
    assert client.get(f"{API}/places/{places['canteen'].id}", headers=visitor_h).status_code == 200


@pytest.mark.parametrize("place_id", [0, 999999, 2**31, 10**20])
def test_unknown_or_impossible_ids_are_404(client, staff_h, place_id):
    error(client.get(f"{API}/places/{place_id}", headers=staff_h), 404, "NOT_FOUND")


# --- writing ---------------------------------------------------------------------------------

def test_admin_builds_a_tree_and_every_change_is_audited(client, make):
    admin = make.user("admin")
    h = make.headers(admin)
    resp = client.post(f"{API}/places", headers=h, json={"kind": "building", "name": " 1号楼 ", "code": "B1"})
    assert resp.status_code == 201, resp.get_json()
    building = resp.get_json()
    assert building["name"] == "1号楼" and building["is_active"] is True and building["sort_order"] == 0
    floor = client.post(f"{API}/places", headers=h, json={"kind": "floor", "name": "3层",
                                                          "parent_id": building["id"], "sort_order": 3}).get_json()
    room = client.post(f"{API}/places", headers=h, json={"kind": "room", "name": "301会议室",
                                                         "parent_id": floor["id"]}).get_json()
    assert room["path"] == "1号楼 / 3层 / 301会议室"
    area = client.post(f"{API}/places", headers=h, json={"kind": "area", "name": "停车场",
                                                         "parent_id": building["id"]})
    assert area.status_code == 201 and area.get_json()["path"] == "1号楼 / 停车场"

    resp = client.put(f"{API}/places/{room['id']}", headers=h,
                      json={"kind": "room", "name": "301大会议室", "parent_id": floor["id"], "code": "B1-301"})
    assert resp.status_code == 200 and resp.get_json()["path"] == "1号楼 / 3层 / 301大会议室"

    rows = db.session.execute(select(AuditLog).order_by(AuditLog.id)).scalars().all()
    assert [r.action for r in rows] == ["place.create"] * 4 + ["place.update"]
    assert all(r.actor_id == admin.id and r.target_type == "place" for r in rows)
    assert rows[0].details == {"kind": "building", "name": "1号楼", "code": "B1", "parent_id": None,
                               "sort_order": 0, "is_active": True}
    assert rows[-1].target_id == str(room["id"])
    assert rows[-1].details == {"changed": {"name": "301大会议室", "code": "B1-301"}}
    # Saving without a change adds no entry.
    client.put(f"{API}/places/{room['id']}", headers=h,
               json={"kind": "room", "name": "301大会议室", "parent_id": floor["id"], "code": "B1-301"})
    assert db.session.execute(select(AuditLog).where(AuditLog.action == "place.update")).scalars().all() == rows[-1:]


def test_moving_a_room_changes_its_path(client, admin_h):
    places = tree()
    resp = client.put(f"{API}/places/{places['r301'].id}", headers=admin_h,
                      json={"kind": "room", "name": "301会议室", "parent_id": places["f1"].id})
    assert resp.get_json()["path"] == "行政中心主楼 / 1层 / 301会议室"


@pytest.mark.parametrize(("kind", "parent"), [
    ("building", "main"),      # a building has no parent
    ("floor", None),           # everything else needs one
    ("floor", "f3"),           # a floor's parent is a building
    ("floor", "r301"),
    ("room", None),
    ("room", "r301"),          # rooms and areas hold nothing
    ("area", "hall"),
])
def test_hierarchy_rules(client, admin_h, kind, parent):
    places = tree()
    body = {"kind": kind, "name": "新地点", "parent_id": places[parent].id if parent else None}
    err = error(client.post(f"{API}/places", headers=admin_h, json=body), 422, "PLACE_PARENT_INVALID")
    assert err["details"]["kind"] == kind
    assert db.session.execute(select(Place).where(Place.name == "新地点")).first() is None


def test_parent_must_exist(client, admin_h):
    body = {"kind": "floor", "name": "1层", "parent_id": 424242}
    err = error(client.post(f"{API}/places", headers=admin_h, json=body), 422, "VALIDATION_ERROR")
    assert "parent_id" in err["details"]["fields"]["json"]
    body["parent_id"] = 2**40
    error(client.post(f"{API}/places", headers=admin_h, json=body), 422, "VALIDATION_ERROR")


def test_kind_change_must_fit_the_children(client, admin_h):
    places = tree()
    # A floor holding a room cannot become a room; a building with floors cannot become a floor.
    err = error(client.put(f"{API}/places/{places['f3'].id}", headers=admin_h,
                           json={"kind": "room", "name": "3层", "parent_id": places["main"].id}),
                409, "PLACE_HAS_CHILDREN")
    assert err["details"]["child_kinds"] == ["room"]
    error(client.put(f"{API}/places/{places['annex'].id}", headers=admin_h,
                     json={"kind": "floor", "name": "综合楼", "parent_id": places["main"].id}),
          409, "PLACE_HAS_CHILDREN")
    # A floor may become a building (its rooms may sit under a building).
    resp = client.put(f"{API}/places/{places['f3'].id}", headers=admin_h, json={"kind": "building", "name": "3号楼"})
    assert resp.status_code == 200 and resp.get_json()["path"] == "3号楼"
    assert client.get(f"{API}/places/{places['r301'].id}", headers=admin_h).get_json()["path"] == "3号楼 / 301会议室"
    # Nothing can be its own parent.
    error(client.put(f"{API}/places/{places['f1'].id}", headers=admin_h,
                     json={"kind": "floor", "name": "1层", "parent_id": places["f1"].id}), 422, "PLACE_PARENT_INVALID")


def test_names_unique_among_siblings_and_codes_unique(client, admin_h):
    places = tree()
    err = error(client.post(f"{API}/places", headers=admin_h,
                            json={"kind": "floor", "name": "3层", "parent_id": places["main"].id}), 409, "CONFLICT")
    assert "name" in err["details"]["fields"]["json"]
    err = error(client.post(f"{API}/places", headers=admin_h, json={"kind": "building", "name": "综合楼"}),
                409, "CONFLICT")
    assert "name" in err["details"]["fields"]["json"]  # buildings are siblings too (NULLS NOT DISTINCT)
    err = error(client.post(f"{API}/places", headers=admin_h,
                            json={"kind": "floor", "name": "9层", "parent_id": places["main"].id, "code": "ZL-301"}),
                409, "CONFLICT")
    assert "code" in err["details"]["fields"]["json"]
    # The same name under another parent is fine.
    resp = client.post(f"{API}/places", headers=admin_h,
                       json={"kind": "floor", "name": "3层", "parent_id": places["annex"].id})
    assert resp.status_code == 201
    err = error(client.put(f"{API}/places/{places['f1'].id}", headers=admin_h,
                           json={"kind": "floor", "name": "3层", "parent_id": places["main"].id}), 409, "CONFLICT")
    db.session.expire_all()
    assert db.session.get(Place, places["f1"].id).name == "1层"
    assert db.session.execute(select(AuditLog).where(AuditLog.action == "place.update")).first() is None


@pytest.mark.parametrize("body", [
    {},
    {"kind": "building"},
    {"kind": "building", "name": ""},
    {"kind": "building", "name": "   "},
    {"kind": "building", "name": "x" * 101},
    {"kind": "castle", "name": "x"},
    {"kind": "building", "name": "x", "code": "有 空格"},
    {"kind": "building", "name": "x", "code": "c" * 33},
    {"kind": "building", "name": "x", "parent_id": "one"},
    {"kind": "building", "name": "x", "sort_order": 10**12},
    {"kind": "building", "name": "x", "is_active": "maybe"},
    {"kind": "building", "name": "x", "colour": "red"},
])
def test_bad_bodies_are_422(client, admin_h, body):
    error(client.post(f"{API}/places", headers=admin_h, json=body), 422, "VALIDATION_ERROR")
    assert db.session.execute(select(Place)).first() is None


def test_only_admins_write(client, make):
    places = tree()
    for user in (make.user(), make.user("auditor"), make.user(kind="visitor")):
        h = make.headers(user)
        error(client.post(f"{API}/places", headers=h, json={"kind": "building", "name": "新楼"}), 403, "FORBIDDEN")
        error(client.put(f"{API}/places/{places['main'].id}", headers=h, json={"kind": "building", "name": "改"}),
              403, "FORBIDDEN")
    db.session.expire_all()
    assert db.session.get(Place, places["main"].id).name == "行政中心主楼"


def test_database_refuses_what_the_service_would(app):
    """The constraints hold even for writes that bypass the service."""
    main = make_place("building", "主楼")
    bad = [
        Place(kind="floor", name="无上级"),                     # ck_place_root
        Place(kind="building", name="有上级", parent=main),     # ck_place_root
        Place(kind="tower", name="塔"),                         # ck_place_kind
        Place(kind="building", name="  "),                     # ck_place_name
        Place(kind="building", name="主楼"),                    # uq_place_parent_id_name (NULLS NOT DISTINCT)
    ]
    for place in bad:
        db.session.add(place)
        with pytest.raises(IntegrityError):
            db.session.flush()
        db.session.rollback()


def test_concurrent_creation_of_the_same_name_gives_one_place(server_urls, app, make):
    """Several administrators create the same building at once (each request its own app
    and connection): one 201, the rest 409 CONFLICT, never a 500 or a duplicate."""
    import threading

    from tests.conftest import make_test_app

    h = make.headers(make.user("admin"))
    results: list[int] = []
    barrier = threading.Barrier(4)

    def create():
        application = make_test_app(server_urls)
        with application.app_context():
            client = application.test_client()
            barrier.wait()
            resp = client.post(f"{API}/places", headers=h, json={"kind": "building", "name": "新楼"})
            results.append(resp.status_code)

    threads = [threading.Thread(target=create) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [201, 409, 409, 409]
    db.session.expire_all()
    assert len(db.session.execute(select(Place).where(Place.name == "新楼")).scalars().all()) == 1

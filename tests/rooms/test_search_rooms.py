"""The room list and one room (with photos), and a room's day view with its privacy."""

from __future__ import annotations

from datetime import time

from sqlalchemy import event

from app.auth import Principal
from app.extensions import db
from blueprints.attachments import service as attachments
from models.places import Place
from models.rooms import RoomBlackout, RoomBookingAttendee
from tests.attachments.helpers import image_bytes, upload
from tests.rooms.conftest import at, book, make_room

API = "/api/v1/rooms"


def room_photo(client, make, room, admin, n=0) -> int:
    resp = upload(client, make.headers(admin), image_bytes(color=(n, 90, 200)), purpose="room")
    assert resp.status_code == 201, resp.get_json()
    attachments.bind([resp.get_json()["id"]], Principal.for_user(admin), "room", room.id, "room")
    db.session.commit()
    return resp.get_json()["id"]


def test_list_and_detail_show_the_rules_place_and_photos(app, client, make):
    tower = Place(kind="building", name="综合楼", sort_order=1)
    db.session.add(tower)
    db.session.flush()
    office = make.department(name="办公室")
    room = make_room(make, building=tower, name="第一会议室", capacity=16, equipment=["projector", "microphones"],
                     opens_at=time(8, 30), closes_at=time(18, 0), buffer_minutes=10, approval="room",
                     description="带视频会议终端")
    room.departments.append(office)
    other = make_room(make, building=tower, name="第二会议室", capacity=8)
    retired = make_room(make, name="旧会议室", is_active=False)
    db.session.commit()
    admin = make.user("admin")
    photo = room_photo(client, make, room, admin)

    staff = make.user(department=make.department(name="财务处"))
    resp = client.get(API, headers=make.headers(staff))
    assert resp.status_code == 200, resp.get_json()
    listed = resp.get_json()
    assert [r["id"] for r in listed] == [room.id, other.id]  # by floor place, then name; the retired one not
    first = listed[0]
    assert first["building"] == {"id": tower.id, "name": "综合楼"}
    assert first["floor"]["name"] == room.place.parent.name
    assert first["location"] == f"综合楼 / {room.place.parent.name} / {room.place.name}"
    assert first["place_id"] == room.place_id
    assert (first["equipment"], first["equipment_labels"]) == (["projector", "microphones"], ["投影仪", "话筒"])
    assert (first["opens_at"], first["closes_at"], first["open_days"], first["open_days_label"]) == (
        "08:30", "18:00", "workdays", "工作日（按工作日历）")
    assert (first["min_minutes"], first["max_minutes"], first["advance_days"], first["buffer_minutes"]) == (
        30, 480, 30, 10)
    assert (first["approval"], first["approval_label"], first["checkin_required"]) == ("room", "会议室审批人审批", True)
    assert first["departments"] == [{"id": office.id, "name": "办公室"}]
    assert first["bookable"] is False and listed[1]["bookable"] is True
    assert [p["id"] for p in first["photos"]] == [photo] and listed[1]["photos"] == []
    assert first["photos"][0]["url"] == f"/api/v1/attachments/{photo}"
    # every signed-in user may see a room's photo
    assert client.get(first["photos"][0]["thumbnail_url"], headers=make.headers(staff)).status_code == 200

    assert [r["id"] for r in client.get(API, query_string={"capacity": 10, "equipment": "microphones"},
                                        headers=make.headers(staff)).get_json()] == [room.id]
    assert [r["id"] for r in client.get(API, query_string={"building_id": tower.id},
                                        headers=make.headers(make.user(department=office))).get_json()] == [
        room.id, other.id]

    detail = client.get(f"{API}/{room.id}", headers=make.headers(make.user(department=office)))
    assert detail.status_code == 200
    assert detail.get_json()["bookable"] is True and [p["id"] for p in detail.get_json()["photos"]] == [photo]
    for room_id in (retired.id, 999999, 2**31 - 1):
        resp = client.get(f"{API}/{room_id}", headers=make.headers(staff))
        assert resp.status_code == 404 and resp.get_json()["code"] == "ROOM_NOT_FOUND"


def test_lists_cost_the_same_queries_for_3_or_12_rooms(app, client, make, room_clock):
    room_clock(at(2030, 6, 3, 7))
    admin = make.user("admin")
    headers = make.headers(make.user())

    def statements() -> int:
        seen = []

        def count(*args):
            seen.append(1)
        event.listen(db.engine, "before_cursor_execute", count)
        try:
            assert client.get(API, headers=headers).status_code == 200
            assert client.get(f"{API}/available", headers=headers, query_string={
                "start_at": "2030-06-03T09:00:00+08:00", "end_at": "2030-06-03T10:00:00+08:00"}).status_code == 200
            body = client.get(f"{API}/available/next-hour", headers=headers).get_json()
            assert body["items"][0]["room"]["cover_thumbnail_url"] and body["items"][0]["room"]["building"]
        finally:
            event.remove(db.engine, "before_cursor_execute", count)
        return len(seen)

    for n in range(3):
        room_photo(client, make, make_room(make), admin, n)
    statements()  # the token is verified from the database once, then cached
    few = statements()
    for n in range(9):
        room_photo(client, make, make_room(make), admin, 10 + n)
    assert statements() == few


def test_day_view_privacy(app, client, make, room_clock):
    room_clock(at(2030, 6, 3, 7))
    finance = make.department(name="财务处")
    owner, secretary, attendee, stranger = (make.user(department=finance, name=n) for n in ("张处长", "李秘书",
                                                                                             "王科员", "赵干部"))
    room = make_room(make, buffer_minutes=10)
    mine = book(room, owner, at(2030, 6, 3, 9), at(2030, 6, 3, 10), subject="预算编制会", booked_by=secretary)
    db.session.add(RoomBookingAttendee(booking_id=mine.id, user_id=attendee.id))
    book(room, stranger, at(2030, 6, 3, 14), at(2030, 6, 3, 15), subject="他人的会", status="pending")
    book(room, stranger, at(2030, 6, 3, 16), at(2030, 6, 3, 17), status="cancelled")  # not shown
    book(room, stranger, at(2030, 6, 4, 9), at(2030, 6, 4, 10))  # another day
    db.session.add(RoomBlackout(room_id=room.id, starts_at=at(2030, 6, 3, 18), ends_at=at(2030, 6, 3, 20),
                                reason="设备检修"))
    db.session.commit()

    def view(user):
        resp = client.get(f"{API}/{room.id}/day", query_string={"date": "2030-06-03"}, headers=make.headers(user))
        assert resp.status_code == 200, resp.get_json()
        return resp.get_json()

    body = view(stranger)
    assert body["date"] == "2030-06-03" and body["open"] is True
    assert body["windows"] == [{"day": "2030-06-03", "starts_at": "2030-06-03T08:00:00+08:00",
                                "ends_at": "2030-06-03T21:00:00+08:00", "open": True}]
    assert body["blackouts"] == [{"starts_at": "2030-06-03T18:00:00+08:00", "ends_at": "2030-06-03T20:00:00+08:00",
                                  "reason": "设备检修", "all_rooms": False}]
    first, second = body["bookings"]
    assert first == {"start_at": "2030-06-03T09:00:00+08:00", "end_at": "2030-06-03T10:00:00+08:00",
                     "blocked_until": "2030-06-03T10:10:00+08:00", "status": "approved", "status_label": "已预订",
                     "department": "财务处", "details_visible": False}
    assert "预算编制会" not in str(body) and "张处长" not in str(body)
    assert second["details_visible"] and second["mine"] and second["subject"] == "他人的会"

    for user, is_mine in ((owner, True), (secretary, True), (attendee, False), (make.user("admin"), False),
                          (make.user("auditor"), False)):
        first = view(user)["bookings"][0]
        assert (first["id"], first["subject"], first["organiser"], first["mine"]) == (
            mine.id, "预算编制会", "张处长", is_mine), user.name


def test_a_booking_across_midnight_shows_on_both_days(app, client, make, room_clock):
    room_clock(at(2030, 6, 3, 7))
    night = make_room(make, opens_at=time(18, 0), closes_at=time(2, 0), open_days="workdays")
    booking = book(night, make.user(), at(2030, 6, 7, 23), at(2030, 6, 8, 1, 30))  # Friday night into Saturday
    headers = make.headers(make.user())

    def view(day):
        return client.get(f"{API}/{night.id}/day", query_string={"date": day}, headers=headers).get_json()

    friday, saturday = view("2030-06-07"), view("2030-06-08")
    for body in (friday, saturday):
        assert [(b["start_at"], b["end_at"]) for b in body["bookings"]] == [
            ("2030-06-07T23:00:00+08:00", "2030-06-08T01:30:00+08:00")]
    assert booking.id  # the same booking on both days
    # Friday's window runs past midnight; Saturday is closed, its own window shown as closed
    assert friday["open"] is True
    assert [(w["day"], w["open"]) for w in friday["windows"]] == [("2030-06-06", True), ("2030-06-07", True)]
    assert saturday["open"] is False
    assert saturday["windows"] == [
        {"day": "2030-06-07", "starts_at": "2030-06-07T18:00:00+08:00", "ends_at": "2030-06-08T02:00:00+08:00",
         "open": True},
        {"day": "2030-06-08", "starts_at": "2030-06-08T18:00:00+08:00", "ends_at": "2030-06-09T02:00:00+08:00",
         "open": False}]
    assert view("2030-06-09")["bookings"] == []


def test_day_view_bad_input(app, client, make, room):
    headers = make.headers(make.user())
    for query in ({}, {"date": "2030-13-01"}, {"date": "0001-01-01"}, {"date": "tomorrow"}):
        resp = client.get(f"{API}/{room.id}/day", query_string=query, headers=headers)
        assert resp.status_code == 422 and resp.get_json()["code"] == "VALIDATION_ERROR", query
    room.is_active = False
    db.session.commit()
    resp = client.get(f"{API}/{room.id}/day", query_string={"date": "2030-06-03"}, headers=headers)
    assert resp.status_code == 404 and resp.get_json()["code"] == "ROOM_NOT_FOUND"

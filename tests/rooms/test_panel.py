"""会议室管理 in the admin panel, and the rooms demo data."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select, text

from app.extensions import db
from models.rooms import Room, RoomBooking, RoomService, RoomWaitlist
from tests.rooms.conftest import at, book, make_room
from tests.support.admin import PASSWORD, admin_user, auditor, signed_in  # noqa: F401

PAGES = ["rooms", "room-blackouts", "room-quotas", "room-approvals", "room-bookings", "room-services",
         "room-suspensions", "room-delegations", "room-utilisation"]


@pytest.fixture(autouse=True)
def _clock(room_clock):
    room_clock(at(2030, 6, 3, 8))


def test_every_page_renders_for_admins_and_auditors(make, signed_in, admin_user, auditor):  # noqa: F811
    room = make_room(make)
    book(room, make.user(), at(2030, 6, 3, 9), at(2030, 6, 3, 10))
    for user in (admin_user, auditor):
        client = signed_in(user)
        for page in PAGES:
            resp = client.get(f"/admin/{page}/")
            expected = 403 if (user is auditor and page == "room-approvals") else 200  # deciding is not reading
            assert resp.status_code == expected, (page, resp.status_code)
        client.post("/admin/logout", data={})
    assert "测试会议" in signed_in(admin_user).get("/admin/room-bookings/").get_data(as_text=True)


def test_utilisation_page_shows_figures_and_refuses_a_bad_period(make, signed_in, admin_user):  # noqa: F811
    room = make_room(make)
    book(room, make.user(), at(2030, 5, 6, 9), at(2030, 5, 6, 10), status="finished",
         checked_in_at=at(2030, 5, 6, 9), finished_at=at(2030, 5, 6, 10))
    client = signed_in(admin_user)
    resp = client.get("/admin/room-utilisation/?date_from=2030-05-06&date_to=2030-05-06")
    assert resp.status_code == 200 and room.name in resp.get_data(as_text=True)
    assert client.get("/admin/room-utilisation/?date_from=2030-05-06&date_to=2029-05-06").status_code == 422
    assert client.get("/admin/room-utilisation/?date_from=nonsense&date_to=2029-05-06").status_code == 400


def test_move_and_cancel_from_the_panel(make, signed_in, admin_user, auditor):  # noqa: F811
    room, other_room = make_room(make, capacity=20), make_room(make, capacity=20)
    organiser = make.user()
    booking = book(room, organiser, at(2030, 6, 3, 9), at(2030, 6, 3, 10))
    page = signed_in(admin_user).get(f"/admin/room-bookings/move/?id={booking.id}").get_data(as_text=True)
    assert other_room.name in page  # offered as a free alternative
    client = signed_in(admin_user)
    bad = client.post(f"/admin/room-bookings/move/?id={booking.id}", data={
        "room_id": other_room.id, "start_at": "not a time", "end_at": "2030-06-03T11:00", "reason": "x"})
    assert bad.status_code == 400
    moved = client.post(f"/admin/room-bookings/move/?id={booking.id}", data={
        "room_id": other_room.id, "start_at": "2030-06-03T10:00", "end_at": "2030-06-03T11:00", "reason": "领导用"})
    assert moved.status_code == 302
    db.session.expire_all()
    row = db.session.get(RoomBooking, booking.id)
    assert row.room_id == other_room.id and row.start_at == at(2030, 6, 3, 10) and row.decision_reason == "领导用"
    cancelled = client.post(f"/admin/room-bookings/cancel/?id={booking.id}", data={"reason": "接待任务"})
    assert cancelled.status_code == 302
    db.session.expire_all()
    assert db.session.get(RoomBooking, booking.id).status == "cancelled"
    client.post("/admin/logout", data={})
    ro = signed_in(auditor)
    assert ro.post(f"/admin/room-bookings/cancel/?id={booking.id}", data={"reason": "x"}).status_code == 403


def test_approval_queue_and_service_tasks_for_their_people(make, signed_in):  # noqa: F811
    company = make.company("property")
    room = make_room(make, approval="room", property_company_id=company.id)
    approver = make.user("room_approver", scope=("room", room.id), password=PASSWORD)
    dispatcher = make.user("property_dispatcher", company=company, password=PASSWORD)
    pending = book(room, make.user(), at(2030, 6, 4, 9), at(2030, 6, 4, 10), status="pending",
                   approval_deadline=at(2030, 6, 3, 20))
    db.session.add(RoomService(booking_id=pending.id, kind="tea_water", due_at=at(2030, 6, 4, 8, 30)))
    db.session.commit()
    client = signed_in(approver)
    assert "测试会议" in client.get("/admin/room-approvals/").get_data(as_text=True)
    assert client.post(f"/admin/room-approvals/approve/?id={pending.id}", data={}).status_code == 302
    db.session.expire_all()
    assert db.session.get(RoomBooking, pending.id).status == "approved"
    client.post("/admin/logout", data={})
    client = signed_in(dispatcher)
    listing = client.get("/admin/room-services/").get_data(as_text=True)
    assert room.place.path in listing and "测试会议" not in listing
    task_id = db.session.execute(select(RoomService.id)).scalar()
    assert client.post(f"/admin/room-services/done/?id={task_id}", data={}).status_code == 302
    assert db.session.execute(select(RoomService.status)).scalar() == "done"
    assert client.get("/admin/room-bookings/").status_code == 403


def test_room_form_refuses_bad_rules_without_a_500(make, signed_in, admin_user):  # noqa: F811
    from models.places import Place
    building = Place(kind="building", name="楼")
    db.session.add(building)
    db.session.flush()
    place = Place(kind="room", name="新会议室", parent_id=building.id)
    db.session.add(place)
    db.session.commit()
    client = signed_in(admin_user)
    data = {"place": place.id, "name": "新会议室", "capacity": "10", "equipment": ["projector"],
            "opens_at": "08:00", "closes_at": "21:00", "open_days": "workdays", "min_minutes": "60",
            "max_minutes": "30", "advance_days": "30", "buffer_minutes": "0", "approval": "none",
            "approval_hours": "24", "checkin_required": "y", "checkin_open_minutes": "15",
            "release_after_minutes": "15", "property_company_id": "", "is_active": "y"}
    bad = client.post("/admin/rooms/new/", data=data)
    assert bad.status_code == 200 and db.session.execute(select(func.count()).select_from(Room)).scalar() == 0
    good = client.post("/admin/rooms/new/", data={**data, "max_minutes": "240"})
    assert good.status_code == 302, good.get_data(as_text=True)[:500]
    room = db.session.execute(select(Room)).scalar_one()
    assert room.equipment == ["projector"] and room.property_company_id is None


def test_demo_seeds_once_without_overlaps(app):
    from app.demo import seed_demo

    seed_demo()
    counts = dict(db.session.execute(select(RoomBooking.status, func.count()).group_by(RoomBooking.status)).all())
    assert counts.get("finished", 0) > 20 and counts.get("no_show", 0) > 0 and counts.get("pending") == 1, counts
    assert db.session.execute(select(func.count()).select_from(Room)).scalar() == 6
    assert db.session.execute(select(func.count()).select_from(RoomService)).scalar() >= 3
    assert db.session.execute(select(func.count()).select_from(RoomWaitlist)).scalar() == 1
    before = db.session.execute(select(func.count()).select_from(RoomBooking)).scalar()
    seed_demo()
    assert db.session.execute(select(func.count()).select_from(RoomBooking)).scalar() == before
    overlaps = db.session.execute(text(
        "SELECT count(*) FROM room_booking a JOIN room_booking b ON a.room_id = b.room_id AND a.id < b.id"
        " AND tstzrange(a.start_at, a.blocked_until) && tstzrange(b.start_at, b.blocked_until)"
        " WHERE a.status IN ('pending', 'approved', 'checked_in', 'finished')"
        " AND b.status IN ('pending', 'approved', 'checked_in', 'finished')")).scalar()
    assert overlaps == 0

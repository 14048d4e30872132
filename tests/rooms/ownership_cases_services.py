"""Foreign-id cases for tests/test_ownership.py: rooms routes (service tasks, 会议室调剂)."""

from __future__ import annotations

from app.extensions import db
from models.rooms import RoomService
from tests.rooms.ownership_cases_booking import foreign_booking, unchanged
from tests.test_ownership import case


@case("POST", "/api/v1/rooms/services/<int:task_id>/done")
def _done(make):
    company, other = make.company("property"), make.company("property")
    booking = foreign_booking(make, property_company_id=company.id)
    task = RoomService(booking_id=booking.id, kind="tea_water", due_at=booking.start_at)
    db.session.add(task)
    db.session.commit()
    task_id = task.id

    def check():
        db.session.expire_all()
        assert db.session.get(RoomService, task_id).status == "open"
    # a technician of another property company
    return make.headers(make.user("technician", company=other)), f"/api/v1/rooms/services/{task_id}/done", None, check


@case("POST", "/api/v1/rooms/bookings/<int:booking_id>/move")
def _move(make):
    booking = foreign_booking(make)
    return (make.headers(booking.organiser), f"/api/v1/rooms/bookings/{booking.id}/move", {"reason": "x"},
            unchanged(booking.id))


@case("POST", "/api/v1/rooms/bookings/<int:booking_id>/admin-cancel")
def _admin_cancel(make):
    booking = foreign_booking(make)
    return (make.headers(booking.organiser), f"/api/v1/rooms/bookings/{booking.id}/admin-cancel", {"reason": "x"},
            unchanged(booking.id))


@case("GET", "/api/v1/rooms/bookings/<int:booking_id>/alternatives")
def _alternatives(make):
    booking = foreign_booking(make)
    return (make.headers(booking.organiser), f"/api/v1/rooms/bookings/{booking.id}/alternatives", None,
            unchanged(booking.id))

"""Meeting services for the property company (会议服务): tea and water, name cards, AV support
ordered with a booking, each due ROOM_SERVICE_LEAD_MINUTES before the start.

Who sees them: the dispatchers and technicians of the property company responsible for the
room (Room.property_company_id), and administrators/auditors. They see what they need to set
up — room, place, start and end, attendee count, the service and its note — never the
meeting's subject, organiser or attendees. Marking one done is a conditional UPDATE from
`open`, so two people at once mark it once."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from sqlalchemy import select, update

from app.auth import Principal, ensure_visible
from app.errors import AppError, register_codes
from app.extensions import db, get_row
from app.timeutil import SHANGHAI
from blueprints.rooms import rules
from models.rooms import Room, RoomBooking, RoomService

register_codes({
    "ROOM_SERVICE_NOT_OPEN": (409, "该服务任务已完成或已取消", "Service done: the task is not open."),
})

PROPERTY_ROLES = ("property_dispatcher", "technician")


def companies_of(actor: Principal) -> list[int]:
    """The property companies whose rooms' tasks the actor handles."""
    return sorted({sid for role, kind, sid in actor.grants if role in PROPERTY_ROLES and kind == "company"})


def may_handle(actor: Principal, task: RoomService) -> bool:
    return task.booking.room.property_company_id in companies_of(actor) or actor.is_admin


def tasks_query(actor: Principal, day_from: date | None = None, day_to: date | None = None,
                status: str | None = None):
    """Tasks of the actor's companies' rooms (all for administrators and auditors), soonest due first."""
    stmt = (select(RoomService).join(RoomBooking, RoomBooking.id == RoomService.booking_id)
            .join(Room, Room.id == RoomBooking.room_id))
    if not actor.reads_everything:
        stmt = stmt.where(Room.property_company_id.in_(companies_of(actor)))
    if day_from:
        stmt = stmt.where(RoomService.due_at >= datetime.combine(day_from, time.min, SHANGHAI))
    if day_to:
        stmt = stmt.where(RoomService.due_at < datetime.combine(day_to + timedelta(days=1), time.min, SHANGHAI))
    if status:
        stmt = stmt.where(RoomService.status == status)
    return stmt.order_by(RoomService.due_at, RoomService.id)


def mark_done(actor: Principal, task_id: int, now: datetime | None = None) -> RoomService:
    task = get_row(RoomService, task_id)
    ensure_visible(task is not None and may_handle(actor, task))
    done = db.session.execute(
        update(RoomService).where(RoomService.id == task.id, RoomService.status == "open")
        .values(status="done", done_at=now or rules.clock(), done_by_id=actor.user_id).returning(RoomService.id)
        .execution_options(synchronize_session=False)).scalar()
    if done is None:
        raise AppError("ROOM_SERVICE_NOT_OPEN", details={"status": task.status})
    db.session.refresh(task)
    return task

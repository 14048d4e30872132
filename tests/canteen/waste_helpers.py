"""Test data of the anti-waste tests: a tray-return station, served bookings, check-in photos."""

from __future__ import annotations

import io
import itertools
from datetime import date, datetime, time

from flask import current_app
from PIL import Image, ImageDraw

from app.extensions import db
from app.timeutil import SHANGHAI
from blueprints.attachments import images
from blueprints.attachments import service as attachments
from miniapp_api import codes
from models.attachments import Attachment
from models.canteen import MealBooking, MealSlot
from models.places import Place

DAY = date(2025, 3, 12)  # a Wednesday
LUNCH_TIME = datetime(2025, 3, 12, 12, 40, tzinfo=SHANGHAI)  # lunch 11:30-13:00, check-in until 14:00

_seq = itertools.count(1)


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=SHANGHAI)


def add_station(kitchen) -> Place:
    """Give the kitchen's canteen a tray-return station (an area place)."""
    building = Place(kind="building", name=f"食堂楼{next(_seq)}")
    db.session.add(building)
    db.session.flush()
    station = Place(kind="area", name="回盘处", parent_id=building.id)
    db.session.add(station)
    db.session.flush()
    kitchen.canteen.tray_station_id = station.id
    db.session.commit()
    return station


def scene_of(place: Place) -> str:
    return codes.make_scene("place", place.id)


def booking(kitchen, user, slot: MealSlot | None = None, day: date = DAY, status: str = "served",
            department_id: int | None = None) -> MealBooking:
    slot = slot or kitchen.lunch
    row = MealBooking(user_id=user.id, department_id=department_id if department_id is not None
                      else user.department_id, canteen_id=kitchen.canteen.id, slot_id=slot.id, meal=slot.meal,
                      day=day, status=status, served_at=at(day, slot.serve_start.hour) if status == "served" else None)
    db.session.add(row)
    db.session.commit()
    return row


def plate_jpeg(seed: int) -> bytes:
    img = Image.new("RGB", (160, 120), ((seed * 37) % 256, (seed * 91) % 256, (seed * 53) % 256))
    ImageDraw.Draw(img).ellipse((30, 10, 130, 110), fill=(245, 245, 240))
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=90)
    return buf.getvalue()


def photo(user, seed: int | None = None, purpose: str = "checkin") -> Attachment:
    """An unbound upload of `user` (drawn by us: not sent to content security)."""
    cfg = current_app.config
    processed = images.process(plate_jpeg(next(_seq) if seed is None else seed),
                               max_pixels=cfg["ATTACHMENT_MAX_PIXELS"], thumbnail_px=cfg["ATTACHMENT_THUMBNAIL_PX"])
    row = attachments.store(user.id, processed, purpose, verdict="skipped")
    db.session.commit()
    return row


# --- work run in separate processes (tests/support/procs.py run_at_once) -------------------

def checkin_worker(user_id: int, booking_id: int, scene: str, attachment_id: int, now_iso: str, race: bool,
                   barrier, results) -> None:
    """Wait for the others, check in once, commit; report ("ok", checkin id) or ("error", code).
    With `race`, the early "already checked in" look-up is skipped, so the database's unique
    constraint is what decides (as when both requests pass the look-up at the same moment)."""
    try:
        from sqlalchemy import text

        from app.auth import Principal
        from app.errors import AppError
        from app.extensions import db
        from blueprints.canteen import checkins
        from models import User
        from tests.support.procs import app_from_env

        app = app_from_env()
        with app.app_context():
            if race:
                checkins._existing_checkin_id = lambda booking_id: None
            principal = Principal.for_user(db.session.get(User, user_id))
            db.session.execute(text("SELECT 1"))
            db.session.rollback()
            barrier.wait(timeout=60)
            try:
                checkin = checkins.check_in(principal, booking_id, scene, attachment_id,
                                            now=datetime.fromisoformat(now_iso), sample=lambda: 0.99)
                db.session.commit()
                results.put(("ok", checkin.id))
            except AppError as exc:
                db.session.rollback()
                results.put(("error", exc.code))
    except Exception as exc:  # report, never leave the parent waiting
        results.put(("crash", repr(exc)))

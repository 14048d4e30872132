"""Demo data for anti-waste, after demo_booking.seed served the demo staff's past lunches at
机关第一食堂: clean-plate check-ins for most served lunches (empty plates drawn with Pillow,
stored through the attachments service, each image different), one waiting for review and
one rejected with a reason (points reversed, the diner notified); actual diner counts and
waste weighings (three stages) for those days, one weighing corrected. Idempotent: adds
nothing when the canteen already has check-ins or weighings."""

from __future__ import annotations

import io
from datetime import timedelta
from decimal import Decimal

from flask import current_app
from PIL import Image, ImageDraw
from sqlalchemy import select

from app.auth import Principal
from app.extensions import db
from blueprints.attachments import images
from blueprints.attachments import service as attachments
from blueprints.canteen import checkins, waste
from blueprints.canteen.demo_booking import CANTEEN, _counter_worker
from blueprints.canteen.rules import serving_window
from models import User
from models.canteen import Canteen, CleanPlateCheckin, MealBooking, WasteEntry

REJECT_REASON = "照片中餐盘仍有较多剩菜"


def _plate(n: int) -> bytes:
    """An empty plate on a tray; `n` moves the plate and tints the tray so every photo differs."""
    img = Image.new("RGB", (480, 360), (190 + n % 40, 165, 120 + (7 * n) % 60))
    draw = ImageDraw.Draw(img)
    draw.rounded_rectangle((30, 30, 450, 330), radius=24, fill=(90, 110, 130))
    x = 120 + (n * 13) % 60
    draw.ellipse((x, 70, x + 220, 290), fill=(245, 245, 240), outline=(210, 210, 205), width=6)
    draw.ellipse((x + 45, 115, x + 175, 245), outline=(225, 225, 220), width=3)
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=88)
    return buf.getvalue()


def _photo(user_id: int, n: int):
    cfg = current_app.config
    processed = images.process(_plate(n), max_pixels=cfg["ATTACHMENT_MAX_PIXELS"],
                               thumbnail_px=cfg["ATTACHMENT_THUMBNAIL_PX"])
    # Our own drawings: not sent to WeChat content security.
    return attachments.store(user_id, processed, "checkin", verdict="skipped")


def seed() -> None:
    canteen = db.session.execute(select(Canteen).where(Canteen.name == CANTEEN)).scalar_one_or_none()
    if canteen is None:
        return
    done = db.session.execute(select(CleanPlateCheckin.id).where(CleanPlateCheckin.canteen_id == canteen.id)
                              .limit(1)).scalar() or db.session.execute(
        select(WasteEntry.id).where(WasteEntry.canteen_id == canteen.id).limit(1)).scalar()
    if done:
        return
    served = list(db.session.execute(select(MealBooking).where(
        MealBooking.canteen_id == canteen.id, MealBooking.status == "served").order_by(
        MealBooking.day, MealBooking.id)).scalars())
    if not served:
        return
    worker = _counter_worker(canteen)

    # Check-ins: all but one diner per day check in, 20 minutes after being served.
    made = []
    for n, booking in enumerate(served):
        if n % 6 == 5:
            continue
        user = db.session.get(User, booking.user_id)
        at = (booking.served_at or serving_window(booking.slot, booking.day)[0]) + timedelta(minutes=20)
        made.append((checkins.record(booking, _photo(user.id, n), "accepted", now=at,
                                     actor=Principal.for_user(user)), at))
    # Two sampled: one left for the operator, one rejected (preferably one that earned points:
    # the points demo may already have filled some diners' daily cap).
    sampled = sorted(made[1:], key=lambda m: m[0].points_transaction_id is None)[:2]
    for checkin, _at in sampled:
        checkin.status = "pending_review"
    db.session.flush()
    if worker is not None and len(sampled) == 2:
        rejected, at = sampled[0]
        checkins.reject(worker, rejected.id, REJECT_REASON, now=at + timedelta(hours=2))

    # Diner counts and weighings for each served day (entered by the counter worker).
    if worker is None:
        return
    days = sorted({(b.slot_id, b.day) for b in served}, key=lambda k: k[1])
    for i, (slot_id, day) in enumerate(days):
        served_here = sum(1 for b in served if (b.slot_id, b.day) == (slot_id, day))
        after = serving_window(served[0].slot, day)[1] + timedelta(hours=1)
        waste.set_diner_count(worker, slot_id, day, served_here + 3 + i, now=after)
        for stage, kg in (("preparation", "1.20"), ("overproduction", "2.50"), ("plate", "0.80")):
            kg = Decimal(kg) + Decimal(i) / 10
            entry = waste.add_waste(worker, slot_id, day, stage, kg, "午餐称重", now=after)
            if i == 0 and stage == "plate":
                waste.correct_waste(worker, entry.id, kg - Decimal("0.30"), "复秤：未扣除桶重", now=after)

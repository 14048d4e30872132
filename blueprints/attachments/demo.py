"""Demo data for attachments: two photos drawn with Pillow (no image files in the repository),
uploaded by the first demo staff member (张伟) as a 光盘打卡 and a 报修 photo. They are
unbound uploads, so the purge sweep removes them a day later; the next `dev.py run` adds
them again. Idempotent: a photo already there (same uploader, purpose and content) is kept."""

from __future__ import annotations

import io

from flask import current_app
from PIL import Image, ImageDraw
from sqlalchemy import select

from app.demo import STAFF
from app.extensions import db
from blueprints.attachments import images, service
from models import User
from models.attachments import Attachment


def _plate() -> bytes:
    """An empty plate on a tray: the 光盘 of a clean-plate check-in."""
    img = Image.new("RGB", (640, 480), (200, 170, 120))
    draw = ImageDraw.Draw(img)
    draw.rounded_rectangle((40, 40, 600, 440), radius=30, fill=(90, 110, 130))
    draw.ellipse((170, 90, 470, 390), fill=(245, 245, 240), outline=(210, 210, 205), width=8)
    draw.ellipse((230, 150, 410, 330), outline=(225, 225, 220), width=4)
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=90)
    return buf.getvalue()


def _dripping_tap() -> bytes:
    """A wall, a tap and a drop: a 报修 photo."""
    img = Image.new("RGB", (480, 640), (230, 225, 215))
    draw = ImageDraw.Draw(img)
    draw.rectangle((0, 420, 480, 640), fill=(180, 180, 185))
    draw.rectangle((200, 120, 280, 180), fill=(160, 160, 170))
    draw.rectangle((260, 160, 300, 280), fill=(150, 150, 160))
    draw.ellipse((268, 310, 292, 345), fill=(90, 160, 230))
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return buf.getvalue()


def seed_attachments() -> None:
    uploader = db.session.execute(select(User).where(User.employee_no == STAFF[0][0])).scalar_one_or_none()
    if uploader is None:
        return
    cfg = current_app.config
    for purpose, draw in (("checkin", _plate), ("repair", _dripping_tap)):
        processed = images.process(draw(), max_pixels=cfg["ATTACHMENT_MAX_PIXELS"],
                                   thumbnail_px=cfg["ATTACHMENT_THUMBNAIL_PX"])
        exists = db.session.execute(select(Attachment.id).where(
            Attachment.uploader_id == uploader.id, Attachment.purpose == purpose,
            Attachment.sha256 == processed.sha256)).first()
        if exists is None:
            # Our own drawings: not sent to WeChat content security.
            service.store(uploader.id, processed, purpose, verdict="skipped")

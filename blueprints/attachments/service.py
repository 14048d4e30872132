"""Attachments: uploads, binding to orders, who may see them, and the purge of unbound uploads.

For other domains (an order with photos):

    from blueprints.attachments import service as attachments
    from blueprints.attachments.schemas import AttachmentsField

    attachments.bind(body["photo_ids"], principal, "repair", order.id, "repair")  # in the order's transaction
    photos = attachments.attachments_of("repair", order.id)

    class RepairSchema(ma.Schema):
        photos = AttachmentsField("repair")   # [{id, url, thumbnail_url, width, height}]

Visibility: an upload is seen by its uploader; once bound, also by whoever may see the
order (`LIFECYCLES[order_type].is_visible`), and by administrators and auditors. Anyone
else gets NOT_FOUND. Records that are not orders but carry photos (a dish, a waste
weighing) declare who sees them once, like a lifecycle does:

    attachments.register_holder("dish", Dish, visible=lambda actor, dish: True)

Files: the stored image and its thumbnail are content-addressed (app/storage.py), shared
by every row with the same content. A file is written under a shared advisory lock on its
key, held until the upload commits, and removed only under the exclusive lock after the
rows naming it were deleted and committed and no row names it any more; so a file is never
removed from under an upload of the same content that is being committed. (A process that
dies between that commit and the removal leaves a file no row names: harmless, and
reusable by the next identical upload.)
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from flask import current_app
from sqlalchemy import delete, func, or_, select, update

from app.api import API_PREFIX
from app.auth import Principal, ensure_visible
from app.errors import AppError
from app.extensions import db
from app.lifecycle import LIFECYCLES
from app.locks import lock_key
from app.storage import StorageKeyMissing, get_storage
from app.timeutil import utcnow
from blueprints.attachments import images
from miniapp_api import security
from models.attachments import PURPOSES, Attachment

log = logging.getLogger(__name__)

MAX_PER_BIND = 9  # wx.chooseMedia's most photos at once
PURGE_BATCH = 500
_FILE_LOCK = "attachment-file:"


def attachment_url(attachment_id: int) -> str:
    return f"{API_PREFIX}/attachments/{attachment_id}"


def thumbnail_url(attachment_id: int) -> str:
    return f"{API_PREFIX}/attachments/{attachment_id}/thumbnail"


def too_large() -> AppError:
    limit = current_app.config["ATTACHMENT_MAX_BYTES"]
    return AppError("ATTACHMENT_TOO_LARGE", f"图片不能超过 {limit / 1024 / 1024:g} MB",
                    details={"max_bytes": limit})


# --- uploading ---------------------------------------------------------------------------

def upload(actor: Principal, data: bytes, purpose: str) -> Attachment:
    """Check, strip and store an uploaded image as `actor`'s unbound upload (caller commits).
    4xx for anything but a sound JPEG/PNG/WebP within the limits; CONTENT_RISKY (nothing
    stored) or CONTENT_CHECK_UNAVAILABLE from WeChat content security."""
    if purpose not in PURPOSES:
        raise ValueError(f"unknown purpose {purpose!r}")
    cfg = current_app.config
    if len(data) > cfg["ATTACHMENT_MAX_BYTES"]:
        raise too_large()
    processed = images.process(data, max_pixels=cfg["ATTACHMENT_MAX_PIXELS"],
                               thumbnail_px=cfg["ATTACHMENT_THUMBNAIL_PX"])
    # Every purpose is seen by someone other than the uploader (the canteen, the property
    # company, administrators), so every upload is checked before it is stored.
    verdict = security.check_image(actor.user_id, processed.check_image)
    return store(actor.user_id, processed, purpose, verdict)


def _lock_files(keys: Iterable[str], shared: bool) -> None:
    fn = func.pg_advisory_xact_lock_shared if shared else func.pg_advisory_xact_lock
    for key in sorted(set(keys)):
        db.session.execute(select(fn(lock_key(_FILE_LOCK + key))))


def store(uploader_id: int, processed: images.Processed, purpose: str, verdict: str) -> Attachment:
    """Write the files (if new) and the row, in the caller's transaction."""
    _lock_files((processed.sha256, processed.thumbnail_sha256), shared=True)
    storage = get_storage()
    try:
        storage.put(processed.sha256, processed.data, processed.content_type)
        storage.put(processed.thumbnail_sha256, processed.thumbnail, "image/jpeg")
    except OSError as exc:
        log.error("attachment storage failed: %s", exc)
        raise AppError("SERVICE_UNAVAILABLE", details={"dependency": "storage"}) from exc
    attachment = Attachment(uploader_id=uploader_id, purpose=purpose, content_type=processed.content_type,
                            size=processed.size, width=processed.width, height=processed.height,
                            sha256=processed.sha256, thumbnail_sha256=processed.thumbnail_sha256,
                            thumbnail_size=len(processed.thumbnail), security_verdict=verdict)
    db.session.add(attachment)
    db.session.flush()
    return attachment


# --- seeing ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Holder:
    """A kind of record photos are bound to: its model and who may see one of its records."""

    model: type
    visible: Callable[[Principal, Any], bool]


HOLDERS: dict[str, Holder] = {}


def register_holder(kind: str, model: type, visible: Callable[[Principal, Any], bool]) -> None:
    """Let photos be bound to records of `model` that are not orders (no lifecycle)."""
    if kind in HOLDERS or kind in LIFECYCLES or len(kind) > 32:
        raise ValueError(f"attachment holder {kind!r} is taken or longer than 32")
    HOLDERS[kind] = Holder(model, visible)


def _holder(kind: str) -> Holder | None:
    lifecycle = LIFECYCLES.get(kind)
    if lifecycle is not None:
        return Holder(lifecycle.model, lifecycle.is_visible)
    return HOLDERS.get(kind)


def can_see(actor: Principal, attachment: Attachment) -> bool:
    if attachment.uploader_id == actor.user_id or actor.reads_everything:
        return True
    if attachment.order_id is None:
        return False
    holder = _holder(attachment.order_type)
    if holder is None:
        log.warning("attachment %s is bound to unknown order type %r", attachment.id, attachment.order_type)
        return False
    record = db.session.get(holder.model, attachment.order_id)
    return record is not None and bool(holder.visible(actor, record))


def get_visible(actor: Principal, attachment_id: int) -> Attachment:
    attachment = db.session.get(Attachment, attachment_id)
    ensure_visible(attachment is not None and can_see(actor, attachment))
    return attachment


def read(attachment: Attachment, thumbnail: bool = False) -> bytes:
    """The stored image (or its thumbnail). NOT_FOUND if the file is gone (logged: it should not be)."""
    key = attachment.thumbnail_sha256 if thumbnail else attachment.sha256
    try:
        return get_storage().get(key)
    except StorageKeyMissing:
        log.error("attachment %s: stored file %s is missing", attachment.id, key)
        raise AppError("NOT_FOUND") from None
    except OSError as exc:
        log.error("attachment storage unreadable: %s", exc)
        raise AppError("SERVICE_UNAVAILABLE", details={"dependency": "storage"}) from exc


def attachments_of(order_type: str, order_id: int) -> list[Attachment]:
    """The photos bound to an order, in upload order."""
    return list(db.session.execute(select(Attachment).where(
        Attachment.order_type == order_type, Attachment.order_id == order_id).order_by(Attachment.id)).scalars())


# --- binding -----------------------------------------------------------------------------

def bind(attachment_ids: list[int], actor: Principal, order_type: str, order_id: int,
         purpose: str) -> list[Attachment]:
    """Bind `actor`'s own unbound uploads of `purpose` to an order, in the caller's
    transaction. ATTACHMENT_INVALID (details.ids) when any id is not such an upload
    (another's, already bound, another purpose, purged, unknown): then none is bound.
    One conditional UPDATE: of two concurrent binds of the same upload exactly one wins."""
    if _holder(order_type) is None:
        raise ValueError(f"unknown order type {order_type!r}")
    if purpose not in PURPOSES:
        raise ValueError(f"unknown purpose {purpose!r}")
    ids = list(dict.fromkeys(attachment_ids))
    if len(ids) > MAX_PER_BIND:
        raise AppError("ATTACHMENT_INVALID", f"每次最多提交 {MAX_PER_BIND} 张照片", details={"max": MAX_PER_BIND})
    if not ids:
        return []
    with db.session.begin_nested():  # a refusal undoes the part that did bind
        bound = set(db.session.execute(
            update(Attachment)
            .where(Attachment.id.in_(ids), Attachment.uploader_id == actor.user_id,
                   Attachment.order_id.is_(None), Attachment.purpose == purpose)
            .values(order_type=order_type, order_id=order_id, bound_at=utcnow())
            .returning(Attachment.id).execution_options(synchronize_session=False)).scalars())
        bad = [i for i in ids if i not in bound]
        if bad:
            raise AppError("ATTACHMENT_INVALID", details={"ids": bad})
    rows = {a.id: a for a in db.session.execute(
        select(Attachment).where(Attachment.id.in_(ids)).execution_options(populate_existing=True)).scalars()}
    return [rows[i] for i in ids]


# --- removing ----------------------------------------------------------------------------

def delete_upload(actor: Principal, attachment_id: int) -> set[str]:
    """Delete `actor`'s own unbound upload (caller commits, then calls remove_unreferenced
    with the keys returned). NOT_FOUND / FORBIDDEN (someone else's) / ATTACHMENT_BOUND."""
    attachment = get_visible(actor, attachment_id)
    if attachment.uploader_id != actor.user_id:
        raise AppError("FORBIDDEN")
    row = db.session.execute(
        delete(Attachment).where(Attachment.id == attachment_id, Attachment.order_id.is_(None))
        .returning(Attachment.sha256, Attachment.thumbnail_sha256)
        .execution_options(synchronize_session=False)).first()
    if row is None:
        raise AppError("ATTACHMENT_BOUND")
    db.session.expunge(attachment)
    return set(row)


def remove_unreferenced(keys: Iterable[str]) -> int:
    """Remove the stored files no attachment row names any more; each under its exclusive
    lock, in its own short transaction (call after the deleting transaction committed).
    Returns how many files were removed."""
    storage, removed = get_storage(), 0
    for key in sorted(set(keys)):
        try:
            _lock_files([key], shared=False)
            referenced = db.session.execute(select(Attachment.id).where(
                or_(Attachment.sha256 == key, Attachment.thumbnail_sha256 == key)).limit(1)).first()
            if referenced is None and storage.delete(key):
                removed += 1
            db.session.commit()
        except Exception:
            db.session.rollback()
            log.exception("stored file %s not removed", key)
    return removed


def purge_unbound() -> int:
    """Sweep "attachments_purge": delete uploads never bound to an order within
    ATTACHMENT_UNBOUND_HOURS, then their files when no other row names them. Returns the
    number of rows deleted; running it again finds nothing."""
    cutoff = utcnow() - timedelta(hours=current_app.config["ATTACHMENT_UNBOUND_HOURS"])
    stale = (Attachment.order_id.is_(None), Attachment.created_at < cutoff)
    total = 0
    while True:
        batch = (select(Attachment.id).where(*stale).order_by(Attachment.id).limit(PURGE_BATCH)
                 .with_for_update(skip_locked=True).scalar_subquery())
        rows = db.session.execute(
            delete(Attachment).where(Attachment.id.in_(batch), *stale)
            .returning(Attachment.sha256, Attachment.thumbnail_sha256)
            .execution_options(synchronize_session=False)).all()
        db.session.commit()
        total += len(rows)
        remove_unreferenced({key for row in rows for key in row})
        if len(rows) < PURGE_BATCH:
            return total

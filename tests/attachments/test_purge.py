"""The attachments_purge sweep: uploads never bound within ATTACHMENT_UNBOUND_HOURS go, with
their files once no other row names them; bound uploads stay."""

from __future__ import annotations

import threading
from datetime import timedelta

from sqlalchemy import update

from app.auth import Principal
from app.extensions import db
from app.sweeps import SWEEPS, run_sweep
from app.timeutil import utcnow
from blueprints.attachments import images, service
from models.attachments import Attachment
from tests.attachments.conftest import new_order
from tests.attachments.helpers import noisy_jpeg, stored_files, upload


def age(hours: float, *ids: int) -> None:
    db.session.execute(update(Attachment).where(Attachment.id.in_(ids))
                       .values(created_at=utcnow() - timedelta(hours=hours)))
    db.session.commit()


def keys(attachment_id: int) -> set[str]:
    a = db.session.get(Attachment, attachment_id)
    return {a.sha256, a.thumbnail_sha256}


def test_purge_removes_old_unbound_uploads_and_unreferenced_files(client, make, staff, staff_h):
    other = make.user()
    alone = upload(client, staff_h, noisy_jpeg(seed=11)).get_json()["id"]
    shared = noisy_jpeg(seed=12)
    shared_old = upload(client, staff_h, shared).get_json()["id"]
    shared_new = upload(client, make.headers(other), shared).get_json()["id"]
    bound = upload(client, staff_h, noisy_jpeg(seed=13)).get_json()["id"]
    fresh = upload(client, staff_h, noisy_jpeg(seed=14)).get_json()["id"]
    order = new_order(staff)
    service.bind([bound], Principal.for_user(staff), "sample", order.id, "checkin")
    db.session.commit()
    alone_keys, shared_keys, bound_keys, fresh_keys = keys(alone), keys(shared_old), keys(bound), keys(fresh)
    age(25, alone, shared_old, bound)
    age(23, fresh)

    assert service.purge_unbound() == 2
    db.session.expire_all()
    assert db.session.get(Attachment, alone) is None and db.session.get(Attachment, shared_old) is None
    assert all(db.session.get(Attachment, i) for i in (shared_new, bound, fresh))
    files = stored_files()
    assert not alone_keys & files
    assert shared_keys <= files and bound_keys <= files and fresh_keys <= files
    assert service.purge_unbound() == 0  # idempotent

    # Once the last row naming the shared file goes, the file goes too.
    age(30, shared_new)
    assert service.purge_unbound() == 1
    assert not shared_keys & stored_files() and bound_keys <= stored_files()


def test_purge_age_comes_from_configuration(app, client, staff_h, monkeypatch):
    attachment_id = upload(client, staff_h, noisy_jpeg(seed=15)).get_json()["id"]
    age(2, attachment_id)
    assert service.purge_unbound() == 0
    monkeypatch.setitem(app.config, "ATTACHMENT_UNBOUND_HOURS", 1)
    assert service.purge_unbound() == 1
    assert stored_files() == set()


def test_purge_is_the_registered_sweep(client, staff_h):
    assert SWEEPS["attachments_purge"].function() is service.purge_unbound
    attachment_id = upload(client, staff_h, noisy_jpeg(seed=16)).get_json()["id"]
    age(48, attachment_id)
    assert run_sweep("attachments_purge") == 1
    assert run_sweep("attachments_purge") == 0


def test_a_file_being_uploaded_again_is_not_removed_by_a_purge(app, client, staff, staff_h):
    """The purge removes a file only under its exclusive lock, after checking no row names
    it; an upload holds the shared lock from writing the file until it commits."""
    data = noisy_jpeg(seed=17)
    old = upload(client, staff_h, data).get_json()["id"]
    file_keys = keys(old)
    age(48, old)
    # Another upload of the same content is in progress (file written, row not yet committed).
    processed = images.process(data, max_pixels=app.config["ATTACHMENT_MAX_PIXELS"],
                               thumbnail_px=app.config["ATTACHMENT_THUMBNAIL_PX"])
    with app.app_context():  # its own session, like another request
        service.store(staff.id, processed, "checkin", "skipped")
        result = {}
        purge = threading.Thread(target=lambda: result.setdefault("n", _purge_in(app)))
        purge.start()
        purge.join(1.0)
        assert purge.is_alive()  # waiting for the upload's lock on the file
        db.session.commit()
    purge.join(30)
    assert result["n"] == 1  # the old row went ...
    assert file_keys <= stored_files()  # ... but the file stayed for the new one


def _purge_in(app) -> int:
    with app.app_context():
        return service.purge_unbound()

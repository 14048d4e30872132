"""Foreign-id cases for tests/test_ownership.py: the attachments routes with an object id.
Someone else's unbound upload is NOT_FOUND on every route, and stays (row and files)."""

from __future__ import annotations

from app.auth import Principal
from app.extensions import db
from app.storage import get_storage
from blueprints.attachments import service
from models.attachments import Attachment
from tests.attachments.helpers import image_bytes
from tests.test_ownership import case


def _someone_elses_upload(make, suffix: str):
    owner, other = make.user(), make.user()
    upload = service.upload(Principal.for_user(owner), image_bytes(color=(3, 1, 4)), "checkin")
    attachment_id, keys = upload.id, (upload.sha256, upload.thumbnail_sha256)
    db.session.commit()

    def check():
        row = db.session.get(Attachment, attachment_id)
        assert row is not None and row.uploader_id == owner.id and row.order_id is None
        assert all(get_storage().exists(key) for key in keys)
    return make.headers(other), f"/api/v1/attachments/{attachment_id}{suffix}", None, check


@case("GET", "/api/v1/attachments/<int:attachment_id>")
def _image(make):
    return _someone_elses_upload(make, "")


@case("GET", "/api/v1/attachments/<int:attachment_id>/thumbnail")
def _thumbnail(make):
    return _someone_elses_upload(make, "/thumbnail")


@case("GET", "/api/v1/attachments/<int:attachment_id>/meta")
def _meta(make):
    return _someone_elses_upload(make, "/meta")


@case("DELETE", "/api/v1/attachments/<int:attachment_id>")
def _delete(make):
    return _someone_elses_upload(make, "")

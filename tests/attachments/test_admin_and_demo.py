"""The panel's read-only attachment list with thumbnails, and the demo step."""

from __future__ import annotations

import io

from PIL import Image
from sqlalchemy import select

from app.demo import DEMO_STEPS, STAFF, seed_identity
from app.extensions import db
from blueprints.attachments.demo import seed_attachments
from models import User
from models.attachments import Attachment
from tests.attachments.helpers import image_bytes, stored_files, upload
from tests.support.admin import PASSWORD, login


def test_admin_and_auditor_see_the_list_with_thumbnails(client, make, staff_h):
    att_id = upload(client, staff_h, image_bytes((800, 600)), purpose="repair").get_json()["id"]
    row = db.session.get(Attachment, att_id)
    for reader in (make.user("admin", password=PASSWORD), make.user("auditor", password=PASSWORD)):
        assert login(client, reader).status_code == 302
        page = client.get("/admin/attachments/")
        html = page.get_data(as_text=True)
        assert page.status_code == 200
        assert f'/admin/attachments/thumbnail/?id={att_id}' in html
        assert "报修" in html and "上传人" in html and "未检测" in html
        details = client.get(f"/admin/attachments/details/?id={att_id}")
        assert details.status_code == 200 and row.sha256 in details.get_data(as_text=True)
        thumb = client.get(f"/admin/attachments/thumbnail/?id={att_id}")
        assert thumb.status_code == 200 and thumb.mimetype == "image/jpeg"
        assert thumb.headers["Cache-Control"] == "no-store"
        with Image.open(io.BytesIO(thumb.data)) as img:
            assert img.size == (480, 360)
        assert client.get("/admin/attachments/thumbnail/?id=999999").status_code == 404
        # Read-only for everyone.
        assert client.get("/admin/attachments/new/").status_code == 403
        assert client.post("/admin/attachments/delete/", data={"id": att_id}).status_code == 403
        client.post("/admin/logout")
    assert db.session.get(Attachment, att_id) is not None


def test_filters_narrow_the_list(client, make, staff_h):
    first = upload(client, staff_h, image_bytes(color=(1, 1, 1)), purpose="repair").get_json()["id"]
    second = upload(client, staff_h, image_bytes(color=(2, 2, 2)), purpose="checkin").get_json()["id"]
    assert login(client, make.user("admin", password=PASSWORD)).status_code == 302
    html = client.get("/admin/attachments/?flt0_0=repair").get_data(as_text=True)
    assert f"thumbnail/?id={first}" in html and f"thumbnail/?id={second}" not in html


def test_thumbnails_only_for_signed_in_readers(client, make, staff_h):
    att_id = upload(client, staff_h, image_bytes()).get_json()["id"]
    anonymous = client.get(f"/admin/attachments/thumbnail/?id={att_id}")
    assert anonymous.status_code == 302 and "/admin/login" in anonymous.headers["Location"]
    manager = make.user("canteen_manager", company=make.company("canteen_operator"), password=PASSWORD)
    assert login(client, manager).status_code == 302
    assert client.get(f"/admin/attachments/thumbnail/?id={att_id}").status_code == 403
    assert client.get("/admin/attachments/").status_code == 403


def test_demo_step_adds_two_photos_once(app):
    assert "blueprints.attachments.demo:seed_attachments" in DEMO_STEPS
    seed_identity()
    seed_attachments()
    seed_attachments()  # idempotent
    db.session.commit()
    uploader = db.session.execute(select(User).where(User.employee_no == STAFF[0][0])).scalar_one()
    rows = db.session.execute(select(Attachment).order_by(Attachment.id)).scalars().all()
    assert [(a.uploader_id, a.purpose, a.security_verdict) for a in rows] == \
        [(uploader.id, "checkin", "skipped"), (uploader.id, "repair", "skipped")]
    assert {a.content_type for a in rows} == {"image/jpeg", "image/png"}
    assert {key for a in rows for key in (a.sha256, a.thumbnail_sha256)} == stored_files()

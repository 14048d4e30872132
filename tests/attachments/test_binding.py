"""Binding uploads to orders (the test-only SAMPLE order type) and who may then see them."""

from __future__ import annotations

import marshmallow as ma
import pytest
from sqlalchemy import select

from app.auth import Principal
from app.errors import AppError
from app.extensions import db
from blueprints.attachments import service
from blueprints.attachments.schemas import AttachmentRefSchema, AttachmentsField
from models.attachments import Attachment
from tests.attachments import _workers
from tests.attachments.conftest import new_order
from tests.attachments.helpers import API, image_bytes, upload
from tests.support.procs import run_at_once
from tests.support.wechat import assert_error


def p(user) -> Principal:
    return Principal.for_user(user)


def uploaded(client, user_h, purpose="checkin", n=0) -> int:
    resp = upload(client, user_h, image_bytes(color=(n, 100, 200)), purpose=purpose)
    assert resp.status_code == 201, resp.get_json()
    return resp.get_json()["id"]


def row(attachment_id: int) -> Attachment | None:
    db.session.expire_all()
    return db.session.get(Attachment, attachment_id)


@pytest.fixture
def world(make):
    company, other_company = make.company("security"), make.company("security")
    people = {
        "owner": make.user(name="下单人"),
        "stranger": make.user(name="其他干部"),
        "guard": make.user("guard", company=company),
        "other_guard": make.user("guard", company=other_company),
        "technician": make.user("technician", company=make.company("property")),
        "admin": make.user("admin"),
        "auditor": make.user("auditor"),
    }
    return company, people


def status(client, make, user, attachment_id) -> tuple[int, int, int]:
    h = make.headers(user)
    return tuple(client.get(url, headers=h).status_code for url in (
        f"{API}/attachments/{attachment_id}", f"{API}/attachments/{attachment_id}/thumbnail",
        f"{API}/attachments/{attachment_id}/meta"))


def test_visibility_before_and_after_binding(client, make, world):
    company, people = world
    owner = people["owner"]
    attachment_id = uploaded(client, make.headers(owner))
    # Unbound: the uploader (and those who read everything) only.
    expected_before = {"owner": 200, "stranger": 404, "guard": 404, "other_guard": 404, "technician": 404,
                       "admin": 200, "auditor": 200}
    for name, code in expected_before.items():
        assert status(client, make, people[name], attachment_id) == (code,) * 3, name

    order = new_order(owner, company)
    service.bind([attachment_id], p(owner), "sample", order.id, "checkin")
    db.session.commit()
    # Bound: whoever may see the order (owner, a guard of the order's company), admins, auditors.
    expected_after = {**expected_before, "guard": 200}
    for name, code in expected_after.items():
        assert status(client, make, people[name], attachment_id) == (code,) * 3, name
    body = client.get(f"{API}/attachments/{attachment_id}", headers=make.headers(people["stranger"])).get_json()
    assert body["code"] == "NOT_FOUND"
    meta = client.get(f"{API}/attachments/{attachment_id}/meta", headers=make.headers(people["guard"])).get_json()
    assert meta["bound"] is True and meta["order_type"] == "sample" and meta["order_id"] == order.id


def test_an_upload_bound_to_a_vanished_order_is_seen_by_its_uploader_and_admins_only(client, make, world):
    company, people = world
    attachment_id = uploaded(client, make.headers(people["owner"]))
    service.bind([attachment_id], p(people["owner"]), "sample", 99999, "checkin")  # no such order
    db.session.commit()
    assert status(client, make, people["guard"], attachment_id) == (404,) * 3
    assert status(client, make, people["owner"], attachment_id) == (200,) * 3
    assert status(client, make, people["admin"], attachment_id) == (200,) * 3


def test_bind_returns_the_rows_and_attachments_of_lists_them(client, make, world):
    company, people = world
    owner = people["owner"]
    h = make.headers(owner)
    ids = [uploaded(client, h, n=n) for n in range(3)]
    order = new_order(owner, company)
    bound = service.bind([ids[2], ids[0], ids[2]], p(owner), "sample", order.id, "checkin")  # duplicates once
    db.session.commit()
    assert [a.id for a in bound] == [ids[2], ids[0]]
    assert all(a.order_type == "sample" and a.order_id == order.id and a.bound_at for a in bound)
    assert [a.id for a in service.attachments_of("sample", order.id)] == [ids[0], ids[2]]
    assert service.attachments_of("sample", order.id + 1) == []
    refs = AttachmentRefSchema(many=True).dump(service.attachments_of("sample", order.id))
    assert refs[0] == {"id": ids[0], "url": f"{API}/attachments/{ids[0]}",
                       "thumbnail_url": f"{API}/attachments/{ids[0]}/thumbnail", "width": 64, "height": 48}
    order_schema = type("OrderWithPhotos", (ma.Schema,), {"id": ma.fields.Integer(),
                                                          "photos": AttachmentsField("sample")})()
    assert order_schema.dump(order) == {"id": order.id, "photos": refs}
    assert row(ids[1]).order_id is None
    # A bound upload can no longer be deleted.
    assert_error(client.delete(f"{API}/attachments/{ids[0]}", headers=h), 409, "ATTACHMENT_BOUND")
    assert service.bind([], p(owner), "sample", order.id, "checkin") == []


def test_bind_refuses_what_is_not_the_actors_own_unbound_upload_of_that_purpose(client, make, world):
    company, people = world
    owner, stranger = people["owner"], people["stranger"]
    order = new_order(owner, company)
    mine = uploaded(client, make.headers(owner), n=1)
    repair_photo = uploaded(client, make.headers(owner), purpose="repair", n=2)
    theirs = uploaded(client, make.headers(stranger), n=3)
    already = uploaded(client, make.headers(owner), n=4)
    service.bind([already], p(owner), "sample", order.id, "checkin")
    db.session.commit()

    for bad in ([theirs], [already], [repair_photo], [987654]):
        with pytest.raises(AppError) as refused:
            service.bind([mine, *bad], p(owner), "sample", order.id, "checkin")
        assert refused.value.code == "ATTACHMENT_INVALID" and refused.value.status == 422
        assert refused.value.details == {"ids": bad}
        db.session.commit()  # even a caller who commits anyway binds nothing of a refused call
        assert row(mine).order_id is None
    assert row(theirs).order_id is None and row(repair_photo).order_id is None

    with pytest.raises(AppError) as too_many:
        service.bind(list(range(1, 11)), p(owner), "sample", order.id, "checkin")
    assert too_many.value.code == "ATTACHMENT_INVALID" and too_many.value.details == {"max": 9}
    with pytest.raises(ValueError):
        service.bind([mine], p(owner), "no_such_type", order.id, "checkin")
    with pytest.raises(ValueError):
        service.bind([mine], p(owner), "sample", order.id, "selfie")


def test_two_processes_binding_the_same_upload_one_wins(client, make, world, sample_table):
    company, people = world
    owner = people["owner"]
    attachment_id = uploaded(client, make.headers(owner))
    orders = [new_order(owner, company).id for _ in range(3)]
    outcomes = run_at_once(_workers.bind, [(attachment_id, owner.id, order_id) for order_id in orders])
    assert sorted(code for code, _ in outcomes) == ["ATTACHMENT_INVALID", "ATTACHMENT_INVALID", "bound"], outcomes
    [winner] = [order_id for code, order_id in outcomes if code == "bound"]
    assert row(attachment_id).order_id == winner
    assert db.session.execute(select(Attachment.id).where(Attachment.order_id.in_(orders))).scalars().all() \
        == [attachment_id]

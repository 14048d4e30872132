"""The guards' lists (today's expected visitors, who is inside with overstays first: masked
data only) and the id_verifier's audited read of a whole ID number."""

from __future__ import annotations

import logging
from datetime import datetime

import pytest
from sqlalchemy import select

from app.extensions import db
from app.timeutil import SHANGHAI
from blueprints.visitors import personal
from models import AuditLog
from models.visitors import VisitApplication
from tests.identity.helpers import assert_error
from tests.visitors.conftest import make_visit, resident_id

API = "/api/v1/visitors"
NOW = datetime(2030, 6, 3, 10, 0, tzinfo=SHANGHAI)
PHONES = ["13912340001", "13912340002", "13912340003"]
IDS = [resident_id(21), resident_id(22), resident_id(23)]
SECRETS = PHONES + IDS


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2030, 6, day, hour, minute, tzinfo=SHANGHAI)


def checked(resp):
    text = resp.get_data(as_text=True)
    for secret in SECRETS:
        assert secret not in text, (secret, text)
    return resp


@pytest.fixture
def host(make):
    return make.user(name="张主任", department=make.department("办公室"))


@pytest.fixture
def guard(make):
    return make.user("guard", company=make.company("security"))


def visit(make, host, name, start, end, status="approved", n=0, **values):
    application = make_visit(make, host, status=status, starts_at=start, ends_at=end, name=name,
                             phone=PHONES[n % 3], id_number=IDS[n % 3], **values)
    return application.visits[0]


def test_expected_and_inside_lists(client, make, host, guard, visit_clock):
    visit_clock(NOW)
    visitor = make.user(kind="visitor")
    visit(make, host, "甲", at(3, 9), at(3, 11), "approved", 0, visitor=visitor, plate="京A12345",
          companions=[("随行一", resident_id(31)), ("随行二", resident_id(32))])
    visit(make, host, "乙", at(3, 14), at(3, 15), "pending", 1, source="walk_in")
    visit(make, host, "丙", at(3, 16), at(3, 17), "held", 2)
    visit(make, host, "丁", at(3, 8), at(3, 9, 30), "inside", 0)  # overstaying
    visit(make, host, "戊", at(3, 9), at(3, 12), "inside", 1)
    visit(make, host, "夜", at(2, 22), at(3, 1), "approved", 2)  # crosses midnight into the day
    for status in ("cancelled", "left", "invited", "rejected", "expired"):
        visit(make, host, f"不列-{status}", at(3, 9), at(3, 10), status)
    visit(make, host, "明天", at(4, 9), at(4, 10), "approved")

    resp = checked(client.get(f"{API}/gate/expected", headers=make.headers(guard)))
    assert resp.status_code == 200, resp.get_json()
    data = resp.get_json()
    assert [i["visitor_name"] for i in data["items"]] == ["夜", "丁", "甲", "戊", "乙", "丙"]
    assert data["total"] == 6
    first = next(i for i in data["items"] if i["visitor_name"] == "甲")
    assert first["phone_masked"] == "139****0001" and first["id_masked"] == "110***********" + IDS[0][-4:]
    assert first["companions"] == 2 and [c["name"] for c in first["companion_people"]] == ["随行一", "随行二"]
    assert all("*" in c["id_masked"] for c in first["companion_people"])
    assert first["plate"] == "京A12345" and first["host"]["name"] == "张主任" and first["host_department"] == "办公室"
    assert first["company"] == "某某科技有限公司" and first["has_pass"] is True and first["status_label"] == "已通过"
    assert first["starts_at"] == "2030-06-03T09:00:00+08:00" and first["overstay"] is False
    walk_in = next(i for i in data["items"] if i["visitor_name"] == "乙")
    assert walk_in["has_pass"] is False and walk_in["source"] == "walk_in"

    other_day = checked(client.get(f"{API}/gate/expected?date=2030-06-04", headers=make.headers(guard))).get_json()
    assert [i["visitor_name"] for i in other_day["items"]] == ["明天"]
    only_inside = checked(client.get(f"{API}/gate/expected?status=inside", headers=make.headers(guard))).get_json()
    assert [i["visitor_name"] for i in only_inside["items"]] == ["丁", "戊"]
    page = checked(client.get(f"{API}/gate/expected?per_page=2&page=2", headers=make.headers(guard))).get_json()
    assert [i["visitor_name"] for i in page["items"]] == ["甲", "戊"] and page["total"] == 6

    inside = checked(client.get(f"{API}/gate/inside", headers=make.headers(guard))).get_json()
    assert [(i["visitor_name"], i["overstay"]) for i in inside["items"]] == [("丁", True), ("戊", False)]

    # administrators and auditors read the lists too; nobody else
    for who in (make.user("admin"), make.user("auditor")):
        assert checked(client.get(f"{API}/gate/inside", headers=make.headers(who))).status_code == 200
        assert checked(client.get(f"{API}/gate/expected", headers=make.headers(who))).status_code == 200
    for who in (host, visitor, make.user("id_verifier")):
        assert_error(checked(client.get(f"{API}/gate/expected", headers=make.headers(who))), 403, "FORBIDDEN")
        assert_error(checked(client.get(f"{API}/gate/inside", headers=make.headers(who))), 403, "FORBIDDEN")
    for bad in ("date=2030-13-01", "date=1999-01-01", "status=left", "per_page=1000"):
        assert_error(client.get(f"{API}/gate/expected?{bad}", headers=make.headers(guard)), 422, "VALIDATION_ERROR")


def _reveals() -> list[AuditLog]:
    db.session.expire_all()
    return list(db.session.execute(select(AuditLog).where(AuditLog.action == "visitor.id_revealed")
                                   .order_by(AuditLog.id)).scalars())


def test_whole_id_number_only_for_id_verifiers_audited_never_logged(client, make, host, guard, caplog):
    caplog.set_level(logging.DEBUG)
    companion_number = resident_id(41)
    application = make_visit(make, host, phone=PHONES[0], id_number=IDS[0],
                             companions=[("随行人", companion_number)])
    companion_id = application.companions[0].id
    app_url = f"{API}/applications/{application.id}/id-number"
    companion_url = f"{API}/companions/{companion_id}/id-number"

    # a guard (or an administrator) without id_verifier: refused, nothing audited
    for who in (guard, make.user("admin"), host):
        assert_error(checked(client.get(app_url, headers=make.headers(who))), 403, "FORBIDDEN")
        assert_error(client.get(companion_url, headers=make.headers(who)), 403, "FORBIDDEN")
    assert _reveals() == []

    verifier = make.user("guard", "id_verifier", name="核验员", company=make.company("security"))
    resp = client.get(app_url, headers=make.headers(verifier))
    assert resp.status_code == 200, resp.get_json()
    assert resp.headers["Cache-Control"] == "no-store"
    data = resp.get_json()
    assert data["id_number"] == IDS[0] and data["id_type"] == "resident_id" and data["name"] == "王访客"
    assert data["id_masked"] == personal.mask_id(IDS[0]) and data["id_type_label"] == "居民身份证"
    resp = client.get(companion_url, headers=make.headers(verifier))
    assert resp.status_code == 200 and resp.headers["Cache-Control"] == "no-store"
    assert resp.get_json()["id_number"] == companion_number and resp.get_json()["name"] == "随行人"

    rows = _reveals()
    assert [(r.target_type, r.target_id, r.actor_id) for r in rows] == [
        ("visit_application", str(application.id), verifier.id), ("visit_companion", str(companion_id), verifier.id)]
    assert rows[1].details == {"application_id": application.id}
    for row in rows:
        assert IDS[0] not in str(row.details) and companion_number not in str(row.details)
    for record in caplog.records:
        message = record.getMessage()
        assert IDS[0] not in message and companion_number not in message

    # unknown ids; an application without a number any more (anonymised)
    assert_error(client.get(f"{API}/applications/999999/id-number", headers=make.headers(verifier)), 404,
                 "NOT_FOUND")
    assert_error(client.get(f"{API}/companions/999999/id-number", headers=make.headers(verifier)), 404, "NOT_FOUND")
    personal.anonymise(db.session.get(VisitApplication, application.id))
    db.session.commit()
    assert_error(client.get(app_url, headers=make.headers(verifier)), 404, "VISIT_ID_NOT_STORED")
    assert_error(client.get(companion_url, headers=make.headers(verifier)), 404, "NOT_FOUND")
    assert len(_reveals()) == 2

"""The contract's personal-data rules: ID documents, masks, blind indexes, consent,
blacklist matching, the audited reveal, anonymisation."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app import crypto
from app.auth import Principal
from app.errors import AppError
from app.extensions import db
from blueprints.visitors import personal
from models import AuditLog
from models.visitors import VisitApplication, VisitorBlacklist
from tests.visitors.conftest import make_visit, resident_id


@pytest.mark.parametrize(("id_type", "raw", "stored"), [
    ("resident_id", "11010519491231002x", "11010519491231002X"),   # the standard's own example
    ("resident_id", " 110105 19491231 002X ", "11010519491231002X"),
    ("passport", "e12345678", "E12345678"),
    ("passport", "EA1234567", "EA1234567"),
    ("hk_macao_permit", "H12345678", "H12345678"),
    ("hk_macao_permit", "m1234567890", "M1234567890"),
    ("taiwan_permit", "12345678", "12345678"),
])
def test_valid_documents(app, id_type, raw, stored):
    assert personal.normalise_id(id_type, raw) == stored


@pytest.mark.parametrize(("id_type", "raw"), [
    ("resident_id", "110105194912310021"),   # wrong check character (X expected)
    ("resident_id", "11010519491331002X"),   # month 13
    ("resident_id", "01010519491231002X"),   # region starting with 0
    ("resident_id", "11010518991231002X"),   # born before 1900
    ("resident_id", "1101051949123100"),     # too short
    ("resident_id", ""),
    ("passport", "E123"),
    ("passport", "E1234567890123456789"),
    ("passport", "E1234567!"),
    ("hk_macao_permit", "X12345678"),
    ("taiwan_permit", "1234567"),
    ("driving_licence", "12345678"),
])
def test_invalid_documents(app, id_type, raw):
    with pytest.raises(AppError) as err:
        personal.normalise_id(id_type, raw, field="companions[1].id_number")
    assert err.value.code == "VISIT_ID_INVALID"
    assert err.value.details == {"id_type": id_type, "field": "companions[1].id_number"}


def test_masks_and_stored_values(app):
    number = resident_id(7)
    values = personal.id_values("resident_id", number.lower())
    assert values["id_masked"] == number[:3] + "*" * 11 + number[-4:]
    assert number not in values["id_number_enc"] and values["id_bidx"] == personal.id_index(number)
    assert crypto.decrypt(values["id_number_enc"], personal.ID_PURPOSE) == number
    assert personal.mask_id("E12345678") == "E******78"
    phone = personal.phone_values("+86 139-1234-5678")
    assert phone["phone_masked"] == "139****5678" and phone["phone_bidx"] == crypto.phone_index("13912345678")
    with pytest.raises(AppError) as err:
        personal.phone_values("12345", field="phone")
    assert err.value.code == "VISIT_PHONE_INVALID"


def test_consent_must_be_to_the_current_notice(app, make):
    visitor = make.user(kind="visitor")
    for version in (None, "2025-01"):
        with pytest.raises(AppError) as err:
            personal.record_consent(version, user_id=visitor.id)
        assert err.value.code == "VISIT_CONSENT_REQUIRED"
        assert err.value.details == {"notice_version": app.config["VISIT_NOTICE_VERSION"]}
    consent = personal.record_consent(app.config["VISIT_NOTICE_VERSION"], user_id=visitor.id)
    assert consent.id and consent.notice_version == app.config["VISIT_NOTICE_VERSION"]


def test_blacklist_matches_visitor_companion_phone_and_name(app, make):
    host = make.user()
    companion_id = resident_id(42)
    application = make_visit(make, host, name="张三", phone="13900001111", id_number=resident_id(41),
                             companions=[("李四", companion_id)])
    assert personal.blacklist_hits(application) == []
    entries = [VisitorBlacklist(id_bidx=personal.id_index(companion_id), note="曾冒用他人证件"),
               VisitorBlacklist(phone_bidx=crypto.phone_index("13900001111"), note="骚扰"),
               VisitorBlacklist(name="张三", note="同名提示"),
               VisitorBlacklist(name="王五", note="不相关"),
               VisitorBlacklist(name="李四", note="已解除", is_active=False)]
    db.session.add_all(entries)
    db.session.commit()
    assert [e.note for e in personal.blacklist_hits(application)] == ["曾冒用他人证件", "骚扰", "同名提示"]


def test_reveal_needs_id_verifier_and_is_audited(app, make):
    host = make.user()
    number = resident_id(9)
    application = make_visit(make, host, id_number=number)
    guard = Principal.for_user(make.user("guard", company=make.company("security")))
    with pytest.raises(AppError) as err:
        personal.reveal_id_number(guard, application)
    assert err.value.code == "FORBIDDEN"
    verifier = Principal.for_user(make.user("guard", "id_verifier", company=make.company("security")))
    assert personal.reveal_id_number(verifier, application) == number
    db.session.commit()
    row = db.session.execute(select(AuditLog).where(AuditLog.action == "visitor.id_revealed")).scalar_one()
    assert row.target_id == str(application.id) and number not in str(row.details)


def test_anonymise_keeps_the_statistics(app, make):
    host = make.user()
    application = make_visit(make, host, companions=[("李四", resident_id(3))], plate="京A12345")
    visits = [(v.id, v.status, v.starts_at, v.host_department_id) for v in application.visits]
    personal.anonymise(application)
    db.session.commit()
    db.session.expire_all()
    stored = db.session.get(VisitApplication, application.id)
    assert stored.name == personal.ANONYMOUS and stored.companions == [] and stored.anonymised_at
    assert all(getattr(stored, c) is None for c in ("phone_enc", "phone_bidx", "phone_masked", "id_type",
                                                    "id_number_enc", "id_bidx", "id_masked", "plate", "company"))
    assert stored.companion_count == 1
    assert [(v.id, v.status, v.starts_at, v.host_department_id) for v in stored.visits] == visits

"""Visitors' personal data: ID documents checked and normalised, phones, encryption, blind
indexes and masks, the privacy-notice consent, the blacklist check, anonymisation.

Every ID number and phone goes through here on its way in: `person_values` returns the
columns to store (ciphertext, blind index, mask; never the plaintext), and `blacklist_hits`
finds the active blacklist entries an application matches by blind index (ID numbers of the
visitor and every companion, phone) or by exact name. Reading a stored number back in full is
`reveal_id_number`, which only an id_verifier may do and which writes an audit row.

ID documents (`ID_TYPES`):
- resident_id 居民身份证: 18 characters, GB 11643-1999: six-digit region (not starting with
  0), a real birth date (YYYYMMDD, 1900 to today), three-digit sequence, and the ISO 7064
  MOD 11-2 check character (0-9 or X);
- passport 护照: 5 to 17 letters and digits (Chinese passports: E/G + 8, EA/EB... + 7);
- hk_macao_permit 港澳居民来往内地通行证: H or M + 8 digits (the older form: + 10);
- taiwan_permit 台湾居民来往大陆通行证: 8 digits (the older form: 10 characters).
Letters are upper-cased and white space removed before the check, so one person has one
blind index however the number was typed.
"""

from __future__ import annotations

import re
from datetime import date

from flask import current_app
from sqlalchemy import or_, select

from app import audit, crypto
from app.auth import Principal
from app.errors import AppError, register_codes
from app.extensions import db
from app.timeutil import local, utcnow
from models.visitors import ID_TYPES, VisitApplication, VisitorBlacklist, VisitorConsent

register_codes({
    "VISIT_ID_INVALID": (422, "证件号码无效", "Visitors: an ID number that fails its type's format or "
                                         "check digit (`details.id_type`, `details.field`)."),
    "VISIT_PHONE_INVALID": (422, "手机号码无效", "Visitors: not a mainland mobile number (`details.field`)."),
    "VISIT_CONSENT_REQUIRED": (422, "请先阅读并同意访客隐私告知", "Visitors: an ID number without consent to the "
                                                        "current privacy notice (`details.notice_version`)."),
})

# Purposes of the ciphertexts and blind indexes (app/crypto.py binds each to its purpose).
ID_PURPOSE = "visitor.id_number"
PHONE_PURPOSE = "phone"  # the platform's phone index: a visitor's phone finds the same person

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"
_RESIDENT = re.compile(r"[1-9]\d{16}[\dX]")
_FORMATS = {
    "passport": re.compile(r"[A-Z0-9]{5,17}"),
    "hk_macao_permit": re.compile(r"[HM]\d{8}(\d{2})?"),
    "taiwan_permit": re.compile(r"\d{8}|[A-Z0-9]{10}"),
}


def resident_check_char(first17: str) -> str:
    """The GB 11643 check character of the first 17 digits."""
    return _CHECK[sum(int(c) * w for c, w in zip(first17, _WEIGHTS, strict=True)) % 11]


def _valid_resident(number: str, today: date) -> bool:
    if not _RESIDENT.fullmatch(number):
        return False
    try:
        born = date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        return False
    return date(1900, 1, 1) <= born <= today and resident_check_char(number[:17]) == number[17]


def normalise_id(id_type: str, raw: str, field: str = "id_number") -> str:
    """The number as stored and indexed (upper case, no spaces), or 422 VISIT_ID_INVALID."""
    number = re.sub(r"\s+", "", raw or "").upper()
    if id_type == "resident_id":
        ok = _valid_resident(number, local(utcnow()).date())
    else:
        ok = id_type in _FORMATS and bool(_FORMATS[id_type].fullmatch(number))
    if not ok:
        raise AppError("VISIT_ID_INVALID", f"{ID_TYPES.get(id_type, '证件')}号码无效，请核对后重新填写",
                       details={"id_type": id_type, "field": field})
    return number


def mask_id(number: str) -> str:
    """110***********1234: the first three and last four (shorter numbers: first and last two)."""
    if len(number) >= 10:
        return number[:3] + "*" * (len(number) - 7) + number[-4:]
    return number[:1] + "*" * (len(number) - 3) + number[-2:]


def id_index(number: str) -> str:
    return crypto.blind_index(number, ID_PURPOSE)


def id_values(id_type: str, raw: str, field: str = "id_number") -> dict:
    """The stored columns of an ID document: id_type, id_number_enc, id_bidx, id_masked."""
    number = normalise_id(id_type, raw, field)
    return {"id_type": id_type, "id_number_enc": crypto.encrypt(number, ID_PURPOSE), "id_bidx": id_index(number),
            "id_masked": mask_id(number)}


def phone_values(raw: str, field: str = "phone") -> dict:
    """The stored columns of a phone: phone_enc, phone_bidx, phone_masked."""
    phone = crypto.normalise_phone(raw)
    if phone is None:
        raise AppError("VISIT_PHONE_INVALID", details={"field": field})
    return {"phone_enc": crypto.encrypt(phone, PHONE_PURPOSE), "phone_bidx": crypto.phone_index(phone),
            "phone_masked": crypto.mask_phone(phone)}


def record_consent(notice_version: str | None, *, user_id: int | None = None,
                   recorded_by_id: int | None = None) -> VisitorConsent:
    """The consent an ID number needs: `notice_version` must be the current
    VISIT_NOTICE_VERSION (422 VISIT_CONSENT_REQUIRED otherwise: missing, or an older notice).
    Given by the visitor (`user_id`) or recorded by a guard for a walk-in (`recorded_by_id`).
    Added to the session (flushed: the caller sets `consent_id`)."""
    current = current_app.config["VISIT_NOTICE_VERSION"]
    if notice_version != current:
        raise AppError("VISIT_CONSENT_REQUIRED", details={"notice_version": current})
    consent = VisitorConsent(user_id=user_id, recorded_by_id=recorded_by_id, notice_version=current)
    db.session.add(consent)
    db.session.flush()
    return consent


def reveal_id_number(actor: Principal, application: VisitApplication) -> str | None:
    """The whole ID number, for an id_verifier checking the document at the gate (FORBIDDEN
    otherwise): audited as `visitor.id_revealed` with the application's id, never the number."""
    if not actor.has_role("id_verifier"):
        raise AppError("FORBIDDEN", details={"required_roles": ["id_verifier"]})
    audit.record("visitor.id_revealed", "visit_application", application.id, actor=actor)
    return crypto.decrypt(application.id_number_enc, ID_PURPOSE)


def blacklist_hits(application: VisitApplication) -> list[VisitorBlacklist]:
    """The active blacklist entries the application's visitor or companions match."""
    ids = [i for i in [application.id_bidx, *(c.id_bidx for c in application.companions)] if i]
    names = [n for n in [application.name, *(c.name for c in application.companions)] if n]
    conditions = []
    if ids:
        conditions.append(VisitorBlacklist.id_bidx.in_(ids))
    if application.phone_bidx:
        conditions.append(VisitorBlacklist.phone_bidx == application.phone_bidx)
    if names:
        conditions.append(VisitorBlacklist.name.in_(names))
    if not conditions:
        return []
    return list(db.session.execute(select(VisitorBlacklist).where(VisitorBlacklist.is_active, or_(*conditions))
                                   .order_by(VisitorBlacklist.id)).scalars())


ANONYMOUS = "已清除"


def anonymise(application: VisitApplication) -> None:
    """Remove the personal data of an application and its companions (statistics stay: the
    visits, host, department, windows, states and the companion count). The caller commits."""
    for column in ("phone_enc", "phone_bidx", "phone_masked", "id_type", "id_number_enc", "id_bidx", "id_masked",
                   "company", "plate", "invitation_hash"):
        setattr(application, column, None)
    application.name = ANONYMOUS
    application.companions.clear()
    application.anonymised_at = utcnow()

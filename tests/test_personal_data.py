"""Personal data: AES-GCM at rest with key rotation, blind index lookups, masking, logs."""

import base64
import logging
import os

import pytest
from cryptography.exceptions import InvalidTag

from app.crypto import KeyRing, mask_phone, normalise_phone, phone_index
from app.extensions import db
from app.logging_setup import redact
from blueprints.identity.service import PHONE_PURPOSE, user_phone
from models import User


def _key() -> str:
    return base64.b64encode(os.urandom(32)).decode()


def test_keyring_encrypts_with_first_and_decrypts_with_any():
    old = KeyRing(f"k1:{(k1 := _key())}")
    stored = old.encrypt("13800001234", "user.phone")
    assert "13800001234" not in stored and stored.startswith("k1:")
    rotated = KeyRing(f"k2:{_key()},k1:{k1}")
    assert rotated.decrypt(stored, "user.phone") == "13800001234"
    assert rotated.needs_rotation(stored)
    assert rotated.encrypt("x", "p").startswith("k2:")


def test_ciphertext_is_bound_to_its_purpose():
    ring = KeyRing(f"k1:{_key()}")
    stored = ring.encrypt("13800001234", "user.phone")
    with pytest.raises(InvalidTag):
        ring.decrypt(stored, "visitor.id_number")


def test_bad_key_spec_refused():
    with pytest.raises(ValueError):
        KeyRing("k1:" + base64.b64encode(b"short").decode())
    with pytest.raises(ValueError):
        KeyRing("")


def test_phone_rules():
    assert normalise_phone("+86 138-0000-1234") == "13800001234"
    assert normalise_phone("12800001234") is None
    assert normalise_phone("1380000123") is None
    assert mask_phone("13800001234") == "138****1234"


def test_phone_stored_encrypted_and_found_by_blind_index(app, make):
    user = make.user(phone="13800009999")
    row = db.session.execute(db.text("SELECT phone_enc, phone_bidx FROM app_user WHERE id = :id"),
                             {"id": user.id}).one()
    assert "13800009999" not in row.phone_enc and "9999" not in row.phone_bidx
    assert row.phone_bidx == phone_index("13800009999")
    found = db.session.execute(db.select(User).where(User.phone_bidx == phone_index("13800009999"))).scalar_one()
    assert found.id == user.id and user_phone(found) == "13800009999"


def test_rotate_pii_command(app, make):
    user = make.user(phone="13800007777")
    old_value = user.phone_enc
    app.extensions.pop("keyring", None)
    original = app.config["DATA_ENCRYPTION_KEYS"]
    app.config["DATA_ENCRYPTION_KEYS"] = f"new:{_key()},{original}"
    try:
        result = app.test_cli_runner().invoke(args=["rotate-pii"])
        assert "re-encrypted 1 values" in result.output
        db.session.expire_all()
        fresh = db.session.get(User, user.id)
        assert fresh.phone_enc.startswith("new:") and fresh.phone_enc != old_value
        assert user_phone(fresh) == "13800007777"
        assert PHONE_PURPOSE == "user.phone"
    finally:
        app.config["DATA_ENCRYPTION_KEYS"] = original
        app.extensions.pop("keyring", None)


def test_logs_never_carry_phones_or_secrets(caplog):
    assert redact("bind 13800001234 ok") == "bind 138****1234 ok"
    assert redact("id=11010519850312001X, 110105198503120028.") == "id=110***********001X, 110***********0028."
    assert redact("session_key=abc123&x=1") == "session_key=***&x=1"
    assert redact('{"secret": "s3cr3t"}') == '{"secret": "***"}'
    from app.logging_setup import RedactingFilter

    logger = logging.getLogger("test.redact")
    logger.addFilter(RedactingFilter())
    with caplog.at_level(logging.INFO, logger="test.redact"):
        logger.info("phone %s", "13912345678")
    assert "13912345678" not in caplog.text and "139****5678" in caplog.text

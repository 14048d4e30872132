"""Personal data at rest: AES-GCM encryption with a key ring, an HMAC blind index, masking.

Key ring (DATA_ENCRYPTION_KEYS): "kid:base64key[,kid:base64key...]", 32-byte keys, the
first one encrypts, every listed one decrypts. A stored value is "kid:base64(nonce|ct)",
so rotation is: put a new key first, run `flask rotate-pii`, later drop the old key.
The associated data binds a ciphertext to its purpose ("user.phone"), so a value cannot
be copied into another column and decrypt there.

The blind index (BLIND_INDEX_KEY) is HMAC-SHA256 over the normalised value: equality
lookups without decrypting. It is not rotated with the encryption keys.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from flask import current_app


class KeyRing:
    def __init__(self, spec: str):
        self.keys: dict[str, AESGCM] = {}
        self.current: str | None = None
        for part in [p.strip() for p in spec.split(",") if p.strip()]:
            kid, _, b64 = part.partition(":")
            raw = base64.b64decode(b64)
            if len(raw) != 32 or not kid or not re.fullmatch(r"[A-Za-z0-9_-]+", kid):
                raise ValueError("DATA_ENCRYPTION_KEYS entries must be kid:base64(32 bytes)")
            self.keys[kid] = AESGCM(raw)
            self.current = self.current or kid
        if not self.current:
            raise ValueError("DATA_ENCRYPTION_KEYS is empty")

    def encrypt(self, plaintext: str, purpose: str) -> str:
        nonce = os.urandom(12)
        ct = self.keys[self.current].encrypt(nonce, plaintext.encode(), purpose.encode())
        return f"{self.current}:{base64.b64encode(nonce + ct).decode()}"

    def decrypt(self, stored: str, purpose: str) -> str:
        kid, _, b64 = stored.partition(":")
        raw = base64.b64decode(b64)
        return self.keys[kid].decrypt(raw[:12], raw[12:], purpose.encode()).decode()

    def needs_rotation(self, stored: str) -> bool:
        return not stored.startswith(f"{self.current}:")


def _ring() -> KeyRing:
    ring = current_app.extensions.get("keyring")
    if ring is None:
        ring = current_app.extensions["keyring"] = KeyRing(current_app.config["DATA_ENCRYPTION_KEYS"])
    return ring


def encrypt(plaintext: str | None, purpose: str) -> str | None:
    return None if plaintext is None else _ring().encrypt(plaintext, purpose)


def decrypt(stored: str | None, purpose: str) -> str | None:
    return None if stored is None else _ring().decrypt(stored, purpose)


def needs_rotation(stored: str | None) -> bool:
    return stored is not None and _ring().needs_rotation(stored)


def blind_index(value: str, purpose: str) -> str:
    key = current_app.config["BLIND_INDEX_KEY"].encode()
    msg = f"{purpose}\x00{value}".encode()
    return hmac.new(key, msg, hashlib.sha256).hexdigest()


PHONE_RE = re.compile(r"^1[3-9]\d{9}$")


def normalise_phone(raw: str) -> str | None:
    """A mainland mobile number as 11 digits, or None if it is not one."""
    digits = re.sub(r"[\s\-()]", "", raw or "")
    if digits.startswith("+86"):
        digits = digits[3:]
    elif digits.startswith("0086"):
        digits = digits[4:]
    return digits if PHONE_RE.match(digits) else None


def phone_index(phone: str) -> str:
    return blind_index(phone, "phone")


def mask_phone(phone: str | None) -> str | None:
    if not phone:
        return None
    return phone[:3] + "****" + phone[-4:] if len(phone) >= 7 else "****"


def token_hash(token: str) -> str:
    """Tokens and one-time codes are stored only as hashes."""
    return hashlib.sha256(token.encode()).hexdigest()

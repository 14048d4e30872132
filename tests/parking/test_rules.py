"""The draw (a pure function of seed, weights and supply) and gate signatures."""

from __future__ import annotations

import secrets
from collections import Counter

import pytest

from blueprints.parking.rules import Applicant, draw, sign, signature_matches


def applicants(n: int, heavy: set[int] = frozenset()) -> list[Applicant]:
    return [Applicant(reservation_id=i, user_id=100 + i, weight=4.0 if i in heavy else 1.0) for i in range(1, n + 1)]


def test_same_seed_same_result_whatever_the_input_order():
    seed = secrets.token_hex(16)
    people = applicants(30)
    first = draw(seed, people, 10)
    assert first == draw(seed, list(reversed(people)), 10)
    assert len(first["winners"]) == 10 and len(first["waitlist"]) == 20
    assert sorted(first["winners"] + first["waitlist"]) == list(range(1, 31))
    assert draw(secrets.token_hex(16), people, 10) != first  # 1 in C(30,10) orders to collide


def test_supply_above_demand_everyone_wins():
    result = draw("ab", applicants(3), 5)
    assert sorted(result["winners"]) == [1, 2, 3] and result["waitlist"] == []


def test_weights_tilt_the_odds():
    wins = Counter()
    for n in range(400):
        wins.update(draw(f"{n:x}", applicants(10, heavy={1}), 1)["winners"])
    # weight 4 among nine of weight 1: P(win) = 4/13 ≈ 0.31 against 1/13 ≈ 0.08 each
    assert 90 <= wins[1] <= 160 and all(wins[i] < wins[1] for i in range(2, 11))


def test_non_positive_weight_is_refused():
    with pytest.raises(ValueError):
        draw("ab", [Applicant(1, 1, 0.0)], 1)


def test_signature():
    body = b'{"plate": "\xe4\xba\xacA12345"}'
    signature = sign("s3cret-key-of-gate", "post", "/api/v1/parking/gate/events", "1790000000", "n" * 16, body)
    assert len(signature) == 64
    assert signature_matches("s3cret-key-of-gate", signature, "POST", "/api/v1/parking/gate/events", "1790000000",
                             "n" * 16, body)
    for changed in (("other-secret-key!", "POST", "/api/v1/parking/gate/events", "1790000000", "n" * 16, body),
                    ("s3cret-key-of-gate", "POST", "/api/v1/parking/gate/events", "1790000001", "n" * 16, body),
                    ("s3cret-key-of-gate", "POST", "/api/v1/parking/gate/events", "1790000000", "m" * 16, body),
                    ("s3cret-key-of-gate", "POST", "/api/v1/parking/gate/events", "1790000000", "n" * 16, body + b" ")):
        assert not signature_matches(changed[0], signature, *changed[1:])


# --- authenticate_gate ------------------------------------------------------------------------

PATH = "/api/v1/parking/gate/events"


def _gate(make, active: bool = True):
    from app import crypto
    from app.extensions import db
    from blueprints.parking.rules import GATE_SECRET_PURPOSE
    from models.parking import GateKey, ParkingLot
    from models.places import Place

    building = Place(kind="building", name=f"主楼{secrets.token_hex(3)}")
    db.session.add(building)
    db.session.flush()
    place = Place(kind="area", name="地下停车场", parent_id=building.id)
    db.session.add(place)
    db.session.flush()
    lot = ParkingLot(place_id=place.id, name="地下停车场")
    db.session.add(lot)
    db.session.flush()
    secret = secrets.token_urlsafe(32)
    gate = GateKey(lot_id=lot.id, key_id=f"g{secrets.token_hex(4)}", name="东门入口",
                   secret_enc=crypto.encrypt(secret, GATE_SECRET_PURPOSE), is_active=active)
    db.session.add(gate)
    db.session.commit()
    return gate, secret


def _headers(gate, secret, body=b"{}", *, timestamp=None, nonce=None, **overrides):
    import time

    timestamp = str(int(time.time())) if timestamp is None else timestamp
    nonce = nonce or secrets.token_urlsafe(16)
    headers = {"X-Gate-Key": gate.key_id, "X-Gate-Timestamp": timestamp, "X-Gate-Nonce": nonce,
               "X-Gate-Signature": sign(secret, "POST", PATH, timestamp, nonce, body)}
    headers.update(overrides)
    return headers


def _code(headers, body=b"{}"):
    from app.errors import AppError
    from blueprints.parking.rules import authenticate_gate

    try:
        authenticate_gate("POST", PATH, headers, body)
    except AppError as err:
        return err.code
    return "ok"


def test_gate_authentication(app, make):
    import time

    from app.extensions import db

    gate, secret = _gate(make)
    headers = _headers(gate, secret)
    assert _code(headers) == "ok"
    db.session.commit()
    assert _code(headers) == "PARKING_REPLAYED"                      # the same nonce again
    db.session.rollback()
    assert _code(_headers(gate, secret), body=b"{ }") == "PARKING_SIGNATURE_INVALID"  # body changed
    assert _code(_headers(gate, "not-the-secret")) == "PARKING_SIGNATURE_INVALID"
    assert _code(_headers(gate, secret, timestamp=str(int(time.time()) - 301))) == "PARKING_TIMESTAMP_STALE"
    assert _code(_headers(gate, secret, timestamp=str(int(time.time()) + 301))) == "PARKING_TIMESTAMP_STALE"
    assert _code(_headers(gate, secret, **{"X-Gate-Key": "nobody"})) == "PARKING_GATE_UNKNOWN"
    for name in ("X-Gate-Key", "X-Gate-Timestamp", "X-Gate-Nonce", "X-Gate-Signature"):
        assert _code({k: v for k, v in _headers(gate, secret).items() if k != name}) == "PARKING_SIGNATURE_INVALID"
    assert _code(_headers(gate, secret, nonce="short")) == "PARKING_SIGNATURE_INVALID"
    retired, retired_secret = _gate(make, active=False)
    assert _code(_headers(retired, retired_secret)) == "PARKING_GATE_UNKNOWN"

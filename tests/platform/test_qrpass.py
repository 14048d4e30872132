"""QR passes (app/qrpass.py, POST /api/v1/passes/verify) on the test-only sample order:
tokens, tampering, expiry, key rotation, PNG, who may scan, refused orders, and concurrent
scans against a live multi-process server."""

from __future__ import annotations

import io
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from PIL import Image

from app import qrpass
from app.config import ConfigError, load_config
from app.errors import AppError
from app.extensions import db
from app.timeutil import utcnow
from tests.identity.helpers import assert_error
from tests.platform.conftest import new_order, principal
from tests.platform.orders import PASS, SAMPLE, SampleOrder

VERIFY = "/api/v1/passes/verify"


@pytest.fixture
def people(make):
    company = make.company("security")
    return {"company": company, "owner": make.user(name="赵敏"), "staff": make.user(),
            "guard": make.user("guard", company=company, name="保安甲"),
            "guard2": make.user("guard", company=company, name="保安乙"),
            "foreign_guard": make.user("guard", company=make.company("security"))}


def _issue(order, holder, **kwargs) -> str:
    return qrpass.issue(PASS, order, principal(holder), **kwargs)["token"]


def _code(fn) -> tuple[str, dict]:
    with pytest.raises(AppError) as exc:
        fn()
    return exc.value.code, exc.value.details


def _state(order_id):
    db.session.expire_all()
    return db.session.get(SampleOrder, order_id).status


def test_token_round_trip_is_compact_and_url_safe(people):
    order = new_order(people["owner"], people["company"])
    now = utcnow()
    issued = qrpass.issue(PASS, order, principal(people["owner"]), now=now)
    token = issued["token"]
    assert len(token) < 110 and all(c.isalnum() or c in "._-" for c in token), token
    assert token.startswith(f"P1.dev1.sample.{order.id}.{people['owner'].id}.booked.")
    assert issued["expires_at"] - now == pytest.approx(timedelta(seconds=60), abs=timedelta(seconds=1))
    assert issued["expires_at"] - timedelta(seconds=30) <= issued["refresh_after"] < issued["expires_at"]
    claims = qrpass.read(token)
    assert (claims.purpose, claims.order_id, claims.holder_id, claims.state) == (
        "sample", order.id, people["owner"].id, "booked")


def test_tampered_unknown_key_and_garbage_tokens_are_invalid(people):
    order, other = new_order(people["owner"], people["company"]), new_order(people["staff"], people["company"])
    token = _issue(order, people["owner"])
    head, _, signature = token.rpartition(".")
    forged = [
        (token.replace(f".{order.id}.", f".{other.id}.", 1), "signature"),       # another order
        (head.replace(".booked.", ".inside.") + "." + signature, "signature"),   # another state
        (head + "." + ("A" if signature[0] != "A" else "B") + signature[1:], "signature"),
        (token.replace("P1.dev1.", "P1.old9.", 1), "key"),
        ("P1.dev1.sample.1.2.booked.99999999999", "format"),
        ("https://example.com/?t=" + token, "format"),
        ("", "format"),
    ]
    for bad, reason in forged:
        assert _code(lambda bad=bad: qrpass.read(bad)) == ("PASS_INVALID", {"reason": reason}), bad


def test_expiry_with_small_skew(people):
    order = new_order(people["owner"], people["company"])
    assert qrpass.read(_issue(order, people["owner"], now=utcnow() - timedelta(seconds=63)))  # within skew
    old = _issue(order, people["owner"], now=utcnow() - timedelta(seconds=70))
    assert _code(lambda: qrpass.read(old)) == ("PASS_EXPIRED", {})


def test_key_rotation(people, app, monkeypatch):
    order = new_order(people["owner"], people["company"])
    monkeypatch.setitem(app.config, "QR_SIGNING_KEYS", "k1:first-secret-0123456789")
    old = _issue(order, people["owner"])
    assert old.startswith("P1.k1.")
    monkeypatch.setitem(app.config, "QR_SIGNING_KEYS", "k2:second-secret-0123456789,k1:first-secret-0123456789")
    assert qrpass.read(old).order_id == order.id          # the old key still verifies
    new = _issue(order, people["owner"])
    assert new.startswith("P1.k2.") and qrpass.read(new).order_id == order.id  # the new key signs
    monkeypatch.setitem(app.config, "QR_SIGNING_KEYS", "k2:second-secret-0123456789")
    assert _code(lambda: qrpass.read(old)) == ("PASS_INVALID", {"reason": "key"})
    # Same kid, another secret: the signature no longer matches.
    monkeypatch.setitem(app.config, "QR_SIGNING_KEYS", "k2:replaced-secret-0123456789")
    assert _code(lambda: qrpass.read(new)) == ("PASS_INVALID", {"reason": "signature"})
    monkeypatch.setitem(app.config, "QR_SIGNING_KEYS", "k3:short")
    with pytest.raises(ValueError, match="QR_SIGNING_KEYS"):
        _issue(order, people["owner"])


def test_production_needs_its_own_qr_keys(monkeypatch):
    for name, value in {"DATABASE_URL": "postgresql://db/x", "REDIS_URL": "redis://r/0", "SECRET_KEY": "s" * 40,
                        "DATA_ENCRYPTION_KEYS": "k:" + "A" * 44, "BLIND_INDEX_KEY": "b" * 40}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("QR_SIGNING_KEYS", raising=False)
    with pytest.raises(ConfigError, match="QR_SIGNING_KEYS"):
        load_config("production")
    from app.config import _INSECURE

    monkeypatch.setenv("QR_SIGNING_KEYS", _INSECURE["QR_SIGNING_KEYS"])
    with pytest.raises(ConfigError, match="QR_SIGNING_KEYS"):
        load_config("production")
    monkeypatch.setenv("QR_SIGNING_KEYS", "p1:" + "z" * 40)
    assert load_config("production")["QR_SIGNING_KEYS"] == "p1:" + "z" * 40
    monkeypatch.delenv("QR_SIGNING_KEYS")
    assert load_config("test")["QR_SIGNING_KEYS"] == _INSECURE["QR_SIGNING_KEYS"]


def test_pass_route_json_and_png(people, pclient, make):
    order = new_order(people["owner"], people["company"])
    owner = make.headers(people["owner"])
    resp = pclient.get(f"/api/v1/_sample/orders/{order.id}/pass", headers=owner)
    assert resp.status_code == 200 and resp.headers["Cache-Control"] == "no-store"
    body = resp.get_json()
    assert set(body) == {"token", "expires_at", "refresh_after"}
    assert body["expires_at"].endswith("+08:00") and qrpass.read(body["token"]).order_id == order.id

    png = pclient.get(f"/api/v1/_sample/orders/{order.id}/pass?format=png", headers=owner)
    assert png.status_code == 200 and png.mimetype == "image/png"
    assert png.data[:8] == b"\x89PNG\r\n\x1a\n" and png.headers["X-Pass-Expires-At"].endswith("+08:00")
    image = Image.open(io.BytesIO(png.data))
    assert image.format == "PNG" and image.size[0] == image.size[1] >= 200
    assert_error(pclient.get(f"/api/v1/_sample/orders/{order.id}/pass?format=gif", headers=owner),
                 422, "VALIDATION_ERROR")
    # Someone else's order has no pass for you.
    assert_error(pclient.get(f"/api/v1/_sample/orders/{order.id}/pass", headers=make.headers(people["staff"])),
                 404, "NOT_FOUND")
    spec = pclient.get("/api/openapi.json").get_json()
    content = spec["paths"]["/api/v1/_sample/orders/{order_id}/pass"]["get"]["responses"]["200"]["content"]
    assert set(content) == {"application/json", "image/png"}


def test_no_pass_for_an_order_outside_the_steps(people):
    order = new_order(people["owner"], people["company"], status="cancelled")
    code, details = _code(lambda: _issue(order, people["owner"]))
    assert (code, details) == ("PASS_ORDER_NOT_ACTIVE", {"current": "cancelled", "current_label": "已取消"})
    code, _ = _code(lambda: _issue(order, people["staff"]))  # and never for someone else's order
    assert code == "NOT_FOUND"


def test_scan_makes_the_step_of_the_state_the_pass_was_issued_in(people, pclient, make):
    order = new_order(people["owner"], people["company"], item="访客", qty=2)
    guard = make.headers(people["guard"])
    entry = _issue(order, people["owner"])
    resp = pclient.post(VERIFY, json={"token": entry}, headers=guard)
    assert resp.status_code == 200, resp.get_json()
    assert resp.get_json() == {
        "purpose": "sample", "order_type": "sample", "order_id": order.id, "transition": "check_in",
        "transition_label": "入场核验", "from_state": "booked", "state": "inside", "state_label": "在场",
        "holder": {"id": people["owner"].id, "name": "赵敏"}, "summary": {"item": "访客", "qty": 2}}
    # The same entry pass again (a screenshot, a second guard): refused, naming the state; not a check-out.
    again = assert_error(pclient.post(VERIFY, json={"token": entry}, headers=make.headers(people["guard2"])),
                         409, "INVALID_TRANSITION")
    assert again["message"] == "当前状态为「在场」，不能入场核验" and again["details"]["current"] == "inside"
    assert _state(order.id) == "inside"
    # A fresh pass, issued while inside, checks out.
    exit_pass = _issue(db.session.get(SampleOrder, order.id), people["owner"])
    out = pclient.post(VERIFY, json={"token": exit_pass}, headers=guard)
    assert out.status_code == 200 and out.get_json()["transition"] == "check_out"
    timeline = SAMPLE.timeline(order.id)
    assert [(r["transition"], r["actor_name"], r["note"]) for r in timeline] == [
        ("create", "赵敏", None), ("check_in", "保安甲", "扫描测试通行码"), ("check_out", "保安甲", "扫描测试通行码")]


def test_who_may_scan(people, pclient, make):
    order = new_order(people["owner"], people["company"])
    token = _issue(order, people["owner"])
    for scanner in ("owner", "staff", "foreign_guard"):
        assert_error(pclient.post(VERIFY, json={"token": token}, headers=make.headers(people[scanner])),
                     403, "FORBIDDEN")
    assert_error(pclient.post(VERIFY, json={"token": token}), 401, "AUTH_REQUIRED")
    assert _state(order.id) == "booked"


def test_cancelled_order_pass_is_refused(people, pclient, make):
    order = new_order(people["owner"], people["company"])
    token = _issue(order, people["owner"])
    owner = make.headers(people["owner"])
    assert pclient.post(f"/api/v1/_sample/orders/{order.id}/cancel", json={}, headers=owner).status_code == 200
    body = assert_error(pclient.post(VERIFY, json={"token": token}, headers=make.headers(people["guard"])),
                        409, "INVALID_TRANSITION")
    assert body["message"] == "当前状态为「已取消」，不能入场核验"
    assert body["details"] == {"current": "cancelled", "current_label": "已取消", "transition": "check_in",
                               "allowed_from": ["booked"]}
    assert_error(pclient.get(f"/api/v1/_sample/orders/{order.id}/pass", headers=owner), 409, "PASS_ORDER_NOT_ACTIVE")


def test_pass_of_an_order_the_holder_no_longer_holds(people, pclient, make):
    order = new_order(people["owner"], people["company"])
    token = _issue(order, people["owner"])
    order.user_id = people["staff"].id
    db.session.commit()
    body = assert_error(pclient.post(VERIFY, json={"token": token}, headers=make.headers(people["guard"])),
                        400, "PASS_INVALID")
    assert body["details"] == {"reason": "holder"}
    db.session.delete(db.session.get(SampleOrder, order.id))
    db.session.commit()
    assert_error(pclient.post(VERIFY, json={"token": token}, headers=make.headers(people["guard"])), 404, "NOT_FOUND")


def test_verify_bad_input_is_4xx(people, pclient, make):
    guard = make.headers(people["guard"])
    order = new_order(people["owner"], people["company"])
    expired = _issue(order, people["owner"], now=utcnow() - timedelta(minutes=5))
    assert_error(pclient.post(VERIFY, json={"token": expired}, headers=guard), 400, "PASS_EXPIRED")
    for body in ({}, {"token": ""}, {"token": 5}, {"token": "x" * 301}):
        assert_error(pclient.post(VERIFY, json=body, headers=guard), 422, "VALIDATION_ERROR")
    assert_error(pclient.post(VERIFY, json={"token": "not a pass"}, headers=guard), 400, "PASS_INVALID")
    resp = pclient.post(VERIFY, data="{", content_type="application/json", headers=guard)
    assert 400 <= resp.status_code < 500 and set(resp.get_json()) == {"code", "message", "details"}


def test_threads_scan_one_pass_once(people, papp, make):
    order_id = new_order(people["owner"], people["company"]).id
    token = _issue(db.session.get(SampleOrder, order_id), people["owner"])
    headers = [make.headers(people["guard"]), make.headers(people["guard2"])]
    barrier = threading.Barrier(6)

    def scan(n):
        client = papp.test_client()
        barrier.wait(timeout=30)
        return client.post(VERIFY, json={"token": token}, headers=headers[n % 2])

    with ThreadPoolExecutor(6) as pool:
        answers = list(pool.map(scan, range(6)))
    assert sorted(a.status_code for a in answers) == [200] + [409] * 5
    assert {a.get_json()["details"]["current"] for a in answers if a.status_code == 409} == {"inside"}
    assert [r["transition"] for r in SAMPLE.timeline(order_id)] == ["create", "check_in"]


def test_live_server_scans_one_pass_once(people, live, make):
    """Six scans of one pass at once, from two guards, served by three gunicorn worker
    processes (each scan waits in can_scan, so they all race the one conditional update)."""
    order_id = new_order(people["owner"], people["company"], item="slow").id
    token = _issue(db.session.get(SampleOrder, order_id), people["owner"])
    tokens = [make.token(people["guard"]), make.token(people["guard2"])]
    barrier = threading.Barrier(6)

    def scan(n):
        barrier.wait(timeout=30)
        return live.post("/passes/verify", {"token": token}, tokens[n % 2])

    with ThreadPoolExecutor(6) as pool:
        answers = list(pool.map(scan, range(6)))
    assert sorted(a.status_code for a in answers) == [200] + [409] * 5, [a.text for a in answers]
    winner = next(a.json() for a in answers if a.status_code == 200)
    assert winner["state"] == "inside" and winner["holder"]["id"] == people["owner"].id
    for loser in (a.json() for a in answers if a.status_code == 409):
        assert loser["code"] == "INVALID_TRANSITION" and loser["details"]["current"] == "inside"
        assert "在场" in loser["message"]
    assert len(live.worker_pids("/api/v1/passes/verify")) >= 2  # the race spanned processes
    assert _state(order_id) == "inside"
    assert [r["transition"] for r in SAMPLE.timeline(order_id)] == ["create", "check_in"]

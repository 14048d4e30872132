"""The gate through the API: the visitor's pass (issued only inside the window), scanning in and
out through POST /passes/verify with every refusal the guard sees, check-in at the gate for a
walk-in, and two guards in separate processes scanning one pass. Every answer is checked for
the plaintext phones and ID numbers the visits hold."""

from __future__ import annotations

from datetime import timedelta

import pytest
from flask import current_app
from sqlalchemy import select

from app import qrpass
from app.auth import Principal
from app.extensions import db
from app.lifecycle import SYSTEM
from app.timeutil import utcnow
from blueprints.visitors.rules import VISIT, VISIT_PASS
from models.notifications import InAppMessage
from models.platform import OrderTransition
from models.visitors import Visit
from tests.identity.helpers import assert_error
from tests.rooms.booking_helpers import post_worker
from tests.support.procs import run_at_once
from tests.visitors.conftest import make_visit, resident_id

API = "/api/v1/visitors"
VERIFY = "/api/v1/passes/verify"
PHONE = "13912345678"
ID_NUMBER = resident_id(11)
COMPANION_ID = resident_id(12)
SECRETS = [PHONE, ID_NUMBER, COMPANION_ID]


def checked(resp):
    text = resp.get_data(as_text=True)
    for secret in SECRETS:
        assert secret not in text, (secret, text)
    return resp


@pytest.fixture
def host(make):
    return make.user(name="张主任", department=make.department("办公室"))


@pytest.fixture
def visitor(make):
    return make.user(kind="visitor", name="微信用户")


@pytest.fixture
def guard(make):
    return make.user("guard", name="门岗甲", company=make.company("security"))


def minute(offset: timedelta = timedelta()) -> object:
    return (utcnow() + offset).replace(second=0, microsecond=0)


def visit_of(make, host, visitor=None, *, start=None, hours=2, status="approved", **values) -> Visit:
    start = start or minute(-timedelta(minutes=10))
    application = make_visit(make, host, visitor=visitor, status=status, starts_at=start,
                             ends_at=start + timedelta(hours=hours), phone=PHONE, id_number=ID_NUMBER,
                             companions=[("李随行", COMPANION_ID)], **values)
    return application.visits[0]


def get_pass(client, make, visit_id, who):
    return checked(client.get(f"{API}/visits/{visit_id}/pass", headers=make.headers(who)))


def scan(client, make, token, who):
    return checked(client.post(VERIFY, json={"token": token}, headers=make.headers(who)))


def fresh(visit_id) -> Visit:
    db.session.expire_all()
    return db.session.get(Visit, visit_id)


def messages(user, template) -> list[InAppMessage]:
    db.session.expire_all()
    return list(db.session.execute(select(InAppMessage).where(InAppMessage.user_id == user.id,
                                                              InAppMessage.template == template)).scalars())


# --- the pass --------------------------------------------------------------------------------

def test_pass_only_inside_the_window_and_only_for_the_visitor(client, make, host, visitor):
    early = current_app.config["VISIT_EARLY_MINUTES"]
    soon = visit_of(make, host, visitor, start=minute(timedelta(minutes=early + 10)))
    body = assert_error(get_pass(client, make, soon.id, visitor), 409, "VISIT_PASS_NOT_YET_VALID")
    assert body["details"]["valid_from"] and "起可入场" in body["message"]

    over = visit_of(make, host, visitor, start=minute(-timedelta(hours=3)))  # ended an hour ago, not yet swept
    assert_error(get_pass(client, make, over.id, visitor), 409, "VISIT_PASS_WINDOW_OVER")

    within_margin = visit_of(make, host, visitor, start=minute(timedelta(minutes=early - 5)))
    resp = get_pass(client, make, within_margin.id, visitor)
    assert resp.status_code == 200 and resp.headers["Cache-Control"] == "no-store"
    token = resp.get_json()["token"]
    assert qrpass.read(token).state == "approved" and qrpass.read(token).order_id == within_margin.id
    png = client.get(f"{API}/visits/{within_margin.id}/pass?format=png", headers=make.headers(visitor))
    assert png.status_code == 200 and png.mimetype == "image/png" and png.data[:4] == b"\x89PNG"

    # only the holder: the host and a guard see the visit but have no pass for it
    for who in (host, make.user("guard", company=make.company("security"))):
        assert_error(get_pass(client, make, within_margin.id, who), 404, "NOT_FOUND")
    # not in a state with a pass
    pending = visit_of(make, host, visitor, status="pending")
    assert_error(get_pass(client, make, pending.id, visitor), 409, "PASS_ORDER_NOT_ACTIVE")


# --- scanning --------------------------------------------------------------------------------

def test_scan_in_then_out_records_who_and_when_and_tells_the_host(client, make, host, visitor, guard):
    visit = visit_of(make, host, visitor, plate="京A12345")
    token = get_pass(client, make, visit.id, visitor).get_json()["token"]
    before = utcnow()
    resp = scan(client, make, token, guard)
    assert resp.status_code == 200, resp.get_json()
    data = resp.get_json()
    assert (data["transition"], data["from_state"], data["state"]) == ("check_in", "approved", "inside")
    assert data["summary"]["visitor"] == "王访客" and data["summary"]["id_number"] == "110***********" + ID_NUMBER[-4:]
    assert data["summary"]["companions"] == 1 and data["summary"]["plate"] == "京A12345"
    row = fresh(visit.id)
    assert row.status == "inside" and row.checked_in_by_id == guard.id and row.checked_in_at >= before - timedelta(
        seconds=1)
    assert row.checked_out_at is None
    notices = messages(host, "visit_checked_in")
    assert len(notices) == 1 and "王访客" in notices[0].title
    assert all(s not in notices[0].body + notices[0].title for s in SECRETS)

    # the same screen again: the visit left the state the pass names
    again = assert_error(scan(client, make, token, guard), 409, "INVALID_TRANSITION")
    assert "在访" in again["message"]

    # the holder's pass refreshed while inside names the new state; its scan checks out
    out_token = get_pass(client, make, visit.id, visitor).get_json()["token"]
    assert qrpass.read(out_token).state == "inside"
    second_guard = make.user("guard", company=make.company("security"))
    resp = scan(client, make, out_token, second_guard)
    assert resp.status_code == 200 and resp.get_json()["transition"] == "check_out"
    row = fresh(visit.id)
    assert row.status == "left" and row.checked_out_by_id == second_guard.id and row.checked_out_at >= row.checked_in_at
    assert row.checked_in_by_id == guard.id
    assert len(messages(host, "visit_checked_in")) == 1  # no notice on the way out
    assert_error(scan(client, make, out_token, guard), 409, "INVALID_TRANSITION")
    assert_error(get_pass(client, make, visit.id, visitor), 409, "PASS_ORDER_NOT_ACTIVE")
    steps = db.session.execute(select(OrderTransition.transition, OrderTransition.actor_id).where(
        OrderTransition.order_type == "visit", OrderTransition.order_id == visit.id)
        .order_by(OrderTransition.id)).all()
    assert [tuple(s) for s in steps] == [("create", None), ("check_in", guard.id), ("check_out", second_guard.id)]


def test_scan_refusals_tell_the_guard_why(client, make, host, visitor, guard):
    visit = visit_of(make, host, visitor)
    token = get_pass(client, make, visit.id, visitor).get_json()["token"]

    assert_error(scan(client, make, "not a pass", guard), 400, "PASS_INVALID")
    forged = token[:-3] + ("AAA" if not token.endswith("AAA") else "BBB")
    assert assert_error(scan(client, make, forged, guard), 400, "PASS_INVALID")["details"]["reason"] == "signature"
    unknown = qrpass.issue(VISIT_PASS, visit, Principal.for_user(visitor))["token"].replace(
        f".visit.{visit.id}.", f".visit.{visit.id + 1000}.")  # another order id: the signature no longer holds
    assert_error(scan(client, make, unknown, guard), 400, "PASS_INVALID")
    stale = qrpass.issue(VISIT_PASS, visit, Principal.for_user(visitor), now=utcnow() - timedelta(minutes=3))
    assert_error(scan(client, make, stale["token"], guard), 400, "PASS_EXPIRED")

    # a scan by someone who is not a guard
    for who in (host, make.user("canteen_staff", company=make.company("canteen_operator"))):
        assert_error(scan(client, make, token, who), 403, "FORBIDDEN")
    assert fresh(visit.id).status == "approved"

    # the window moved after the pass was shown: too early, then over
    start, end = visit.starts_at, visit.ends_at
    early = current_app.config["VISIT_EARLY_MINUTES"]
    row = fresh(visit.id)
    row.starts_at, row.ends_at = minute(timedelta(minutes=early + 30)), minute(timedelta(hours=3))
    db.session.commit()
    body = assert_error(scan(client, make, token, guard), 409, "VISIT_PASS_NOT_YET_VALID")
    assert body["details"]["valid_from"]
    row = fresh(visit.id)
    row.starts_at, row.ends_at = minute(-timedelta(hours=2)), minute(-timedelta(minutes=1))
    db.session.commit()
    assert_error(scan(client, make, token, guard), 409, "VISIT_PASS_WINDOW_OVER")
    row = fresh(visit.id)
    row.starts_at, row.ends_at = start, end
    db.session.commit()
    assert fresh(visit.id).status == "approved" and fresh(visit.id).checked_in_at is None

    # cancelled after the pass was shown: refused, naming the state
    VISIT.transition(visit.id, "cancel", Principal.for_user(host))
    db.session.commit()
    body = assert_error(scan(client, make, token, guard), 409, "INVALID_TRANSITION")
    assert "已取消" in body["message"] and body["details"]["current"] == "cancelled"
    assert fresh(visit.id).checked_in_at is None
    assert messages(host, "visit_checked_in") == []


def test_two_guards_in_two_processes_scan_one_pass_one_check_in(client, make, host, visitor):
    visit = visit_of(make, host, visitor)
    token = get_pass(client, make, visit.id, visitor).get_json()["token"]
    guards = [make.user("guard", company=make.company("security")) for _ in range(2)]
    outcomes = run_at_once(post_worker, [(make.token(g), "/passes/verify", {"token": token}) for g in guards])
    assert sorted(status for status, _ in outcomes) == [200, 409], outcomes
    assert [code for status, code in outcomes if status == 409] == ["INVALID_TRANSITION"]
    row = fresh(visit.id)
    assert row.status == "inside" and row.checked_in_by_id in {g.id for g in guards}
    assert db.session.execute(select(OrderTransition).where(
        OrderTransition.order_id == visit.id, OrderTransition.transition == "check_in")).scalars().all().__len__() == 1
    assert len(messages(host, "visit_checked_in")) == 1


# --- at the gate without a scan --------------------------------------------------------------

def test_walk_in_checked_in_and_out_at_the_gate(client, make, host, guard, visit_clock):
    visit = visit_of(make, host, None, source="walk_in")
    url = f"{API}/visits/{visit.id}"
    # not a guard
    assert_error(checked(client.post(f"{url}/check-in", headers=make.headers(host))), 403, "FORBIDDEN")
    resp = checked(client.post(f"{url}/check-in", headers=make.headers(guard)))
    assert resp.status_code == 200, resp.get_json()
    data = resp.get_json()
    assert data["status"] == "inside" and data["has_pass"] is False and data["checked_in_at"]
    assert data["id_masked"].endswith(ID_NUMBER[-4:]) and data["phone_masked"] == "139****5678"
    row = fresh(visit.id)
    assert row.checked_in_by_id == guard.id
    assert len(messages(host, "visit_checked_in")) == 1
    body = assert_error(checked(client.post(f"{url}/check-in", headers=make.headers(guard))), 409,
                        "INVALID_TRANSITION")
    assert "在访" in body["message"]

    resp = checked(client.post(f"{url}/check-out", headers=make.headers(guard)))
    assert resp.status_code == 200 and resp.get_json()["status"] == "left"
    assert fresh(visit.id).checked_out_by_id == guard.id
    assert_error(checked(client.post(f"{url}/check-out", headers=make.headers(guard))), 409, "INVALID_TRANSITION")


def test_gate_check_in_applies_the_window(client, make, host, guard, visit_clock):
    visit = visit_of(make, host, None, source="walk_in", start=minute(timedelta(hours=2)))
    url = f"{API}/visits/{visit.id}/check-in"
    assert_error(checked(client.post(url, headers=make.headers(guard))), 409, "VISIT_PASS_NOT_YET_VALID")
    visit_clock(visit.ends_at + timedelta(minutes=1))
    assert_error(checked(client.post(url, headers=make.headers(guard))), 409, "VISIT_PASS_WINDOW_OVER")
    visit_clock(visit.starts_at - timedelta(minutes=5))
    resp = checked(client.post(url, headers=make.headers(guard)))
    assert resp.status_code == 200
    assert fresh(visit.id).checked_in_at == visit.starts_at - timedelta(minutes=5)
    # check-out is always possible, even long after the window
    visit_clock(visit.ends_at + timedelta(hours=5))
    assert checked(client.post(f"{API}/visits/{visit.id}/check-out", headers=make.headers(guard))).status_code == 200
    assert fresh(visit.id).checked_out_at == visit.ends_at + timedelta(hours=5)
    # unknown and cancelled visits
    assert_error(checked(client.post(f"{API}/visits/999999/check-in", headers=make.headers(guard))), 404,
                 "NOT_FOUND")
    other = visit_of(make, host, None, source="walk_in")
    VISIT.transition(other.id, "expire", SYSTEM)
    db.session.commit()
    body = assert_error(checked(client.post(f"{API}/visits/{other.id}/check-in", headers=make.headers(guard))), 409,
                        "INVALID_TRANSITION")
    assert "已过期" in body["message"]

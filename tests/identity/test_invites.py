"""One-time invitations for contractor staff: created by the company's manager, shown once,
stored as a hash, redeemed exactly once (also by two processes at the same moment)."""

from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace

import pytest
from sqlalchemy import select, text, update

from app.auth import Principal
from app.crypto import phone_index, token_hash
from app.extensions import db
from app.timeutil import utcnow
from blueprints.identity.service import revoke_invite, user_phone
from models import ApiToken, InviteCode, User
from tests.identity._workers import run_at_once
from tests.identity.helpers import API, assert_error, assert_no_phone_in_audit, audit_rows, me


@pytest.fixture
def canteen(make):
    return make.company("canteen_operator", name="甲食堂公司")


@pytest.fixture
def manager(make, canteen):
    return make.user("canteen_manager", company=canteen)


def create(client, headers, company, role="canteen_staff", **extra):
    return client.post(f"{API}/companies/{company.id}/invites", headers=headers, json={"role": role, **extra})


def redeem(client, headers, code, name="王师傅", phone="13700001234"):
    return client.post(f"{API}/invites/redeem", headers=headers, json={"code": code, "name": name, "phone": phone})


@pytest.fixture
def code(client, make, manager, canteen):
    resp = create(client, make.headers(manager), canteen)
    assert resp.status_code == 201, resp.get_json()
    return resp.get_json()["code"]


# --- create and list ---------------------------------------------------------------------

def test_manager_creates_invite_shown_once_stored_as_hash(client, make, manager, canteen, app):
    resp = create(client, make.headers(manager), canteen, note="新来的面点师")
    assert resp.status_code == 201
    body = resp.get_json()
    code = body["code"]
    assert len(code) == 10 and code.isalnum() and code.isupper()
    assert (body["company_id"], body["role"], body["note"], body["used_at"]) == (canteen.id, "canteen_staff",
                                                                                 "新来的面点师", None)
    invite = db.session.get(InviteCode, body["id"])
    assert invite.code_hash == token_hash(code) and invite.created_by_id == manager.id
    expected = utcnow() + app.config["INVITE_TTL"]
    assert abs((invite.expires_at - expected).total_seconds()) < 60
    raw = db.session.execute(text("SELECT * FROM invite_code")).mappings().one()
    assert not any(code in str(value) for value in raw.values())
    (row,) = audit_rows("invite.create")
    assert row.actor_id == manager.id and row.details == {"company_id": canteen.id, "role": "canteen_staff"}
    assert code not in str(row.details)
    listed = client.get(f"{API}/companies/{canteen.id}/invites", headers=make.headers(manager))
    assert listed.status_code == 200
    assert [i["id"] for i in listed.get_json()] == [body["id"]]
    assert "code" not in listed.get_json()[0] and code not in listed.get_data(as_text=True)


def test_manager_cannot_invite_for_another_company(client, make, manager):
    other = make.company("canteen_operator", name="乙食堂公司")
    assert_error(create(client, make.headers(manager), other), 404, "NOT_FOUND")
    assert_error(client.get(f"{API}/companies/{other.id}/invites", headers=make.headers(manager)), 404, "NOT_FOUND")
    assert_error(create(client, make.headers(manager), SimpleNamespace(id=999999)), 404, "NOT_FOUND")
    assert db.session.query(InviteCode).count() == 0


def test_role_must_fit_the_company_kind(client, make, manager, canteen):
    body = assert_error(create(client, make.headers(manager), canteen, role="technician"),
                        422, "INVITE_ROLE_NOT_ALLOWED")
    assert sorted(body["details"]["allowed_roles"]) == ["canteen_manager", "canteen_staff"]
    assert_error(create(client, make.headers(manager), canteen, role="admin"), 422, "INVITE_ROLE_NOT_ALLOWED")
    assert_error(create(client, make.headers(manager), canteen, role="king"), 422, "VALIDATION_ERROR")
    assert_error(create(client, make.headers(manager), canteen, note="x" * 101), 422, "VALIDATION_ERROR")
    assert db.session.query(InviteCode).count() == 0


def test_who_may_create_invites(client, make, canteen, admin_h):
    guards = make.company("security")
    assert create(client, admin_h, guards, role="guard").status_code == 201  # security has no managers
    cook = make.user("canteen_staff", company=canteen)
    for actor in (cook, make.user(), make.user("auditor")):
        assert_error(create(client, make.headers(actor), canteen), 403, "FORBIDDEN")
    dispatcher = make.user("property_dispatcher", company=make.company("property"))
    assert_error(create(client, make.headers(dispatcher), canteen), 404, "NOT_FOUND")


def test_revoked_invite_cannot_be_used(client, make, manager, code):
    invite = db.session.execute(select(InviteCode)).scalar_one()
    revoke_invite(Principal.for_user(manager), invite)
    db.session.commit()
    assert [r.target_id for r in audit_rows("invite.revoke")] == [str(invite.id)]
    assert_error(redeem(client, make.headers(make.user(kind="visitor")), code), 404, "INVITE_INVALID")


# --- redeem ------------------------------------------------------------------------------

def test_visitor_redeems_and_becomes_contractor(client, make, canteen, code, manager):
    visitor = make.user(kind="visitor")
    old = make.headers(visitor)
    assert me(client, old).status_code == 200
    resp = redeem(client, old, f"  {code.lower()} ", name=" 王师傅 ", phone="137-0000-1234")
    assert resp.status_code == 200, resp.get_json()
    body = resp.get_json()
    assert body["needs_binding"] is False and body["expires_at"]
    assert body["user"]["kind"] == "contractor" and body["user"]["name"] == "王师傅"
    assert body["user"]["company"]["id"] == canteen.id
    assert body["user"]["phone"] == "137****1234" and "13700001234" not in resp.get_data(as_text=True)
    assert body["user"]["roles"] == [{"role": "canteen_staff", "scope_kind": "company", "scope_id": canteen.id}]
    assert_error(me(client, old), 401, "TOKEN_INVALID")
    new = {"Authorization": f"Bearer {body['token']}"}
    assert me(client, new).get_json()["kind"] == "contractor"
    user = db.session.get(User, visitor.id, populate_existing=True)
    assert user_phone(user) == "13700001234" and user.phone_bidx == phone_index("13700001234")
    invite = db.session.execute(select(InviteCode)).scalar_one()
    assert invite.used_by_id == visitor.id and invite.used_at is not None
    # The new contractor now shows up for the manager, and the code is spent.
    listed = client.get(f"{API}/users", headers=make.headers(manager)).get_json()
    assert visitor.id in [u["id"] for u in listed["items"]]
    assert_error(redeem(client, make.headers(make.user(kind="visitor")), code), 404, "INVITE_INVALID")
    (row,) = audit_rows("invite.redeem")
    assert row.actor_id == visitor.id and row.details == {"company_id": canteen.id, "role": "canteen_staff"}
    assert_no_phone_in_audit()


def test_same_visitor_cannot_redeem_twice(client, make, manager, canteen, code):
    visitor = make.user(kind="visitor")
    resp = redeem(client, make.headers(visitor), code)
    token = resp.get_json()["token"]
    second = create(client, make.headers(manager), canteen).get_json()["code"]
    assert_error(redeem(client, {"Authorization": f"Bearer {token}"}, second), 409, "WX_ALREADY_BOUND")


def test_expired_revoked_and_unknown_codes(client, make, manager, canteen, code):
    visitor_h = make.headers(make.user(kind="visitor"))
    db.session.execute(update(InviteCode).values(expires_at=utcnow() - timedelta(seconds=1)))
    db.session.commit()
    assert_error(redeem(client, visitor_h, code), 404, "INVITE_INVALID")
    fresh = create(client, make.headers(manager), canteen).get_json()["code"]
    db.session.execute(update(InviteCode).where(InviteCode.code_hash == token_hash(fresh))
                       .values(revoked_at=utcnow()))
    db.session.commit()
    assert_error(redeem(client, visitor_h, fresh), 404, "INVITE_INVALID")
    assert_error(redeem(client, visitor_h, "ABCDEFGHJK"), 404, "INVITE_INVALID")
    assert me(client, visitor_h).get_json()["kind"] == "visitor"  # nothing changed, token alive


def test_code_of_a_deactivated_company_is_invalid(client, make, canteen, code):
    canteen.is_active = False
    db.session.commit()
    assert_error(redeem(client, make.headers(make.user(kind="visitor")), code), 404, "INVITE_INVALID")


@pytest.mark.parametrize("who", ["staff", "contractor", "admin"])
def test_bound_people_cannot_redeem(client, make, canteen, code, who):
    user = {"staff": lambda: make.user(), "admin": lambda: make.user("admin"),
            "contractor": lambda: make.user("canteen_staff", company=canteen)}[who]()
    headers = make.headers(user)
    assert_error(redeem(client, headers, code), 409, "WX_ALREADY_BOUND")
    assert db.session.execute(select(InviteCode.used_at)).scalar_one() is None
    assert me(client, headers).status_code == 200


@pytest.mark.parametrize("body", [
    {"name": "王师傅", "phone": "12345"}, {"name": "王师傅", "phone": "not a phone"},
    {"name": "王师傅", "phone": ""}, {"name": "", "phone": "13700001234"},
    {"name": "   ", "phone": "13700001234"}, {"name": "王" * 51, "phone": "13700001234"},
    {"name": "王师傅"}, {"phone": "13700001234"},
])
def test_bad_redeem_input(client, make, code, body):
    visitor_h = make.headers(make.user(kind="visitor"))
    resp = client.post(f"{API}/invites/redeem", headers=visitor_h, json={"code": code, **body})
    assert_error(resp, 422, "VALIDATION_ERROR")
    assert db.session.execute(select(InviteCode.used_at)).scalar_one() is None  # the code is not spent
    assert me(client, visitor_h).get_json()["kind"] == "visitor"


@pytest.mark.parametrize("code_value", ["", "ABC", "X" * 21, 12345678])
def test_bad_code_format(client, make, code_value):
    resp = redeem(client, make.headers(make.user(kind="visitor")), code_value)
    assert_error(resp, 422, "VALIDATION_ERROR")


def test_redeem_needs_a_token(client, code):
    assert_error(redeem(client, {}, code), 401, "AUTH_REQUIRED")


def test_redeemed_by_several_processes_at_once_works_exactly_once(make, manager, canteen, code):
    visitors = [make.user(kind="visitor") for _ in range(4)]
    outcomes = run_at_once([(make.token(v), "POST", f"{API}/invites/redeem",
                             {"json": {"code": code, "name": "并发", "phone": f"1370000{i:04d}"}})
                            for i, v in enumerate(visitors)])
    statuses = sorted(status for _, status, _ in outcomes)
    assert statuses == [200, 404, 404, 404], outcomes
    assert all(body["code"] == "INVITE_INVALID" for _, status, body in outcomes if status == 404)
    (winner,) = [body for _, status, body in outcomes if status == 200]
    db.session.expire_all()
    invite = db.session.execute(select(InviteCode)).scalar_one()
    assert invite.used_by_id == winner["user"]["id"]
    kinds = {u.id: u.kind for u in db.session.execute(select(User).where(
        User.id.in_([v.id for v in visitors]))).scalars()}
    assert sorted(kinds.values()) == ["contractor", "visitor", "visitor", "visitor"]
    assert kinds[winner["user"]["id"]] == "contractor"
    live = db.session.execute(select(ApiToken.user_id).where(ApiToken.revoked_at.is_(None))).scalars().all()
    assert sorted(live) == sorted([manager.id, *[v.id for v in visitors]])  # losers keep theirs
    assert len(audit_rows("invite.redeem")) == 1


def test_one_visitor_redeeming_two_codes_at_once_gets_one(client, make, manager, canteen, code):
    second = create(client, make.headers(manager), canteen).get_json()["code"]
    visitor = make.user(kind="visitor")
    outcomes = run_at_once([(make.token(visitor), "POST", f"{API}/invites/redeem",
                             {"json": {"code": c, "name": "王师傅", "phone": "13700001234"}}) for c in (code, second)])
    assert sorted(status for _, status, _ in outcomes) == [200, 409], outcomes
    assert [body["code"] for _, status, body in outcomes if status == 409] == ["WX_ALREADY_BOUND"]
    db.session.expire_all()
    assert [g.role for g in db.session.get(User, visitor.id).roles] == ["canteen_staff"]
    assert db.session.query(InviteCode).filter(InviteCode.used_at.is_not(None)).count() == 1

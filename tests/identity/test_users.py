"""Users: who sees whom, masked phones, roles (admin only) and disabling."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import event, select

from app.extensions import db
from app.signals import user_disabled
from models import ApiToken, User
from tests.identity._workers import run_at_once
from tests.identity.helpers import API, assert_error, assert_no_phone_in_audit, audit_rows, me

MASKED = re.compile(r"^1\d{2}\*{4}\d{4}$")


def reload(user: User) -> User:
    return db.session.get(User, user.id, populate_existing=True)


@pytest.fixture
def companies(make):
    return make.company("canteen_operator", name="甲食堂公司"), make.company("canteen_operator", name="乙食堂公司")


# --- list --------------------------------------------------------------------------------

def test_admin_lists_everybody_with_pagination(client, make, admin, admin_h):
    users = [make.user(phone=f"1360000{i:04d}") for i in range(24)]
    resp = client.get(f"{API}/users?page=3&per_page=10", headers=admin_h)
    assert resp.status_code == 200
    body = resp.get_json()
    assert (body["page"], body["per_page"], body["total"]) == (3, 10, 25)
    assert [u["id"] for u in body["items"]] == [u.id for u in users[19:]]
    assert all(MASKED.match(u["phone"]) for u in body["items"])
    assert body["items"][-1]["phone"] == "136****0023"
    assert "13600000023" not in resp.get_data(as_text=True)
    page1 = client.get(f"{API}/users?per_page=10", headers=admin_h).get_json()
    assert page1["items"][0]["id"] == admin.id and len(page1["items"]) == 10


def test_list_filters(client, make, admin_h, companies):
    dept = make.department()
    zhang = make.user(name="张三丰", employee_no="E7001", department=dept)
    make.user(name="李四")
    worker = make.user("canteen_staff", company=companies[0], name="张师傅")

    def ids(query):
        resp = client.get(f"{API}/users?{query}", headers=admin_h)
        assert resp.status_code == 200, resp.get_json()
        return [u["id"] for u in resp.get_json()["items"]]

    assert ids("q=张") == [zhang.id, worker.id]
    assert ids("q=E7001") == [zhang.id]
    assert ids("q=%25") == []  # a LIKE wildcard is taken literally
    assert ids("kind=contractor") == [worker.id]
    assert ids(f"company_id={companies[0].id}") == [worker.id]
    assert ids(f"department_id={dept.id}") == [zhang.id]
    assert_error(client.get(f"{API}/users?kind=alien", headers=admin_h), 422, "VALIDATION_ERROR")
    assert_error(client.get(f"{API}/users?per_page=1000", headers=admin_h), 422, "VALIDATION_ERROR")
    assert_error(client.get(f"{API}/users?page=0", headers=admin_h), 422, "VALIDATION_ERROR")


def test_list_has_no_per_row_queries(client, make, admin_h, companies):
    dept = make.department()
    for i in range(30):
        make.user("canteen_staff", company=companies[i % 2]) if i % 3 else make.user(department=dept)
    statements = []
    listener = lambda *args: statements.append(1)  # noqa: E731
    event.listen(db.engine, "before_cursor_execute", listener)
    try:
        resp = client.get(f"{API}/users?per_page=100", headers=admin_h)
    finally:
        event.remove(db.engine, "before_cursor_execute", listener)
    assert resp.status_code == 200 and resp.get_json()["total"] == 31
    assert len(statements) <= 8, len(statements)


def test_manager_lists_only_own_company_staff(client, make, companies):
    a, b = companies
    manager = make.user("canteen_manager", company=a)
    cook = make.user("canteen_staff", company=a)
    make.user("canteen_staff", company=b)
    make.user()  # staff
    body = client.get(f"{API}/users", headers=make.headers(manager)).get_json()
    assert {u["id"] for u in body["items"]} == {manager.id, cook.id} and body["total"] == 2
    assert all(u["company"]["id"] == a.id for u in body["items"])
    # Asking for another company's people gives nothing, not the other company.
    other = client.get(f"{API}/users?company_id={b.id}", headers=make.headers(manager)).get_json()
    assert other["items"] == [] and other["total"] == 0


def test_auditor_lists_everybody(client, make):
    auditor = make.user("auditor")
    make.user()
    assert client.get(f"{API}/users", headers=make.headers(auditor)).get_json()["total"] == 2


@pytest.mark.parametrize("who", ["staff", "canteen_staff", "guard", "visitor"])
def test_others_cannot_list(client, make, who):
    if who == "visitor":
        user = make.user(kind="visitor")
    elif who == "staff":
        user = make.user()
    else:
        user = make.user(who, company=make.company("security" if who == "guard" else "canteen_operator"))
    assert_error(client.get(f"{API}/users", headers=make.headers(user)), 403, "FORBIDDEN")


def test_list_needs_a_token(client):
    assert_error(client.get(f"{API}/users"), 401, "AUTH_REQUIRED")


# --- one user ----------------------------------------------------------------------------

def test_get_user_visibility(client, make, companies):
    a, b = companies
    staff = make.user(phone="13912345678")
    cook = make.user("canteen_staff", company=a, phone="13700000001")
    manager_a = make.user("canteen_manager", company=a)
    manager_b = make.user("canteen_manager", company=b)
    admin, auditor, other = make.user("admin"), make.user("auditor"), make.user()

    def get(viewer, user):
        return client.get(f"{API}/users/{user.id}", headers=make.headers(viewer))

    for viewer in (staff, admin, auditor):
        resp = get(viewer, staff)
        assert resp.status_code == 200
        assert resp.get_json()["phone"] == "139****5678" and "13912345678" not in resp.get_data(as_text=True)
    for viewer in (cook, manager_a, admin, auditor):
        assert get(viewer, cook).status_code == 200
    assert get(manager_a, cook).get_json()["phone"] == "137****0001"
    for viewer, user in ((other, staff), (manager_b, cook), (manager_a, staff), (cook, manager_a),
                         (cook, staff), (staff, cook)):
        assert_error(get(viewer, user), 404, "NOT_FOUND")
    assert_error(client.get(f"{API}/users/999999", headers=make.headers(admin)), 404, "NOT_FOUND")


def test_user_without_phone(client, make, admin_h):
    visitor = make.user(kind="visitor")
    assert client.get(f"{API}/users/{visitor.id}", headers=admin_h).get_json()["phone"] is None


# --- roles -------------------------------------------------------------------------------

def test_admin_sets_roles_tokens_revoked_and_audited(client, make, admin, admin_h):
    dept = make.department()
    user = make.user(phone="13900001111")
    headers = make.headers(user)
    assert me(client, headers).status_code == 200  # cached in Redis now
    grants = [{"role": "staff"}, {"role": "room_approver", "scope_kind": "department", "scope_id": dept.id},
              {"role": "room_approver"}]
    resp = client.put(f"{API}/users/{user.id}/roles", json={"roles": grants}, headers=admin_h)
    assert resp.status_code == 200, resp.get_json()
    assert sorted((g["role"], g["scope_kind"], g["scope_id"]) for g in resp.get_json()["roles"]) == [
        ("room_approver", "department", dept.id), ("room_approver", "global", None), ("staff", "global", None)]
    assert_error(me(client, headers), 401, "TOKEN_INVALID")
    fresh = make.headers(reload(user))
    assert me(client, fresh).status_code == 200
    assert reload(user).auth_epoch == 1
    (row,) = audit_rows("user.roles")
    assert row.actor_id == admin.id and row.target_id == str(user.id)
    assert row.details["before"] == [["staff", "global", None]]
    assert len(row.details["after"]) == 3
    # The same roles again: nothing changes, nothing revoked.
    resp = client.put(f"{API}/users/{user.id}/roles", json={"roles": grants}, headers=admin_h)
    assert resp.status_code == 200 and me(client, fresh).status_code == 200
    assert len(audit_rows("user.roles")) == 1
    assert_no_phone_in_audit()


def test_contractor_roles_within_own_company(client, make, admin_h, companies):
    a, _ = companies
    cook = make.user("canteen_staff", company=a)
    grants = [{"role": "canteen_manager", "scope_kind": "company", "scope_id": a.id},
              {"role": "canteen_staff", "scope_kind": "company", "scope_id": a.id}]
    resp = client.put(f"{API}/users/{cook.id}/roles", json={"roles": grants}, headers=admin_h)
    assert resp.status_code == 200, resp.get_json()
    assert sorted(g.role for g in reload(cook).roles) == ["canteen_manager", "canteen_staff"]


def test_roles_set_from_several_processes_at_once(make, admin):
    user = make.user()
    grants = {"roles": [{"role": "staff"}, {"role": "room_approver"}]}
    outcomes = run_at_once([(make.token(admin), "PUT", f"{API}/users/{user.id}/roles", {"json": grants})
                            for _ in range(3)])
    assert [status for _, status, _ in outcomes] == [200, 200, 200], outcomes
    assert sorted(g.role for g in reload(user).roles) == ["room_approver", "staff"]
    assert len(audit_rows("user.roles")) == 1  # the others found nothing left to change
    assert reload(user).auth_epoch == 1


@pytest.mark.parametrize("grant", [
    {"role": "admin", "scope_kind": "company", "scope_id": "A"},  # admin is global only
    {"role": "canteen_manager"},  # needs a company
    {"role": "canteen_manager", "scope_kind": "company"},  # company without id
    {"role": "staff", "scope_kind": "global", "scope_id": 5},  # global with an id
    {"role": "canteen_manager", "scope_kind": "company", "scope_id": 999999},  # no such company
    {"role": "guard", "scope_kind": "company", "scope_id": "A"},  # guard of a canteen company
    {"role": "canteen_staff", "scope_kind": "company", "scope_id": "B"},  # another company's role
    {"role": "room_approver", "scope_kind": "department", "scope_id": 999999},  # no such department
    {"role": "room_approver", "scope_kind": "company", "scope_id": "A"},
])
def test_bad_role_scope_combinations(client, make, admin_h, companies, grant):
    a, b = companies
    cook = make.user("canteen_staff", company=a)
    headers = make.headers(cook)
    grant = {**grant, **({"scope_id": {"A": a.id, "B": b.id}[grant["scope_id"]]}
                         if isinstance(grant.get("scope_id"), str) else {})}
    resp = client.put(f"{API}/users/{cook.id}/roles", json={"roles": [grant]}, headers=admin_h)
    assert_error(resp, 422, "ROLE_SCOPE_INVALID")
    assert [(g.role, g.scope_id) for g in reload(cook).roles] == [("canteen_staff", a.id)]
    assert me(client, headers).status_code == 200  # nothing revoked
    assert audit_rows("user.roles") == []


@pytest.mark.parametrize("body", [{}, {"roles": "admin"}, {"roles": [{"role": "emperor"}]},
                                  {"roles": [{"role": "staff", "scope_kind": "planet"}]}])
def test_roles_body_validation(client, make, admin_h, body):
    user = make.user()
    assert_error(client.put(f"{API}/users/{user.id}/roles", json=body, headers=admin_h), 422, "VALIDATION_ERROR")


def test_only_admins_set_roles(client, make, companies):
    manager = make.user("canteen_manager", company=companies[0])
    cook = make.user("canteen_staff", company=companies[0])
    for actor in (manager, make.user("auditor"), make.user()):
        resp = client.put(f"{API}/users/{cook.id}/roles", json={"roles": [{"role": "admin"}]},
                          headers=make.headers(actor))
        assert_error(resp, 403, "FORBIDDEN")
    assert [g.role for g in reload(cook).roles] == ["canteen_staff"]


def test_set_roles_of_unknown_user(client, admin_h):
    assert_error(client.put(f"{API}/users/999999/roles", json={"roles": []}, headers=admin_h), 404, "NOT_FOUND")


# --- disable -----------------------------------------------------------------------------

def _disable(client, headers, user, reason="离职"):
    return client.post(f"{API}/users/{user.id}/disable", json={"reason": reason}, headers=headers)


def test_admin_disables_staff(client, make, admin, admin_h):
    user = make.user(phone="13911112222")
    headers = make.headers(user)
    assert me(client, headers).status_code == 200
    calls = []
    with user_disabled.connected_to(lambda u, actor, reason: calls.append((u.id, actor.user_id, reason))):
        resp = _disable(client, admin_h, user, "调离")
    assert resp.status_code == 200 and resp.get_json()["is_active"] is False
    assert resp.get_json()["phone"] == "139****2222"
    assert calls == [(user.id, admin.id, "调离")]
    assert_error(me(client, headers), 401, "TOKEN_INVALID")
    token = db.session.execute(select(ApiToken).where(ApiToken.user_id == user.id)).scalar_one()
    assert token.revoked_reason == "disabled"
    (row,) = audit_rows("user.disable")
    assert (row.actor_id, row.target_id, row.details) == (admin.id, str(user.id), {"reason": "调离"})
    # Disabling again changes nothing and sends nothing.
    assert _disable(client, admin_h, user).status_code == 200
    assert len(calls) == 1 and len(audit_rows("user.disable")) == 1
    assert_error(client.post(f"{API}/auth/dev-login", json={"employee_no": user.employee_no}),
                 403, "USER_DISABLED")


def test_manager_disables_own_company_staff_only(client, make, companies):
    a, b = companies
    manager = make.user("canteen_manager", company=a)
    headers = make.headers(manager)
    cook = make.user("canteen_staff", company=a)
    cook_h = make.headers(cook)
    foreign = make.user("canteen_staff", company=b)
    staff, admin = make.user(), make.user("admin")
    resp = _disable(client, headers, cook)
    assert resp.status_code == 200 and not reload(cook).is_active
    assert_error(me(client, cook_h), 401, "TOKEN_INVALID")
    (row,) = audit_rows("user.disable")
    assert row.actor_id == manager.id
    for user in (foreign, staff, admin):
        assert_error(_disable(client, headers, user), 404, "NOT_FOUND")
        assert reload(user).is_active
    assert_error(_disable(client, headers, manager), 403, "FORBIDDEN")  # not oneself
    assert reload(manager).is_active


def test_disabled_from_several_processes_at_once_counts_once(make, admin):
    user = make.user()
    outcomes = run_at_once([(make.token(admin), "POST", f"{API}/users/{user.id}/disable", {"json": {"reason": "离职"}})
                            for _ in range(3)])
    assert [status for _, status, _ in outcomes] == [200, 200, 200], outcomes
    assert not reload(user).is_active and reload(user).auth_epoch == 1
    assert len(audit_rows("user.disable")) == 1


def test_others_cannot_disable(client, make, companies):
    cook = make.user("canteen_staff", company=companies[0])
    for actor in (make.user("canteen_staff", company=companies[0]), make.user(), make.user("auditor")):
        assert_error(_disable(client, make.headers(actor), cook), 403, "FORBIDDEN")
    assert reload(cook).is_active


def test_admin_cannot_disable_self(client, admin, admin_h):
    assert_error(_disable(client, admin_h, admin), 403, "FORBIDDEN")
    assert reload(admin).is_active


@pytest.mark.parametrize("body", [{}, {"reason": ""}, {"reason": "x" * 201}])
def test_disable_needs_a_reason(client, make, admin_h, body):
    user = make.user()
    resp = client.post(f"{API}/users/{user.id}/disable", json=body, headers=admin_h)
    assert_error(resp, 422, "VALIDATION_ERROR")
    assert reload(user).is_active


def test_admin_cannot_remove_own_admin_role(client, make):
    admin = make.user("admin", "staff")
    resp = client.put(f"/api/v1/users/{admin.id}/roles", headers=make.headers(admin),
                      json={"roles": [{"role": "staff"}]})
    assert resp.status_code == 409 and resp.get_json()["code"] == "OWN_ADMIN_ROLE"
    other = make.user("admin")
    resp = client.put(f"/api/v1/users/{other.id}/roles", headers=make.headers(admin),
                      json={"roles": [{"role": "staff"}]})
    assert resp.status_code == 200

"""Panel sign-in: messages, who may sign in, lockout (also under concurrent attempts)."""

from __future__ import annotations

import threading
from datetime import timedelta

from sqlalchemy import select

from admin.security import MSG_BAD_CREDENTIALS, MSG_DISABLED, MSG_NOT_ALLOWED, attempt_login
from app.extensions import db
from app.timeutil import utcnow
from models import AuditLog
from tests.admin.conftest import fresh
from tests.support.admin import PASSWORD, login


def audit_entries(action: str) -> list[AuditLog]:
    db.session.expire_all()
    return list(db.session.execute(select(AuditLog).where(AuditLog.action == action).order_by(AuditLog.id))
                .scalars())


def body(response) -> str:
    return response.get_data(as_text=True)


def test_anonymous_is_sent_to_the_sign_in_page(client):
    response = client.get("/admin/user/?page=2")
    assert response.status_code == 302
    assert response.headers["Location"] == "/admin/login?next=/admin/user/?page%3D2"
    page = client.get(response.headers["Location"])
    assert page.status_code == 200
    assert "登录管理后台" in body(page)
    assert 'name="employee_no"' in body(page) and 'type="password"' in body(page)


def test_sign_in_success_starts_a_session_and_is_audited(client, admin_user):
    admin_user.failed_logins = 3
    db.session.commit()
    response = login(client, admin_user)
    assert response.status_code == 302
    assert response.headers["Location"] == "/admin/"
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith("jg_admin=") and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    with client.session_transaction() as sess:
        assert sess["admin_uid"] == admin_user.id
        assert sess["admin_epoch"] == admin_user.auth_epoch
    home = client.get("/admin/")
    assert home.status_code == 200
    assert "欢迎，管理员甲" in body(home)
    assert fresh(admin_user).failed_logins == 0
    [entry] = audit_entries("admin.login")
    assert (entry.actor_id, entry.actor_name, entry.target_id) == (admin_user.id, "管理员甲", str(admin_user.id))


def test_sign_in_returns_to_the_requested_page_but_never_off_site(client, admin_user):
    response = client.post("/admin/login?next=/admin/department/",
                           data={"employee_no": admin_user.employee_no, "password": PASSWORD})
    assert response.headers["Location"] == "/admin/department/"
    client.post("/admin/logout")
    response = client.post("/admin/login?next=https://evil.example/admin",
                           data={"employee_no": admin_user.employee_no, "password": PASSWORD})
    assert response.headers["Location"] == "/admin/"


def test_wrong_password_is_refused_with_a_message_and_counted(client, admin_user):
    response = login(client, admin_user, "Wrong#Pass2026")
    assert response.status_code == 401
    assert MSG_BAD_CREDENTIALS in body(response)
    with client.session_transaction() as sess:
        assert "admin_uid" not in sess
    assert client.get("/admin/").status_code == 302
    assert fresh(admin_user).failed_logins == 1
    [entry] = audit_entries("admin.login_failed")
    assert entry.actor_id is None
    assert entry.target_id == str(admin_user.id)
    assert entry.details == {"employee_no": admin_user.employee_no, "reason": "bad_password", "failures": 1}


def test_unknown_employee_number_gets_the_same_message(client):
    response = login(client, "NOBODY", PASSWORD)
    assert response.status_code == 401
    assert MSG_BAD_CREDENTIALS in body(response)
    [entry] = audit_entries("admin.login_failed")
    assert entry.target_id is None and entry.details["reason"] == "unknown_user"


def test_empty_form_is_refused_with_field_messages(client):
    response = client.post("/admin/login", data={"employee_no": "", "password": ""})
    assert response.status_code == 400
    assert "请输入工号" in body(response) and "请输入密码" in body(response)


def test_only_active_panel_roles_with_a_password_may_sign_in(client, make, canteen):
    staff = make.user("staff", password=PASSWORD)
    technician = make.user("technician", company=canteen, password=PASSWORD)
    no_password = make.user("admin")
    disabled = make.user("admin", password=PASSWORD)
    disabled.is_active = False
    db.session.commit()

    for user, message in ((staff, MSG_NOT_ALLOWED), (technician, MSG_NOT_ALLOWED),
                          (no_password, MSG_BAD_CREDENTIALS), (disabled, MSG_DISABLED)):
        response = login(client, user)
        assert response.status_code == 401, user
        assert message in body(response)
        with client.session_transaction() as sess:
            assert "admin_uid" not in sess
    reasons = sorted(entry.details["reason"] for entry in audit_entries("admin.login_failed"))
    assert reasons == ["bad_password", "disabled", "not_allowed", "not_allowed"]


def test_each_panel_role_may_sign_in(client, make, canteen, property_company):
    users = [make.user("admin", password=PASSWORD), make.user("auditor", password=PASSWORD),
             make.user("canteen_manager", company=canteen, password=PASSWORD),
             make.user("property_dispatcher", company=property_company, password=PASSWORD)]
    for user in users:
        assert login(client, user).status_code == 302
        assert client.get("/admin/").status_code == 200
        client.post("/admin/logout")


def test_lockout_after_five_failures_even_with_the_right_password(client, app, admin_user):
    assert app.config["ADMIN_MAX_FAILURES"] == 5
    for attempt in range(1, 5):
        response = login(client, admin_user, f"Wrong#{attempt}")
        assert response.status_code == 401 and MSG_BAD_CREDENTIALS in body(response)
    fifth = login(client, admin_user, "Wrong#5")
    assert fifth.status_code == 401
    assert "账号已锁定" in body(fifth)
    fresh(admin_user)
    assert admin_user.failed_logins == 5
    lock = admin_user.locked_until - utcnow()
    assert timedelta(minutes=14) < lock <= app.config["ADMIN_LOCKOUT"]

    right = login(client, admin_user)
    assert right.status_code == 401
    assert "账号已锁定" in body(right)
    with client.session_transaction() as sess:
        assert "admin_uid" not in sess
    [locked] = audit_entries("admin.locked")
    assert locked.target_id == str(admin_user.id)
    failed = audit_entries("admin.login_failed")
    assert len(failed) == 5 and "locked_until" in failed[-1].details
    assert fresh(admin_user).failed_logins == 5  # refusals while locked are not counted again

    # The lockout period has passed: the right password works and clears the counter.
    admin_user.locked_until = utcnow() - timedelta(seconds=1)
    db.session.commit()
    assert login(client, admin_user).status_code == 302
    fresh(admin_user)
    assert (admin_user.failed_logins, admin_user.locked_until) == (0, None)


def test_a_failure_after_an_expired_lock_starts_a_new_count(client, admin_user):
    admin_user.failed_logins = 5
    admin_user.locked_until = utcnow() - timedelta(minutes=1)
    db.session.commit()
    response = login(client, admin_user, "Wrong#Again1")
    assert MSG_BAD_CREDENTIALS in body(response)
    fresh(admin_user)
    assert (admin_user.failed_logins, admin_user.locked_until) == (1, None)


def test_concurrent_failures_are_all_counted(app, admin_user):
    """Eight wrong passwords at once, each in its own application context and database
    connection: five are counted, the account locks, and the rest are refused as locked."""
    results, barrier, employee_no = [], threading.Barrier(8), admin_user.employee_no

    def attempt():
        with app.app_context():
            barrier.wait()
            result = attempt_login(employee_no, "Wrong#Concurrent1")
            results.append(result.error)
            db.session.remove()

    threads = [threading.Thread(target=attempt) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    fresh(admin_user)
    assert admin_user.failed_logins == 5
    assert admin_user.locked_until is not None
    assert results.count(MSG_BAD_CREDENTIALS) == 4
    assert sum("账号已锁定" in error for error in results) == 4
    assert len(audit_entries("admin.login_failed")) == 5
    assert len(audit_entries("admin.locked")) == 3

"""Panel sessions: idle timeout, absolute lifetime, auth_epoch, sign-out, password change."""

from __future__ import annotations

import time

from sqlalchemy import select

from admin.security import MSG_EXPIRED, MSG_IDLE, MSG_REVOKED
from app.auth import Principal
from app.extensions import db
from app.passwords import verify_password
from blueprints.identity import service
from models import AuditLog
from tests.admin.conftest import fresh
from tests.support.admin import PASSWORD, login


def body(response) -> str:
    return response.get_data(as_text=True)


def actions() -> list[str]:
    db.session.expire_all()
    return list(db.session.execute(select(AuditLog.action).order_by(AuditLog.id)).scalars())


def assert_signed_out(client, message: str) -> None:
    response = client.get("/admin/department/")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/admin/login")
    with client.session_transaction() as sess:
        assert "admin_uid" not in sess and "admin_epoch" not in sess
    assert message in body(client.get("/admin/login"))


def test_idle_timeout_signs_out(client, signed_in, admin_user, app):
    signed_in(admin_user)
    idle = app.config["ADMIN_IDLE_TIMEOUT"].total_seconds()
    assert idle == 30 * 60
    with client.session_transaction() as sess:
        sess["admin_seen"] -= idle + 5
    assert_signed_out(client, MSG_IDLE)


def test_activity_keeps_the_session_alive(client, signed_in, admin_user):
    signed_in(admin_user)
    with client.session_transaction() as sess:
        sess["admin_seen"] -= 29 * 60
    assert client.get("/admin/department/").status_code == 200
    with client.session_transaction() as sess:
        assert time.time() - sess["admin_seen"] < 60  # the request counted as activity


def test_absolute_lifetime_signs_out(client, signed_in, admin_user, app):
    signed_in(admin_user)
    with client.session_transaction() as sess:
        sess["admin_since"] -= app.config["PERMANENT_SESSION_LIFETIME"].total_seconds() + 5
    assert_signed_out(client, MSG_EXPIRED)


def test_role_change_ends_the_session_at_the_next_request(client, signed_in, admin_user, make):
    signed_in(admin_user)
    other_admin = make.user("admin")
    service.set_roles(Principal.for_user(other_admin), admin_user, [{"role": "auditor"}])
    db.session.commit()
    assert_signed_out(client, MSG_REVOKED)


def test_disabling_ends_the_session(client, signed_in, admin_user, make):
    signed_in(admin_user)
    service.disable_user(Principal.for_user(make.user("admin")), admin_user, "离职")
    db.session.commit()
    assert_signed_out(client, MSG_REVOKED)


def test_auth_epoch_bump_alone_ends_the_session(client, signed_in, admin_user):
    signed_in(admin_user)
    assert client.get("/admin/").status_code == 200
    admin_user.auth_epoch += 1  # e.g. the password was changed elsewhere
    db.session.commit()
    assert_signed_out(client, MSG_REVOKED)


def test_logout_is_a_post_and_is_audited(client, signed_in, admin_user):
    signed_in(admin_user)
    confirm = client.get("/admin/logout")
    assert confirm.status_code == 200 and "确定退出管理后台吗" in body(confirm)
    assert client.get("/admin/").status_code == 200  # GET only asks
    response = client.post("/admin/logout")
    assert response.status_code == 302 and response.headers["Location"] == "/admin/login"
    assert client.get("/admin/").status_code == 302
    assert "已退出登录" in body(client.get("/admin/login"))
    assert actions() == ["admin.login", "admin.logout"]


def test_password_change(client, app, signed_in, admin_user):
    other = app.test_client()
    assert login(other, admin_user).status_code == 302  # a second session, elsewhere
    signed_in(admin_user)
    epoch = admin_user.auth_epoch
    page = client.get("/admin/password")
    assert page.status_code == 200 and "当前密码" in body(page) and "确认新密码" in body(page)

    wrong = client.post("/admin/password", data={"current": "Nope#Wrong2026", "new": "New#Secret2026",
                                                 "confirm": "New#Secret2026"})
    assert wrong.status_code == 400 and "当前密码不正确" in body(wrong)
    assert fresh(admin_user).failed_logins == 1

    weak = client.post("/admin/password", data={"current": PASSWORD, "new": "short", "confirm": "short"})
    assert weak.status_code == 400
    assert "密码至少 10 位" in body(weak) and "至少三类" in body(weak)

    mismatch = client.post("/admin/password", data={"current": PASSWORD, "new": "New#Secret2026",
                                                    "confirm": "New#Secret2027"})
    assert mismatch.status_code == 400 and "两次输入的新密码不一致" in body(mismatch)

    same = client.post("/admin/password", data={"current": PASSWORD, "new": PASSWORD, "confirm": PASSWORD})
    assert same.status_code == 400 and "新密码不能与当前密码相同" in body(same)

    done = client.post("/admin/password", data={"current": PASSWORD, "new": "New#Secret2026",
                                                "confirm": "New#Secret2026"})
    assert done.status_code == 302
    fresh(admin_user)
    assert verify_password(admin_user.password_hash, "New#Secret2026")
    assert admin_user.auth_epoch == epoch + 1 and admin_user.failed_logins == 0
    assert client.get("/admin/").status_code == 200  # this session carries the new epoch
    assert other.get("/admin/").status_code == 302  # the other one has ended
    assert "admin.password_change" in actions() and "admin.password_change_failed" in actions()
    client.post("/admin/logout")
    assert login(client, admin_user, "New#Secret2026").status_code == 302


def test_wrong_current_passwords_lock_the_account_and_end_the_session(client, signed_in, admin_user):
    signed_in(admin_user)
    data = {"current": "Nope#Wrong2026", "new": "New#Secret2026", "confirm": "New#Secret2026"}
    for _ in range(4):
        assert client.post("/admin/password", data=data).status_code == 400
    response = client.post("/admin/password", data=data)
    assert response.status_code == 302 and response.headers["Location"] == "/admin/login"
    assert "账号已锁定" in body(client.get("/admin/login"))
    assert fresh(admin_user).locked_until is not None
    assert client.get("/admin/").status_code == 302

"""CSRF: with WTF_CSRF_ENABLED (the default outside these tests) every panel form refuses a
POST without its token: the Flask-WTF sign-in, sign-out and service forms, and the
ModelViews' create, edit, delete and action forms (SecureForm)."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app.extensions import db
from models import Department, InviteCode
from tests import conftest as root_conftest
from tests.admin.conftest import csrf_token, fresh
from tests.support.admin import PASSWORD


@pytest.fixture(scope="module")
def csrf_app(server_urls):
    from app import create_app

    config = root_conftest.app_config(server_urls, WTF_CSRF_ENABLED=True)
    application = create_app(config)
    isolated = getattr(root_conftest, "IsolatedClient", None)
    if isolated is not None:
        application.test_client_class = isolated
    return application


@pytest.fixture
def csrf_client(csrf_app, app):
    return csrf_app.test_client()


def body(response) -> str:
    return response.get_data(as_text=True)


def sign_in(client, user) -> None:
    token = csrf_token(body(client.get("/admin/login")))
    response = client.post("/admin/login", data={"employee_no": user.employee_no, "password": PASSWORD,
                                                 "csrf_token": token})
    assert response.status_code == 302


def count(model) -> int:
    db.session.expire_all()
    return db.session.execute(select(func.count()).select_from(model)).scalar_one()


def test_csrf_is_on_by_default(csrf_app):
    assert csrf_app.config["WTF_CSRF_ENABLED"] is True


def test_sign_in_without_token_is_refused(csrf_client, admin_user):
    response = csrf_client.post("/admin/login", data={"employee_no": admin_user.employee_no, "password": PASSWORD})
    assert response.status_code == 400
    assert "页面已过期或缺少安全校验信息" in body(response)
    with csrf_client.session_transaction() as sess:
        assert "admin_uid" not in sess
    bad = csrf_client.post("/admin/login", data={"employee_no": admin_user.employee_no, "password": PASSWORD,
                                                 "csrf_token": "forged"})
    assert bad.status_code == 400
    sign_in(csrf_client, admin_user)  # with the token from the page it works
    assert csrf_client.get("/admin/").status_code == 200


def test_sign_out_without_token_is_refused(csrf_client, admin_user):
    sign_in(csrf_client, admin_user)
    assert csrf_client.post("/admin/logout").status_code == 400
    assert csrf_client.get("/admin/").status_code == 200  # still signed in
    token = csrf_token(body(csrf_client.get("/admin/")))  # the form in the navigation bar
    assert csrf_client.post("/admin/logout", data={"csrf_token": token}).status_code == 302
    assert csrf_client.get("/admin/").status_code == 302


def test_model_view_create_edit_delete_need_the_token(csrf_client, admin_user, make):
    sign_in(csrf_client, admin_user)
    page = body(csrf_client.get("/admin/department/new/"))
    assert 'name="csrf_token"' in page
    refused = csrf_client.post("/admin/department/new/", data={"code": "NOTOKEN", "name": "无令牌", "sort_order": "0"})
    assert refused.status_code == 200 and "创建记录失败" in body(refused)
    assert count(Department) == 0

    created = csrf_client.post("/admin/department/new/", data={"code": "OK1", "name": "有令牌", "sort_order": "0",
                                                               "csrf_token": csrf_token(page)})
    assert created.status_code == 302
    assert count(Department) == 1

    dept = db.session.execute(select(Department)).scalar_one()
    edit = csrf_client.post(f"/admin/department/edit/?id={dept.id}",
                            data={"code": "OK1", "name": "改名", "sort_order": "0"})
    assert edit.status_code == 200 and "保存记录失败" in body(edit)
    assert fresh(dept).name == "有令牌"

    csrf_client.post("/admin/department/delete/", data={"id": str(dept.id)})
    assert count(Department) == 1
    csrf_client.post("/admin/department/action/", data={"action": "delete", "rowid": str(dept.id)})
    assert count(Department) == 1

    token = csrf_token(body(csrf_client.get("/admin/department/")))
    csrf_client.post("/admin/department/delete/", data={"id": str(dept.id), "csrf_token": token})
    assert count(Department) == 0


def test_service_forms_need_the_token(csrf_client, canteen_manager, canteen, make):
    cook = make.user("canteen_staff", company=canteen)
    sign_in(csrf_client, canteen_manager)
    refused = csrf_client.post(f"/admin/company-staff/disable/?id={cook.id}", data={"reason": "离职"})
    assert refused.status_code == 400
    assert fresh(cook).is_active

    target = f"{canteen.id}:canteen_staff"
    assert csrf_client.post("/admin/invites/new/", data={"target": target}).status_code == 400
    assert count(InviteCode) == 0
    token = csrf_token(body(csrf_client.get("/admin/invites/new/")))
    assert csrf_client.post("/admin/invites/new/", data={"target": target, "csrf_token": token}).status_code == 200
    assert count(InviteCode) == 1

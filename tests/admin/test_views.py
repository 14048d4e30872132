"""Administrators' views: records created and edited in the panel are audited with the acting
user; roles and disabling go through the identity service; the audit log pages cheaply."""

from __future__ import annotations

import html
import json
import re
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from app.auth import authenticate
from app.errors import AppError
from app.extensions import db
from models import AuditLog, Company, Department
from tests.admin.conftest import fresh


def body(response) -> str:
    return response.get_data(as_text=True)


def audit(action: str) -> list[AuditLog]:
    db.session.expire_all()
    return list(db.session.execute(select(AuditLog).where(AuditLog.action == action).order_by(AuditLog.id))
                .scalars())


def test_department_create_edit_delete_are_audited(client, signed_in, admin_user):
    signed_in(admin_user)
    response = client.post("/admin/department/new/", data={"code": "OFFICE", "name": "办公室", "sort_order": "1"})
    assert response.status_code == 302
    dept = db.session.execute(select(Department)).scalar_one()
    [created] = audit("department.create")
    assert (created.actor_id, created.actor_name, created.target_type, created.target_id) == (
        admin_user.id, "管理员甲", "department", str(dept.id))
    assert created.details["via"] == "admin"
    assert created.details["values"] == {"code": "OFFICE", "name": "办公室", "parent": None, "sort_order": 1}

    response = client.post(f"/admin/department/edit/?id={dept.id}",
                           data={"code": "OFFICE", "name": "办公室（新）", "sort_order": "1"})
    assert response.status_code == 302
    assert fresh(dept).name == "办公室（新）"
    [updated] = audit("department.update")
    assert updated.actor_id == admin_user.id
    assert updated.details == {"via": "admin", "fields": ["name"], "values": {"name": "办公室（新）"}}

    # Saving without a change writes no entry.
    client.post(f"/admin/department/edit/?id={dept.id}", data={"code": "OFFICE", "name": "办公室（新）",
                                                               "sort_order": "1"})
    assert len(audit("department.update")) == 1

    dept_id = dept.id
    assert client.post("/admin/department/delete/", data={"id": str(dept_id)}).status_code == 302
    db.session.expire_all()
    assert db.session.execute(select(Department.id)).all() == []
    [deleted] = audit("department.delete")
    assert deleted.actor_id == admin_user.id and deleted.target_id == str(dept_id)


def test_department_rules_are_enforced_with_chinese_messages(client, signed_in, admin_user, make):
    parent = make.department("办公室")
    child = make.department("综合科", parent=parent)
    make.user("staff", department=child)
    signed_in(admin_user)
    # A cycle (the parent under its own child) is refused by the service rule.
    response = client.post(f"/admin/department/edit/?id={parent.id}",
                           data={"code": parent.code, "name": "办公室", "parent": str(child.id), "sort_order": "0"})
    assert response.status_code == 200
    assert AppError("DEPARTMENT_CYCLE").message in body(response)
    assert fresh(parent).parent_id is None
    # A bad code is refused by the form.
    response = client.post("/admin/department/new/", data={"code": "有 空格", "name": "x", "sort_order": "0"})
    assert "编号只能由字母、数字、下划线和连字符组成" in body(response)
    # A duplicate code: the unique constraint refuses, the panel explains.
    response = client.post("/admin/department/new/", data={"code": parent.code, "name": "重复", "sort_order": "0"})
    assert "与已有记录重复" in body(response)
    assert db.session.execute(select(Department.name).where(Department.name == "重复")).all() == []
    # A department still in use cannot be deleted: the database refuses, the panel explains.
    response = client.post("/admin/department/delete/", data={"id": str(child.id)}, follow_redirects=True)
    assert "仍被其他数据引用" in body(response)
    assert db.session.execute(select(Department.id).where(Department.id == child.id)).scalar_one() == child.id
    assert audit("department.delete") == [] and audit("department.update") == []


def test_company_create_is_audited(client, signed_in, admin_user):
    signed_in(admin_user)
    response = client.post("/admin/company/new/", data={"name": "安居物业", "kind": "property", "contact_name": "赵",
                                                        "is_active": "y"})
    assert response.status_code == 302
    company = db.session.execute(select(Company)).scalar_one()
    assert (company.name, company.kind, company.is_active) == ("安居物业", "property", True)
    [entry] = audit("company.create")
    assert entry.actor_id == admin_user.id and entry.target_id == str(company.id)
    assert entry.details["values"] == {"name": "安居物业", "kind": "property", "is_active": True}
    assert "contact_name" in entry.details["fields"] and "赵" not in str(entry.details["values"])
    listing = body(client.get("/admin/company/"))
    assert "物业公司" in listing  # the kind is shown by its Chinese label


def test_user_edit_is_audited_without_personal_data(client, signed_in, admin_user, make):
    dept = make.department("财务处")
    staff = make.user("staff", name="刘洋")
    signed_in(admin_user)
    response = client.post(f"/admin/user/edit/?id={staff.id}",
                           data={"name": "刘阳", "employee_no": staff.employee_no, "department": str(dept.id)})
    assert response.status_code == 302
    fresh(staff)
    assert (staff.name, staff.department_id) == ("刘阳", dept.id)
    [entry] = audit("user.update")
    assert entry.actor_id == admin_user.id
    assert entry.details["fields"] == ["department", "name"]
    assert entry.details["values"] == {"department": dept.id}
    assert "刘" not in str(entry.details)


def test_roles_are_set_through_the_service(client, signed_in, admin_user, make, canteen):
    person = make.user("staff")
    token = make.token(person)
    signed_in(admin_user)
    page = body(client.get(f"/admin/user/roles/?id={person.id}"))
    assert re.search(r'<input checked[^>]*value="staff:global:"', page)  # the current grants are ticked
    assert not re.search(r'<input checked[^>]*value="admin:global:"', page)
    assert f"canteen_manager:company:{canteen.id}" in page
    response = client.post(f"/admin/user/roles/?id={person.id}",
                           data={"grants": ["staff:global:", "auditor:global:"]})
    assert response.status_code == 302
    fresh(person)
    assert sorted(g.role for g in person.roles) == ["auditor", "staff"]
    assert person.auth_epoch == 1
    with pytest.raises(AppError) as revoked:
        authenticate(token)
    assert revoked.value.code == "TOKEN_INVALID"
    [entry] = audit("user.roles")
    assert entry.actor_id == admin_user.id and entry.target_id == str(person.id)
    assert entry.details["after"] == [["auditor", "global", None], ["staff", "global", None]]
    # An offered choice only: an arbitrary grant is refused.
    forged = client.post(f"/admin/user/roles/?id={person.id}", data={"grants": ["admin:company:1"]})
    assert forged.status_code == 400
    assert sorted(g.role for g in fresh(person).roles) == ["auditor", "staff"]


def test_a_contractor_is_offered_only_own_company_roles(client, signed_in, admin_user, make, canteen,
                                                       property_company):
    cook = make.user("canteen_staff", company=canteen)
    signed_in(admin_user)
    page = body(client.get(f"/admin/user/roles/?id={cook.id}"))
    assert f"canteen_manager:company:{canteen.id}" in page
    assert f":company:{property_company.id}" not in page


def test_administrator_cannot_remove_own_admin_role(client, signed_in, admin_user):
    signed_in(admin_user)
    response = client.post(f"/admin/user/roles/?id={admin_user.id}", data={"grants": ["staff:global:"]})
    assert response.status_code == 400 and "不能移除自己的管理员角色" in body(response)
    assert [g.role for g in fresh(admin_user).roles] == ["admin"]
    assert client.get("/admin/").status_code == 200


def test_disable_and_enable_through_the_service(client, signed_in, admin_user, make):
    person = make.user("staff", name="陈静")
    signed_in(admin_user)
    assert client.get(f"/admin/user/disable/?id={admin_user.id}").status_code == 403  # not oneself
    response = client.post(f"/admin/user/disable/?id={person.id}", data={"reason": "离职"})
    assert response.status_code == 302
    fresh(person)
    assert not person.is_active and person.auth_epoch == 1
    [entry] = audit("user.disable")
    assert entry.actor_id == admin_user.id and entry.details == {"reason": "离职"}
    page = body(client.get(f"/admin/user/disable/?id={person.id}"))
    assert "启用账号" in page
    assert client.post(f"/admin/user/enable/?id={person.id}").status_code == 302
    assert fresh(person).is_active
    assert audit("user.enable")[0].actor_id == admin_user.id


def test_audit_log_lists_without_counting_and_filters(client, signed_in, admin_user, make):
    make.department("办公室")
    signed_in(admin_user)
    client.post("/admin/department/new/", data={"code": "HR", "name": "人事处", "sort_order": "0"})
    listing = body(client.get("/admin/audit-log/"))
    assert "department.create" in listing and "admin.login" in listing
    assert "列表 (" not in listing  # simple pager: no COUNT(*) on the growing table
    assert "时间" in listing and "操作人" in listing and "管理员甲" in listing
    filtered = body(client.get("/admin/audit-log/?search=department"))
    assert "department.create" in filtered and "admin.login" not in filtered
    assert "列表 (2)" in body(client.get("/admin/department/"))  # small tables keep their count


def _filter_arg(page: str, group: str, operation: str) -> str:
    data = json.loads(html.unescape(re.search(r'id="filter-groups-data" class="d-none">(.*?)</div>', page).group(1)))
    [entry] = [item for item in data[group] if item["operation"] == operation]
    return f"flt0_{entry['arg']}"


def test_audit_log_times_are_local_and_filters_are_distinct(client, signed_in, admin_user):
    db.session.add_all([
        AuditLog(action="department.create", target_type="department", target_id="7",
                 at=datetime(2026, 1, 1, 2, 0, tzinfo=UTC)),
        AuditLog(action="company.create", target_type="company", target_id="7",
                 at=datetime(2026, 1, 1, 12, 0, tzinfo=UTC)),
    ])
    db.session.commit()
    signed_in(admin_user)
    page = body(client.get("/admin/audit-log/"))
    assert "2026-01-01 10:00:00" in page and "2026-01-01 20:00:00" in page  # Asia/Shanghai
    by_type = body(client.get("/admin/audit-log/", query_string={_filter_arg(page, "对象类型", "等于"): "company"}))
    assert "company.create" in by_type and "department.create" not in by_type
    by_action = body(client.get("/admin/audit-log/",
                                query_string={_filter_arg(page, "操作", "等于"): "department.create"}))
    assert "department.create" in by_action and "company.create" not in by_action
    # A time range is read as Asia/Shanghai wall-clock time.
    between = body(client.get("/admin/audit-log/", query_string={
        _filter_arg(page, "时间", "之间"): "2026-01-01 09:00:00 to 2026-01-01 11:00:00"}))
    assert "department.create" in between and "company.create" not in between


def test_department_parent_filter_matches_the_parents_name(client, signed_in, admin_user, make):
    office = make.department("办公室")
    make.department("综合科", parent=office)
    make.department("财务处")
    signed_in(admin_user)
    page = body(client.get("/admin/department/"))
    arg = _filter_arg(page, "上级部门", "包含")
    children = body(client.get("/admin/department/", query_string={arg: "办公"}))
    assert "综合科" in children and "财务处" not in children
    assert "列表 (1)" in children

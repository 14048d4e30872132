"""Departments (a tree without cycles) and contractor companies."""

from __future__ import annotations

import pytest

from app.extensions import db
from models import Company, Department
from tests.identity.helpers import API, assert_error, audit_rows


def reload(obj):
    return db.session.get(type(obj), obj.id, populate_existing=True)


# --- departments -------------------------------------------------------------------------

def test_list_and_get_departments(client, make):
    office = make.department("办公室")
    unit = make.department("文印室", parent=office)
    technician = make.user("technician", company=make.company())
    for viewer in (make.user(), technician, make.user("auditor")):
        listed = client.get(f"{API}/departments", headers=make.headers(viewer)).get_json()
        assert [(d["id"], d["name"], d["parent_id"]) for d in listed] == [
            (office.id, "办公室", None), (unit.id, "文印室", office.id)]
    headers = make.headers(make.user())
    got = client.get(f"{API}/departments/{unit.id}", headers=headers)
    assert got.status_code == 200 and got.get_json()["code"] == unit.code
    assert_error(client.get(f"{API}/departments/999999", headers=headers), 404, "NOT_FOUND")
    assert_error(client.get(f"{API}/departments/{unit.id}", headers=make.headers(technician)), 403, "FORBIDDEN")
    assert_error(client.get(f"{API}/departments"), 401, "AUTH_REQUIRED")


def test_admin_creates_department(client, make, admin, admin_h):
    office = make.department("办公室")
    resp = client.post(f"{API}/departments", headers=admin_h,
                       json={"code": "IT-01", "name": "信息科", "parent_id": office.id, "sort_order": 3})
    assert resp.status_code == 201, resp.get_json()
    body = resp.get_json()
    assert {k: body[k] for k in ("code", "name", "parent_id", "sort_order")} == {
        "code": "IT-01", "name": "信息科", "parent_id": office.id, "sort_order": 3}
    assert db.session.get(Department, body["id"]).name == "信息科"
    (row,) = audit_rows("department.create")
    assert (row.actor_id, row.target_id, row.details) == (admin.id, str(body["id"]), {"code": "IT-01"})


def test_duplicate_department_code_is_a_conflict(client, make, admin_h):
    office = make.department("办公室")
    resp = client.post(f"{API}/departments", headers=admin_h, json={"code": office.code, "name": "另一个"})
    body = assert_error(resp, 409, "CONFLICT")
    assert body["details"] == {"fields": {"json": {"code": ["部门编码已存在"]}}}
    assert db.session.query(Department).count() == 1
    assert audit_rows("department.create") == []
    # The session is usable afterwards: the next request works.
    assert client.post(f"{API}/departments", headers=admin_h, json={"code": "NEW", "name": "新"}).status_code == 201


def test_rename_to_existing_code_is_a_conflict(client, make, admin_h):
    office, finance = make.department("办公室"), make.department("财务处")
    resp = client.put(f"{API}/departments/{finance.id}", headers=admin_h,
                      json={"code": office.code, "name": "财务处"})
    assert_error(resp, 409, "CONFLICT")
    assert reload(finance).code != office.code
    assert audit_rows("department.update") == []


@pytest.mark.parametrize("body", [
    {"name": "无编码"}, {"code": "", "name": "空"}, {"code": "含 空格", "name": "x"}, {"code": "X" * 33, "name": "x"},
    {"code": "OK", "name": ""}, {"code": "OK", "name": "x", "parent_id": "one"},
])
def test_department_validation(client, admin_h, body):
    assert_error(client.post(f"{API}/departments", headers=admin_h, json=body), 422, "VALIDATION_ERROR")


def test_unknown_parent(client, make, admin_h):
    resp = client.post(f"{API}/departments", headers=admin_h, json={"code": "X1", "name": "x", "parent_id": 999999})
    body = assert_error(resp, 422, "VALIDATION_ERROR")
    assert body["details"] == {"fields": {"json": {"parent_id": ["上级部门不存在"]}}}
    office = make.department()
    resp = client.put(f"{API}/departments/{office.id}", headers=admin_h,
                      json={"code": office.code, "name": "x", "parent_id": 999999})
    assert_error(resp, 422, "VALIDATION_ERROR")
    assert reload(office).parent_id is None


def test_department_cycles_refused(client, make, admin_h):
    top = make.department("局")
    middle = make.department("处", parent=top)
    bottom = make.department("科", parent=middle)
    for dept, parent in ((top, bottom), (top, middle), (middle, middle)):
        resp = client.put(f"{API}/departments/{dept.id}", headers=admin_h,
                          json={"code": dept.code, "name": dept.name, "parent_id": parent.id})
        assert_error(resp, 422, "DEPARTMENT_CYCLE")
    assert (reload(top).parent_id, reload(middle).parent_id) == (None, top.id)
    # Moving a leaf elsewhere is fine.
    resp = client.put(f"{API}/departments/{bottom.id}", headers=admin_h,
                      json={"code": bottom.code, "name": "新科", "parent_id": top.id, "sort_order": 2})
    assert resp.status_code == 200 and resp.get_json()["parent_id"] == top.id
    assert reload(bottom).name == "新科"
    (row,) = audit_rows("department.update")
    assert row.target_id == str(bottom.id) and row.details["parent_id"] == top.id


def test_only_admins_write_departments(client, make):
    office = make.department()
    manager = make.user("canteen_manager", company=make.company("canteen_operator"))
    for actor in (make.user(), make.user("auditor"), manager):
        headers = make.headers(actor)
        resp = client.post(f"{API}/departments", headers=headers, json={"code": "X", "name": "x"})
        assert_error(resp, 403, "FORBIDDEN")
        assert_error(client.put(f"{API}/departments/{office.id}", headers=headers,
                                json={"code": "X", "name": "x"}), 403, "FORBIDDEN")
    assert reload(office).code != "X"


def test_update_unknown_department(client, admin_h):
    assert_error(client.put(f"{API}/departments/999999", headers=admin_h, json={"code": "X", "name": "x"}),
                 404, "NOT_FOUND")


# --- companies ---------------------------------------------------------------------------

def test_company_list_and_get(client, make, admin_h):
    a, b = make.company("canteen_operator"), make.company("property")
    listed = client.get(f"{API}/companies", headers=admin_h).get_json()
    assert [c["id"] for c in listed] == [a.id, b.id]
    tech = make.user("technician", company=b)
    tech_h = make.headers(tech)
    assert [c["id"] for c in client.get(f"{API}/companies", headers=tech_h).get_json()] == [b.id]
    assert client.get(f"{API}/companies/{b.id}", headers=tech_h).get_json()["kind"] == "property"
    assert_error(client.get(f"{API}/companies/{a.id}", headers=tech_h), 404, "NOT_FOUND")
    assert client.get(f"{API}/companies/{a.id}", headers=admin_h).status_code == 200
    assert_error(client.get(f"{API}/companies/999999", headers=admin_h), 404, "NOT_FOUND")
    staff_h = make.headers(make.user())
    assert client.get(f"{API}/companies", headers=staff_h).get_json() == []
    assert_error(client.get(f"{API}/companies/{a.id}", headers=staff_h), 404, "NOT_FOUND")
    auditor_h = make.headers(make.user("auditor"))
    assert len(client.get(f"{API}/companies", headers=auditor_h).get_json()) == 2


def test_admin_creates_company(client, admin, admin_h):
    resp = client.post(f"{API}/companies", headers=admin_h,
                       json={"name": "安心保安服务公司", "kind": "security", "contact_name": "周经理"})
    assert resp.status_code == 201, resp.get_json()
    body = resp.get_json()
    assert (body["name"], body["kind"], body["contact_name"], body["is_active"]) == \
        ("安心保安服务公司", "security", "周经理", True)
    assert db.session.get(Company, body["id"]).kind == "security"
    (row,) = audit_rows("company.create")
    assert row.actor_id == admin.id and row.details == {"name": "安心保安服务公司", "kind": "security"}


def test_duplicate_company_name_is_a_conflict(client, make, admin_h):
    existing = make.company("property", name="物业一公司")
    resp = client.post(f"{API}/companies", headers=admin_h, json={"name": existing.name, "kind": "property"})
    body = assert_error(resp, 409, "CONFLICT")
    assert body["details"] == {"fields": {"json": {"name": ["服务单位名称已存在"]}}}
    assert db.session.query(Company).count() == 1
    assert audit_rows("company.create") == []


@pytest.mark.parametrize("body", [
    {"name": "x", "kind": "bakery"}, {"name": "x"}, {"kind": "property"}, {"name": "", "kind": "property"},
    {"name": "x" * 101, "kind": "property"}, {"name": "x", "kind": "property", "is_active": False},
])
def test_company_validation(client, admin_h, body):
    assert_error(client.post(f"{API}/companies", headers=admin_h, json=body), 422, "VALIDATION_ERROR")
    assert db.session.query(Company).count() == 0


def test_only_admins_create_companies(client, make):
    manager = make.user("canteen_manager", company=make.company("canteen_operator"))
    for actor in (manager, make.user(), make.user("auditor")):
        resp = client.post(f"{API}/companies", headers=make.headers(actor), json={"name": "新公司", "kind": "property"})
        assert_error(resp, 403, "FORBIDDEN")
    assert db.session.query(Company).count() == 1

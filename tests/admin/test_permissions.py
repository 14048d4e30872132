"""Who may do what, enforced by the endpoints (not only by hidden buttons): the read-only
auditor, the append-only audit log, and contractor managers scoped to their own company."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from app.auth import Principal
from app.crypto import token_hash
from app.extensions import db
from blueprints.identity import service
from models import ApiToken, AuditLog, Department, InviteCode
from tests.admin.conftest import fresh
from tests.support.admin import PASSWORD

CREATE_TAB = 'title="创建新记录" class="nav-link">创建</a>'  # Flask-Admin's "Create" tab, in Chinese


def body(response) -> str:
    return response.get_data(as_text=True)


def count(model) -> int:
    db.session.expire_all()
    return db.session.execute(select(func.count()).select_from(model)).scalar_one()


# --- the auditor -----------------------------------------------------------------------------

def test_auditor_reads_everything_but_sees_no_write_controls(client, signed_in, auditor, make):
    dept = make.department("办公室")
    staff = make.user("staff")
    signed_in(auditor)
    for url in ("/admin/department/", "/admin/company/", "/admin/user/", "/admin/audit-log/",
                f"/admin/user/details/?id={staff.id}"):
        assert client.get(url).status_code == 200, url
    listing = body(client.get("/admin/department/"))
    assert "办公室" in listing
    assert "/admin/department/new/" not in listing and CREATE_TAB not in listing
    assert "/admin/department/edit/" not in listing and "/admin/department/delete/" not in listing
    assert 'name="rowid"' not in listing  # no bulk actions
    users = body(client.get("/admin/user/"))
    assert "/admin/user/roles/" not in users and "/admin/user/disable/" not in users
    assert f"/admin/user/edit/?id={dept.id}" not in users


def test_auditor_writes_are_refused_by_the_server(client, signed_in, auditor, make):
    dept = make.department("办公室")
    staff = make.user("staff")
    signed_in(auditor)
    attempts = [
        ("get", "/admin/department/new/", None),
        ("post", "/admin/department/new/", {"code": "X1", "name": "新部门", "sort_order": "0"}),
        ("get", f"/admin/department/edit/?id={dept.id}", None),
        ("post", f"/admin/department/edit/?id={dept.id}", {"code": dept.code, "name": "改名", "sort_order": "0"}),
        ("post", "/admin/department/delete/", {"id": str(dept.id)}),
        ("post", "/admin/department/action/", {"action": "delete", "rowid": str(dept.id)}),
        ("post", "/admin/company/new/", {"name": "新单位", "kind": "property"}),
        ("get", f"/admin/user/roles/?id={staff.id}", None),
        ("post", f"/admin/user/roles/?id={staff.id}", {"grants": ["admin:global:"]}),
        ("post", f"/admin/user/disable/?id={staff.id}", {"reason": "试图停用"}),
        ("post", f"/admin/user/edit/?id={staff.id}", {"name": "改名", "employee_no": staff.employee_no}),
    ]
    for method, url, data in attempts:
        response = getattr(client, method)(url, data=data)
        assert response.status_code == 403, (method, url)
        assert "只读" in body(response)
    assert count(Department) == 1 and fresh(dept).name == "办公室"
    fresh(staff)
    assert staff.is_active and [g.role for g in staff.roles] == ["staff"] and staff.name != "改名"


def test_audit_log_is_read_only_even_for_administrators(client, signed_in, admin_user):
    signed_in(admin_user)  # writes the "admin.login" entry
    entry_id = db.session.execute(select(AuditLog.id)).scalar_one()
    listing = body(client.get("/admin/audit-log/"))
    assert "admin.login" in listing and CREATE_TAB not in listing
    for method, url, data in (("get", "/admin/audit-log/new/", None),
                              ("post", "/admin/audit-log/new/", {"action": "forged"}),
                              ("post", f"/admin/audit-log/edit/?id={entry_id}", {"action": "forged"}),
                              ("post", "/admin/audit-log/delete/", {"id": str(entry_id)})):
        assert getattr(client, method)(url, data=data).status_code == 403, url
    assert db.session.execute(select(AuditLog.action)).scalars().all() == ["admin.login"]


# --- contractor managers -----------------------------------------------------------------------

@pytest.fixture
def people(make, canteen, property_company):
    return {
        "cook": make.user("canteen_staff", company=canteen, name="吴师傅"),
        "technician": make.user("technician", company=property_company, name="孙技师"),
        "staff": make.user("staff", name="张伟"),
    }


def test_contractor_manager_cannot_reach_the_admin_views(client, signed_in, canteen_manager, people):
    signed_in(canteen_manager)
    home = body(client.get("/admin/"))
    assert 'href="/admin/company-staff/"' in home and 'href="/admin/invites/"' in home
    for url in ("/admin/user/", "/admin/department/", "/admin/company/", "/admin/audit-log/"):
        assert f'href="{url}"' not in home
    for url in ("/admin/user/", f"/admin/user/details/?id={people['technician'].id}",
                f"/admin/user/edit/?id={people['technician'].id}", "/admin/department/", "/admin/company/",
                "/admin/audit-log/", f"/admin/user/disable/?id={people['technician'].id}"):
        response = client.get(url)
        assert response.status_code == 403, url
        assert "没有权限" in body(response)
        assert "孙技师" not in body(response)
    response = client.post(f"/admin/user/disable/?id={people['technician'].id}", data={"reason": "越权"})
    assert response.status_code == 403
    assert fresh(people["technician"]).is_active


def test_contractor_manager_sees_only_own_company_people(client, signed_in, canteen_manager, people):
    signed_in(canteen_manager)
    listing = body(client.get("/admin/company-staff/"))
    assert "吴师傅" in listing and "周经理" in listing
    assert "孙技师" not in listing and "张伟" not in listing
    assert "列表 (2)" in listing  # the count is scoped too
    own = body(client.get(f"/admin/company-staff/details/?id={people['cook'].id}"))
    assert "吴师傅" in own
    # A property-company user's id, typed into the URL, is not found here.
    foreign = people["technician"].id
    response = client.get(f"/admin/company-staff/details/?id={foreign}")
    assert response.status_code == 302
    follow = body(client.get(response.headers["Location"]))
    assert "记录不存在" in follow and "孙技师" not in follow
    for url in (f"/admin/company-staff/disable/?id={foreign}", f"/admin/company-staff/disable/?id={people['staff'].id}",
                "/admin/company-staff/disable/?id=abc"):
        assert client.get(url).status_code == 404, url
    assert client.post(f"/admin/company-staff/disable/?id={foreign}", data={"reason": "越权"}).status_code == 404
    assert fresh(people["technician"]).is_active
    assert "孙技师" not in body(client.get("/admin/company-staff/?search=孙"))
    # Nothing to create, edit or delete here: the generic endpoints are refused or absent.
    assert "/admin/company-staff/new/" not in listing
    assert client.post(f"/admin/company-staff/edit/?id={people['cook'].id}", data={"name": "改名"}).status_code == 302
    assert fresh(people["cook"]).name == "吴师傅"


def test_contractor_manager_disables_own_staff_through_the_service(client, signed_in, canteen_manager, people, make):
    token = make.token(people["cook"])
    signed_in(canteen_manager)
    page = client.get(f"/admin/company-staff/disable/?id={people['cook'].id}")
    assert page.status_code == 200 and "停用原因" in body(page)
    assert client.post(f"/admin/company-staff/disable/?id={people['cook'].id}", data={"reason": ""}).status_code == 400
    assert fresh(people["cook"]).is_active
    response = client.post(f"/admin/company-staff/disable/?id={people['cook'].id}", data={"reason": "合同到期"})
    assert response.status_code == 302
    cook = fresh(people["cook"])
    assert not cook.is_active and cook.disabled_at is not None
    row = db.session.execute(select(ApiToken).where(ApiToken.token_hash == token_hash(token))).scalar_one()
    assert row.revoked_at is not None and row.revoked_reason == "disabled"
    entry = db.session.execute(select(AuditLog).where(AuditLog.action == "user.disable")).scalar_one()
    assert (entry.actor_id, entry.target_id, entry.details) == (canteen_manager.id, str(cook.id),
                                                                {"reason": "合同到期"})
    # ...but not themselves.
    assert client.get(f"/admin/company-staff/disable/?id={canteen_manager.id}").status_code == 403


def test_invites_are_created_through_the_service_and_shown_once(client, signed_in, canteen_manager, canteen,
                                                                property_company):
    signed_in(canteen_manager)
    form = body(client.get("/admin/invites/new/"))
    options = re.findall(r'<option[^>]*value="([^"]+)"', form)
    assert options == [f"{canteen.id}:canteen_staff", f"{canteen.id}:canteen_manager"]
    # Another company's role is not a valid choice.
    refused = client.post("/admin/invites/new/", data={"target": f"{property_company.id}:technician"})
    assert refused.status_code == 400
    assert count(InviteCode) == 0

    response = client.post("/admin/invites/new/", data={"target": f"{canteen.id}:canteen_staff", "note": "新厨师"})
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    code = re.search(r'class="h2 text-monospace mb-2 invite-code">(\w+)<', body(response)).group(1)
    invite = db.session.execute(select(InviteCode)).scalar_one()
    assert invite.code_hash == token_hash(code) and code not in invite.code_hash
    assert (invite.company_id, invite.role, invite.note, invite.created_by_id) == (
        canteen.id, "canteen_staff", "新厨师", canteen_manager.id)
    entry = db.session.execute(select(AuditLog).where(AuditLog.action == "invite.create")).scalar_one()
    assert entry.actor_id == canteen_manager.id
    listing = body(client.get("/admin/invites/"))
    assert "新厨师" in listing and "未使用" in listing and "食堂员工" in listing
    assert code not in listing  # shown once only


def test_invites_are_scoped_to_own_company(client, signed_in, canteen_manager, canteen, property_company, make):
    dispatcher = make.user("property_dispatcher", company=property_company, password=PASSWORD)
    _, foreign = service.create_invite(Principal.for_user(dispatcher), property_company, "technician", "物业的码",
                                       timedelta(hours=1))
    _, own = service.create_invite(Principal.for_user(canteen_manager), canteen, "canteen_staff", "食堂的码",
                                   timedelta(hours=1))
    db.session.commit()
    signed_in(canteen_manager)
    listing = body(client.get("/admin/invites/"))
    assert "食堂的码" in listing and "物业的码" not in listing
    response = client.get(f"/admin/invites/details/?id={foreign.id}")
    assert response.status_code == 302 and "物业的码" not in body(client.get(response.headers["Location"]))
    # Revoking by forged ids touches only the manager's own invitations.
    client.post("/admin/invites/action/", data={"action": "revoke", "rowid": [str(foreign.id), str(own.id)]})
    assert fresh(foreign).revoked_at is None
    assert fresh(own).revoked_at is not None
    assert "已作废" in body(client.get("/admin/invites/"))

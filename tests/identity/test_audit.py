"""Every administrator and contractor action in the identity domain leaves an audit row,
and no audit row carries a phone number (plain, masked, encrypted or as its blind index)."""

from __future__ import annotations

import io

from sqlalchemy import select

from app.crypto import phone_index
from app.extensions import db
from models import Company, User
from tests.identity.helpers import API, audit_rows


def test_audit_trail_without_phone_numbers(client, make, admin, admin_h):
    phones = ["13800000001", "13800000002", "13700001234"]
    leaver = make.user(employee_no="E900", phone="13800000900", from_roster=True)
    resp = client.post(f"{API}/departments", headers=admin_h, json={"code": "OFFICE", "name": "办公室"})
    dept_id = resp.get_json()["id"]
    client.put(f"{API}/departments/{dept_id}", headers=admin_h, json={"code": "OFFICE", "name": "综合办公室"})
    company_id = client.post(f"{API}/companies", headers=admin_h,
                             json={"name": "甲食堂公司", "kind": "canteen_operator"}).get_json()["id"]
    csv = f"工号,姓名,部门,手机号\nE001,张三,OFFICE,{phones[0]}\nE002,李四,OFFICE,{phones[1]}\n".encode()
    resp = client.post(f"{API}/users/roster-import", headers=admin_h, content_type="multipart/form-data",
                       data={"file": (io.BytesIO(csv), "r.csv")})
    assert resp.status_code == 200 and resp.get_json()["disabled"] == 1
    zhang = client.get(f"{API}/users?q=E001", headers=admin_h).get_json()["items"][0]
    roles = {"roles": [{"role": "staff"}, {"role": "room_approver"}]}
    assert client.put(f"{API}/users/{zhang['id']}/roles", headers=admin_h, json=roles).status_code == 200
    manager = make.user("canteen_manager", company=db.session.get(Company, company_id))
    manager_h = make.headers(manager)
    code = client.post(f"{API}/companies/{company_id}/invites", headers=manager_h,
                       json={"role": "canteen_staff"}).get_json()["code"]
    visitor = make.user(kind="visitor")
    resp = client.post(f"{API}/invites/redeem", headers=make.headers(visitor),
                       json={"code": code, "name": "王师傅", "phone": phones[2]})
    assert resp.status_code == 200
    assert client.post(f"{API}/users/{visitor.id}/disable", headers=manager_h,
                       json={"reason": "试用期未通过"}).status_code == 200

    rows = audit_rows()
    by_action = {}
    for row in rows:
        by_action.setdefault(row.action, []).append(row)
    assert set(by_action) >= {"department.create", "department.update", "company.create", "roster.import",
                              "user.disable", "user.roles", "invite.create", "invite.redeem"}
    assert {r.target_id for r in by_action["user.disable"]} == {str(leaver.id), str(visitor.id)}
    assert by_action["invite.create"][0].actor_id == manager.id
    assert by_action["invite.redeem"][0].actor_id == visitor.id
    assert all(r.actor_id == admin.id for a in ("department.create", "company.create", "roster.import",
                                                "user.roles") for r in by_action[a])
    secrets = phones + ["13800000900", "****"] + [phone_index(p) for p in phones]
    secrets += [u.phone_enc for u in db.session.execute(select(User)).scalars() if u.phone_enc]
    for row in rows:
        text = f"{row.details} {row.target_id} {row.actor_name}"
        assert not any(s in text for s in secrets), (row.action, text)


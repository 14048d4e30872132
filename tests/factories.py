"""Small factories for tests: users with roles, companies, departments, tokens."""

from __future__ import annotations

import itertools

from app.auth import issue_token
from app.extensions import db
from app.passwords import hash_password
from blueprints.identity.service import set_phone
from models import Company, Department, RoleGrant, User

_seq = itertools.count(1)


class Factory:
    def department(self, name: str | None = None, parent: Department | None = None) -> Department:
        n = next(_seq)
        dept = Department(code=f"D{n}", name=name or f"部门{n}", parent=parent)
        db.session.add(dept)
        db.session.commit()
        return dept

    def company(self, kind: str = "property", name: str | None = None) -> Company:
        company = Company(name=name or f"单位{next(_seq)}", kind=kind)
        db.session.add(company)
        db.session.commit()
        return company

    def user(self, *roles: str, kind: str = "staff", company: Company | None = None,
             name: str | None = None, employee_no: str | None = None, phone: str | None = None,
             department: Department | None = None, password: str | None = None,
             from_roster: bool = False, scope: tuple[str, int] | None = None) -> User:
        n = next(_seq)
        if company is not None:
            kind = "contractor" if kind == "staff" else kind
        user = User(kind=kind, name=name or f"用户{n}", employee_no=employee_no if employee_no is not None
                    else (None if kind == "visitor" else f"T{n:05d}"),
                    company_id=company.id if company else None, department=department,
                    from_roster=from_roster,
                    password_hash=hash_password(password) if password else None)
        set_phone(user, phone or (None if kind == "visitor" else f"139{n:08d}"))
        for role in roles or (kind,) if kind in ("staff", "visitor") else roles:
            if scope is not None:
                user.roles.append(RoleGrant(role=role, scope_kind=scope[0], scope_id=scope[1]))
            elif company is not None and role in ("canteen_manager", "canteen_staff", "property_dispatcher",
                                                 "technician", "guard"):
                user.roles.append(RoleGrant(role=role, scope_kind="company", scope_id=company.id))
            else:
                user.roles.append(RoleGrant(role=role))
        db.session.add(user)
        db.session.commit()
        return user

    def token(self, user: User) -> str:
        raw, _ = issue_token(user)
        db.session.commit()
        return raw

    def headers(self, user: User) -> dict:
        return {"Authorization": f"Bearer {self.token(user)}"}

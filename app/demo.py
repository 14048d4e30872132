"""Demo data for `python3 dev.py run`: departments, staff, contractors and their staff, an
administrator. Idempotent: it adds what is missing. Every later domain adds its own step
to `DEMO_STEPS`."""

from __future__ import annotations

import importlib

from sqlalchemy import select

from app.extensions import db
from app.passwords import hash_password
from blueprints.identity.service import set_phone
from models import Company, Department, RoleGrant, User

DEMO_ADMIN = ("A0001", "Admin@2026demo")  # employee number, panel password
DEMO_PASSWORD = "Demo@2026pass"  # every demo contractor manager and the auditor

DEPARTMENTS = [
    ("OFFICE", "办公室", None), ("OFFICE-GEN", "综合科", "OFFICE"), ("OFFICE-SEC", "秘书科", "OFFICE"),
    ("AFFAIRS", "机关事务管理局", None), ("AFFAIRS-LOG", "后勤保障处", "AFFAIRS"),
    ("FIN", "财务处", None), ("HR", "人事处", None), ("IT", "信息中心", None),
]
STAFF = [
    ("E1001", "张伟", "OFFICE-GEN", "13800001001"), ("E1002", "王芳", "OFFICE-SEC", "13800001002"),
    ("E1003", "李娜", "AFFAIRS-LOG", "13800001003"), ("E1004", "刘洋", "FIN", "13800001004"),
    ("E1005", "陈静", "HR", "13800001005"), ("E1006", "杨磊", "IT", "13800001006"),
    ("E1007", "赵敏", "OFFICE", "13800001007"), ("E1008", "黄强", "AFFAIRS", "13800001008"),
]
COMPANIES = [("金穗餐饮管理有限公司", "canteen_operator"), ("安居物业服务有限公司", "property"),
             ("卫安保安服务有限公司", "security")]
# employee_no, name, company index, role, panel password?
CONTRACTOR_STAFF = [
    ("C2001", "周厨师长", 0, "canteen_manager", True), ("C2002", "吴师傅", 0, "canteen_staff", False),
    ("C3001", "郑调度", 1, "property_dispatcher", True), ("C3002", "孙技师", 1, "technician", False),
    ("C3003", "钱技师", 1, "technician", False), ("C4001", "冯保安", 2, "guard", False),
]

# Every domain's demo step, in order ("module:function"): each adds what is missing.
DEMO_STEPS = [
    "app.demo:seed_identity",
    "blueprints.places.demo:seed_places_and_calendar",
    "blueprints.notifications.demo:seed_notifications",
    "blueprints.attachments.demo:seed_attachments",
    "blueprints.points.demo:seed_points",
    "blueprints.canteen.demo_menus:seed",
    "blueprints.canteen.demo_booking:seed",
    "blueprints.canteen.demo_waste:seed",
    "blueprints.canteen.demo_dish_ratings:seed",
    "blueprints.rooms.demo:seed",
    "blueprints.parking.demo:seed",
    "blueprints.ratings.demo:seed_ratings",
]


def _user(employee_no: str) -> User | None:
    return db.session.execute(select(User).where(User.employee_no == employee_no)).scalar_one_or_none()


def seed_identity() -> None:
    depts = {d.code: d for d in db.session.execute(select(Department)).scalars()}
    for order, (code, name, parent) in enumerate(DEPARTMENTS):
        if code not in depts:
            depts[code] = Department(code=code, name=name, parent=depts.get(parent), sort_order=order)
            db.session.add(depts[code])
    db.session.flush()
    for no, name, dept, phone in STAFF:
        if _user(no) is None:
            user = User(kind="staff", employee_no=no, name=name, department=depts[dept], from_roster=True)
            set_phone(user, phone)
            user.roles.append(RoleGrant(role="staff"))
            db.session.add(user)
    companies = []
    for name, kind in COMPANIES:
        company = db.session.execute(select(Company).where(Company.name == name)).scalar_one_or_none()
        if company is None:
            company = Company(name=name, kind=kind)
            db.session.add(company)
            db.session.flush()
        companies.append(company)
    for no, name, idx, role, panel in CONTRACTOR_STAFF:
        if _user(no) is None:
            user = User(kind="contractor", employee_no=no, name=name, company_id=companies[idx].id,
                        password_hash=hash_password(DEMO_PASSWORD) if panel else None)
            user.roles.append(RoleGrant(role=role, scope_kind="company", scope_id=companies[idx].id))
            db.session.add(user)
    if _user(DEMO_ADMIN[0]) is None:
        admin = User(kind="staff", employee_no=DEMO_ADMIN[0], name="系统管理员", department=depts["AFFAIRS"],
                     password_hash=hash_password(DEMO_ADMIN[1]))
        admin.roles.extend([RoleGrant(role="admin"), RoleGrant(role="staff")])
        db.session.add(admin)
    if _user("A0002") is None:
        auditor = User(kind="staff", employee_no="A0002", name="审计员", department=depts["AFFAIRS"],
                       password_hash=hash_password(DEMO_PASSWORD))
        auditor.roles.extend([RoleGrant(role="auditor"), RoleGrant(role="staff")])
        db.session.add(auditor)
    db.session.flush()


def seed_demo() -> None:
    for path in DEMO_STEPS:
        module, _, function = path.partition(":")
        getattr(importlib.import_module(module), function)()
    db.session.commit()


"""Staff roster import (CSV or XLSX), upserting by employee number.

All rows are checked first; if any is bad, the report lists each bad row and nothing is
imported. Otherwise one transaction creates and updates staff, re-enables returning
people and (by default) disables roster staff missing from the file: their tokens are
revoked at once and `user_disabled` lets other domains cancel their future orders.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile

from openpyxl import load_workbook
from sqlalchemy import select

from app import audit
from app.auth import Principal
from app.crypto import normalise_phone, phone_index
from app.errors import AppError
from app.extensions import db
from blueprints.identity.service import disable_user, enable_user, set_phone, user_phone
from models import Department, RoleGrant, User

MAX_ROWS = 50000
HEADERS = {
    "employee_no": ("工号", "employee_no", "人员编号"),
    "name": ("姓名", "name"),
    "department": ("部门", "department", "部门编码"),
    "phone": ("手机号", "手机", "phone", "手机号码"),
}
_EMPLOYEE_NO = re.compile(r"^[A-Za-z0-9_-]{1,32}$")


def _unreadable(reason: str) -> AppError:
    return AppError("ROSTER_FILE_UNREADABLE", details={"reason": reason})


def read_rows(data: bytes, filename: str) -> list[dict]:
    """Rows as dicts keyed by field name, each with its 1-based line number ("row")."""
    if data[:4] == b"PK\x03\x04":
        try:
            sheet = load_workbook(io.BytesIO(data), read_only=True, data_only=True).worksheets[0]
        except (zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
            raise _unreadable("xlsx") from exc
        table = [["" if v is None else str(v).strip() for v in row] for row in sheet.iter_rows(values_only=True)]
    else:
        for encoding in ("utf-8-sig", "gb18030"):
            try:
                text = data.decode(encoding)
                break
            except UnicodeDecodeError:
                continue
        else:
            raise _unreadable("encoding")
        if "\x00" in text:
            raise _unreadable("binary")
        table = [[cell.strip() for cell in row] for row in csv.reader(io.StringIO(text))]
    if not table:
        raise _unreadable("empty")
    header = [h.strip().lower() for h in table[0]]
    columns = {}
    for field, names in HEADERS.items():
        for i, h in enumerate(header):
            if h in names:
                columns[field] = i
                break
        else:
            raise _unreadable(f"missing column {HEADERS[field][0]}")
    rows = []
    for line, cells in enumerate(table[1:], start=2):
        if not any(cells):
            continue
        rows.append({"row": line, **{f: (cells[i] if i < len(cells) else "") for f, i in columns.items()}})
    if len(rows) > MAX_ROWS:
        raise _unreadable(f"more than {MAX_ROWS} rows")
    return rows


def _departments() -> dict[str, Department]:
    by_key: dict[str, Department] = {}
    names: dict[str, list[Department]] = {}
    for dept in db.session.execute(select(Department)).scalars():
        by_key[dept.code] = dept
        names.setdefault(dept.name, []).append(dept)
    for name, depts in names.items():
        if len(depts) == 1:
            by_key.setdefault(name, depts[0])
    return by_key


def import_rows(actor: Principal, rows: list[dict], disable_missing: bool = True,
                dry_run: bool = False) -> dict:
    departments = _departments()
    existing = {u.employee_no: u for u in db.session.execute(
        select(User).where(User.employee_no.is_not(None))).scalars()}
    errors, seen_no, seen_phone, clean = [], {}, {}, []
    for row in rows:
        problems = []
        no, name, phone_raw = row["employee_no"], row["name"], row["phone"]
        if not _EMPLOYEE_NO.match(no):
            problems.append("工号为空或格式不正确（字母、数字、-、_，最多32位）")
        elif no in seen_no:
            problems.append(f"工号与第{seen_no[no]}行重复")
        else:
            seen_no[no] = row["row"]
        if not name or len(name) > 50:
            problems.append("姓名为空或超过50字")
        dept = departments.get(row["department"])
        if dept is None:
            problems.append(f"部门“{row['department']}”不存在（填写部门编码或唯一的部门名称）")
        phone = normalise_phone(phone_raw)
        if phone is None:
            problems.append("手机号格式不正确")
        elif phone in seen_phone:
            problems.append(f"手机号与第{seen_phone[phone]}行重复")
        else:
            seen_phone[phone] = row["row"]
        other = existing.get(no)
        if other is not None and other.kind != "staff":
            problems.append("该工号已被服务单位人员或访客占用")
        if problems:
            errors.append({"row": row["row"], "employee_no": no, "errors": problems})
        else:
            clean.append((no, name, dept, phone))

    # A phone still held by an active staff member who is neither in the file nor leaving.
    file_nos = {no for no, *_ in clean}
    if clean:
        holders = {u.phone_bidx: u for u in existing.values()
                   if u.kind == "staff" and u.is_active and u.phone_bidx}
        for no, _, _, phone in clean:
            holder = holders.get(phone_index(phone))
            if holder is not None and holder.employee_no != no and holder.employee_no not in file_nos \
                    and not (disable_missing and holder.from_roster):
                errors.append({"row": seen_no[no], "employee_no": no,
                               "errors": [f"手机号已属于在职人员（工号 {holder.employee_no}）"]})
    if errors:
        raise AppError("ROSTER_INVALID", details={"rows": sorted(errors, key=lambda e: e["row"])})

    report = {"dry_run": dry_run, "rows": len(clean), "created": 0, "updated": 0, "unchanged": 0,
              "reenabled": 0, "disabled": 0}
    leavers = [u for u in existing.values()
               if disable_missing and u.kind == "staff" and u.from_roster and u.is_active
               and u.employee_no not in file_nos]
    report["disabled"] = len(leavers)
    for user in leavers:
        disable_user(actor, user, "roster")
    # Clear phones that move between people before setting them (the unique index is not deferrable).
    changing = []
    for no, _name, _dept, phone in clean:
        user = existing.get(no)
        if user is None:
            continue
        if user_phone(user) != phone:
            user.phone_bidx = None
            changing.append(user)
    db.session.flush()
    for no, name, dept, phone in clean:
        user = existing.get(no)
        if user is None:
            user = User(kind="staff", employee_no=no, name=name, department_id=dept.id, from_roster=True)
            set_phone(user, phone)
            user.roles.append(RoleGrant(role="staff", scope_kind="global", granted_by_id=actor.user_id))
            db.session.add(user)
            report["created"] += 1
            continue
        changed = user in changing or user.name != name or user.department_id != dept.id
        if user in changing:
            set_phone(user, phone)
        user.name, user.department_id, user.from_roster = name, dept.id, True
        if not user.is_active:
            enable_user(actor, user)
            report["reenabled"] += 1
        elif changed:
            report["updated"] += 1
        else:
            report["unchanged"] += 1
        if not any(g.role == "staff" for g in user.roles):
            user.roles.append(RoleGrant(role="staff", scope_kind="global", granted_by_id=actor.user_id))
    audit.record("roster.import", "roster", None, {k: v for k, v in report.items()}, actor=actor)
    if dry_run:
        db.session.rollback()
    else:
        db.session.commit()
    return report

"""Staff roster import (CSV or XLSX), upserting by employee number.

All rows are checked first; if any is bad, the report lists each bad row and nothing is
imported. Otherwise one transaction creates and updates staff, re-enables returning
people and (by default) disables roster staff missing from the file: their tokens are
revoked at once and `user_disabled` lets other domains cancel their future orders.
Imports take a PostgreSQL advisory lock, so imports started in several app processes at
once apply one after the other, each against what the previous one committed. A dry run
reports the same counts and writes nothing (no signal, no audit row).
"""

from __future__ import annotations

import csv
import io
import re
from typing import NamedTuple

from openpyxl import load_workbook
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from app import audit
from app.auth import Principal
from app.crypto import normalise_phone, phone_index
from app.errors import AppError
from app.extensions import db
from app.locks import lock_key
from blueprints.identity.service import disable_user, enable_user, set_phone
from models import Department, RoleGrant, User

MAX_ROWS = 50000
MAX_BYTES = 20 * 1024 * 1024
HEADERS = {
    "employee_no": ("工号", "employee_no", "人员编号"),
    "name": ("姓名", "name"),
    "department": ("部门", "department", "部门编码"),
    "phone": ("手机号", "手机", "phone", "手机号码"),
}
_EMPLOYEE_NO = re.compile(r"^[A-Za-z0-9_-]{1,32}$")
_ZIP = b"PK\x03\x04"
_OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # the old binary .xls


def _unreadable(reason: str) -> AppError:
    return AppError("ROSTER_FILE_UNREADABLE", details={"reason": reason})


def _cell(value) -> str:
    """An XLSX cell as text: Excel keeps numbers such as 1001 or 13800000001 as floats."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def _limited(rows):
    for i, row in enumerate(rows):
        if i > MAX_ROWS:
            raise _unreadable(f"more than {MAX_ROWS} rows")
        yield row


def _xlsx_table(data: bytes) -> list[list[str]]:
    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        try:
            rows = workbook.worksheets[0].iter_rows(values_only=True)
            return [[_cell(v) for v in row] for row in _limited(rows)]
        finally:
            workbook.close()
    except AppError:
        raise
    except Exception as exc:  # a damaged workbook makes openpyxl raise almost anything
        raise _unreadable("xlsx") from exc


def _csv_table(data: bytes) -> list[list[str]]:
    for encoding in ("utf-8-sig", "gb18030"):  # Excel in China saves CSV as GBK
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise _unreadable("encoding")
    if "\x00" in text:
        raise _unreadable("binary")
    try:
        return [[cell.strip() for cell in row] for row in _limited(csv.reader(io.StringIO(text), strict=True))]
    except csv.Error as exc:
        raise _unreadable("csv") from exc


def read_rows(data: bytes, filename: str) -> list[dict]:
    """Rows as dicts keyed by field name, each with its 1-based line number ("row")."""
    if len(data) > MAX_BYTES:
        raise AppError("PAYLOAD_TOO_LARGE", details={"max_bytes": MAX_BYTES})
    if data.startswith(_ZIP):
        table = _xlsx_table(data)
    elif data.startswith(_OLE2) or filename.lower().endswith((".xlsx", ".xlsm", ".xls")):
        raise _unreadable("xls: save as xlsx or csv" if data.startswith(_OLE2) else "xlsx")
    else:
        table = _csv_table(data)
    if not table or not any(table[0]):
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
    if not rows:  # an empty roster would disable everybody
        raise _unreadable("no rows")
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


class _Entry(NamedTuple):
    row: int
    employee_no: str
    name: str
    department: Department
    phone: str
    phone_bidx: str


def _check(rows: list[dict], existing: dict[str, User]) -> tuple[list[dict], list[_Entry]]:
    """Each row on its own and against the rest of the file."""
    departments = _departments()
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
            clean.append(_Entry(row["row"], no, name, dept, phone, phone_index(phone)))
    return errors, clean


def import_rows(actor: Principal, rows: list[dict], disable_missing: bool = True,
                dry_run: bool = False) -> dict:
    if not dry_run:  # one import at a time, each planned on what the previous one committed
        db.session.execute(select(func.pg_advisory_xact_lock(lock_key("roster:import"))))
    existing = {u.employee_no: u for u in db.session.execute(
        select(User).where(User.employee_no.is_not(None)).options(selectinload(User.roles))
        .execution_options(populate_existing=True)).scalars()}
    errors, clean = _check(rows, existing)
    file_nos = {e.employee_no for e in clean}
    leavers = [u for no, u in sorted(existing.items())
               if disable_missing and u.kind == "staff" and u.from_roster and u.is_active and no not in file_nos]

    # A phone may move only from someone in the file or leaving: the active-staff phone
    # index is unique, and anybody else keeps their number.
    free = file_nos | {u.employee_no for u in leavers}
    holders = dict(db.session.execute(select(User.phone_bidx, User.employee_no).where(
        User.kind == "staff", User.is_active, User.phone_bidx.is_not(None))).all())
    for e in clean:
        if e.phone_bidx in holders and holders[e.phone_bidx] not in free:
            errors.append({"row": e.row, "employee_no": e.employee_no, "errors": [
                f"手机号已属于其他在职人员（工号 {holders[e.phone_bidx] or '无'}）"]})
    if errors:
        raise AppError("ROSTER_INVALID", details={"rows": sorted(errors, key=lambda e: e["row"])})

    report = {"dry_run": dry_run, "rows": len(clean), "created": 0, "updated": 0, "unchanged": 0,
              "reenabled": 0, "disabled": len(leavers), "leavers": [u.employee_no for u in leavers]}
    for e in clean:
        user = existing.get(e.employee_no)
        if user is None:
            report["created"] += 1
        elif not user.is_active:
            report["reenabled"] += 1
        elif (user.name, user.department_id, user.phone_bidx) != (e.name, e.department.id, e.phone_bidx):
            report["updated"] += 1
        else:
            report["unchanged"] += 1
    if dry_run:
        return report
    try:
        _apply(actor, clean, existing, leavers)
        audit.record("roster.import", "roster", None,
                     {k: v for k, v in report.items() if k != "leavers"}, actor=actor)
        db.session.commit()
    except IntegrityError as exc:  # someone else changed a person meanwhile (not another import)
        db.session.rollback()
        raise AppError("CONFLICT", details={"reason": "roster changed during import, try again"}) from exc
    return report


def _apply(actor: Principal, clean: list[_Entry], existing: dict[str, User], leavers: list[User]) -> None:
    for user in leavers:
        disable_user(actor, user, "roster")
    # Phones moving between people are cleared first (the unique index is not deferrable).
    for e in clean:
        user = existing.get(e.employee_no)
        if user is not None and user.phone_bidx != e.phone_bidx:
            user.phone_bidx = None
    db.session.flush()
    granted_by = actor.user_id or None  # the command line acts as "system", user 0
    for e in clean:
        user = existing.get(e.employee_no)
        if user is None:
            user = User(kind="staff", employee_no=e.employee_no)
            db.session.add(user)
        elif not user.is_active:
            enable_user(actor, user)
        if user.phone_bidx != e.phone_bidx:
            set_phone(user, e.phone)
        user.name, user.department_id, user.from_roster = e.name, e.department.id, True
        if not any(g.role == "staff" for g in user.roles):
            user.roles.append(RoleGrant(role="staff", scope_kind="global", granted_by_id=granted_by))
    db.session.flush()

"""Staff roster import: CSV (UTF-8, BOM, GBK/GB18030) and XLSX, all-or-nothing validation,
leavers disabled with their tokens revoked, phones encrypted and swappable."""

from __future__ import annotations

import io
import zipfile

import pytest
from openpyxl import Workbook
from sqlalchemy import event, select, text

from app.crypto import phone_index
from app.extensions import db
from app.signals import user_disabled
from blueprints.identity.service import user_phone
from models import ApiToken, User
from tests.identity._workers import run_at_once
from tests.identity.helpers import API, assert_error, assert_no_phone_in_audit, audit_rows, me

HEADER = ("工号", "姓名", "部门", "手机号")


def csv_bytes(rows, encoding: str = "utf-8", header=HEADER) -> bytes:
    lines = [",".join(header)] + [",".join(str(c) for c in row) for row in rows]
    return ("\r\n".join(lines) + "\r\n").encode(encoding)


def xlsx_bytes(rows, header=HEADER) -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.append(list(header))
    for row in rows:
        ws.append(list(row))
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def upload(client, headers, data: bytes, filename: str = "roster.csv", **query):
    qs = "&".join(f"{k}={str(v).lower()}" for k, v in query.items())
    return client.post(f"{API}/users/roster-import" + (f"?{qs}" if qs else ""), headers=headers,
                       data={"file": (io.BytesIO(data), filename)}, content_type="multipart/form-data")


def by_no(employee_no: str) -> User | None:
    db.session.expire_all()
    return db.session.execute(select(User).where(User.employee_no == employee_no)).scalar_one_or_none()


def snapshot() -> tuple:
    """Everything an import could touch, read straight from the database."""
    db.session.expire_all()
    return tuple(db.session.execute(text(sql)).all() for sql in (
        "SELECT id, kind, name, employee_no, department_id, company_id, phone_enc, phone_bidx,"
        " is_active, disabled_at, from_roster, auth_epoch FROM app_user ORDER BY id",
        "SELECT id, user_id, role, scope_kind, scope_id FROM role_grant ORDER BY id",
        "SELECT id, revoked_at FROM api_token ORDER BY id",
        "SELECT id, action FROM audit_log ORDER BY id",
    ))


@pytest.fixture
def depts(make):
    return make.department("办公室"), make.department("财务处")


# --- formats -----------------------------------------------------------------------------

@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk", "gb18030"])
def test_csv_encodings_create_staff(client, admin_h, depts, encoding):
    office, finance = depts
    data = csv_bytes([("E001", "张三", office.code, "13800000001"),
                      ("E002", "李四", "财务处", "138-0000-0002"),  # department by unique name
                      ("E003", "欧阳娜娜", finance.code, "+86 138 0000 0003")], encoding)
    resp = upload(client, admin_h, data)
    assert resp.status_code == 200, resp.get_json()
    assert resp.get_json() == {"dry_run": False, "rows": 3, "created": 3, "updated": 0, "unchanged": 0,
                               "reenabled": 0, "disabled": 0, "leavers": []}
    zhang, li, ouyang = by_no("E001"), by_no("E002"), by_no("E003")
    assert (zhang.name, zhang.department_id, zhang.kind, zhang.from_roster, zhang.is_active) == \
        ("张三", office.id, "staff", True, True)
    assert (li.name, li.department_id) == ("李四", finance.id)
    assert ouyang.name == "欧阳娜娜"
    assert [(g.role, g.scope_kind, g.scope_id) for g in zhang.roles] == [("staff", "global", None)]
    assert user_phone(li) == "13800000002" and user_phone(ouyang) == "13800000003"


def test_phone_encrypted_at_rest_and_found_by_blind_index(client, admin_h, depts):
    resp = upload(client, admin_h, csv_bytes([("E001", "张三", depts[0].code, "13800000001")]))
    assert resp.status_code == 200
    raw = db.session.execute(text("SELECT * FROM app_user WHERE employee_no = 'E001'")).mappings().one()
    assert not any("13800000001" in str(value) for value in raw.values())
    found = db.session.execute(select(User).where(User.phone_bidx == phone_index("13800000001"))).scalar_one()
    assert found.employee_no == "E001" and user_phone(found) == "13800000001"
    listed = client.get(f"{API}/users?q=E001", headers=admin_h).get_json()["items"]
    assert listed[0]["phone"] == "138****0001"


def test_xlsx_with_numeric_cells(client, admin_h, depts):
    office, finance = depts
    data = xlsx_bytes([(1001, "张三", office.code, 13800000001),
                       ("A-02", "李四", finance.name, "13800000002"),
                       (None, None, None, None),  # blank line is skipped
                       (1003.0, " 王五 ", office.code, 13800000003.0)])
    resp = upload(client, admin_h, data, filename="花名册.xlsx")
    assert resp.status_code == 200, resp.get_json()
    assert resp.get_json()["created"] == 3
    assert by_no("1001").name == "张三" and user_phone(by_no("1001")) == "13800000001"
    assert by_no("A-02").department_id == finance.id
    assert by_no("1003").name == "王五" and user_phone(by_no("1003")) == "13800000003"


def test_xlsx_bad_rows_report_sheet_row_numbers(client, admin_h, depts):
    data = xlsx_bytes([(1001, "张三", depts[0].code, 13800000001), (1002, "", depts[0].code, 13800000002)])
    body = assert_error(upload(client, admin_h, data, filename="r.xlsx"), 422, "ROSTER_INVALID")
    assert [r["row"] for r in body["details"]["rows"]] == [3]


# --- upsert ------------------------------------------------------------------------------

def test_upsert_updates_and_counts_unchanged(client, admin_h, depts):
    office, finance = depts
    rows = [("E001", "张三", office.code, "13800000001"), ("E002", "李四", office.code, "13800000002"),
            ("E003", "王五", office.code, "13800000003"), ("E004", "赵六", office.code, "13800000004")]
    assert upload(client, admin_h, csv_bytes(rows)).status_code == 200
    ids = {no: by_no(no).id for no, *_ in rows}
    rows = [("E001", "张三丰", office.code, "13800000001"),  # name
            ("E002", "李四", finance.code, "13800000002"),  # department
            ("E003", "王五", office.code, "13900000003"),  # phone
            ("E004", "赵六", office.code, "138 0000 0004"),  # same phone, other spelling
            ("E005", "钱七", finance.code, "13800000005")]
    resp = upload(client, admin_h, csv_bytes(rows))
    assert resp.get_json() == {"dry_run": False, "rows": 5, "created": 1, "updated": 3, "unchanged": 1,
                               "reenabled": 0, "disabled": 0, "leavers": []}
    assert {no: by_no(no).id for no in ids} == ids  # updated in place, not recreated
    assert by_no("E001").name == "张三丰"
    assert by_no("E002").department_id == finance.id
    wang = by_no("E003")
    assert user_phone(wang) == "13900000003" and wang.phone_bidx == phone_index("13900000003")
    assert db.session.execute(select(User).where(User.phone_bidx == phone_index("13800000003"))).first() is None


def test_existing_non_roster_staff_joins_roster(client, admin_h, depts, make):
    admin_user = make.user("admin", employee_no="E100", phone="13700000100")
    resp = upload(client, admin_h, csv_bytes([("E100", "管理员甲", depts[0].code, "13700000100")]),
                  disable_missing="false")
    assert resp.get_json()["updated"] == 1
    user = by_no("E100")
    assert user.id == admin_user.id and user.from_roster
    assert sorted(g.role for g in user.roles) == ["admin", "staff"]  # staff role added, admin kept


# --- bad rows: all or nothing ------------------------------------------------------------

def test_bad_rows_reported_one_by_one_and_nothing_imported(client, admin_h, depts, make):
    office = depts[0]
    keeper = make.user("admin", employee_no="K001", phone="13700000001")  # not on the roster: stays
    company = make.company()
    make.user("technician", company=company, employee_no="C001")
    make.user(employee_no="E001", name="原名", department=office, phone="13800000009", from_roster=True)
    before = snapshot()
    rows = [
        ("E001", "新名字", office.code, "13800000001"),  # 2: fine on its own
        ("E 02", "李四", office.code, "13800000002"),  # 3: bad employee number
        ("E003", "", office.code, "13800000003"),  # 4: empty name
        ("E004", "赵六", "NOPE", "13800000004"),  # 5: unknown department
        ("E005", "钱七", office.code, "12345"),  # 6: bad phone
        ("E001", "重复", office.code, "13800000006"),  # 7: duplicate employee number
        ("E007", "孙九", office.code, "13800000001"),  # 8: duplicate phone (row 2)
        ("E008", "周十", office.code, "13700000001"),  # 9: phone of an active staff member who stays
        ("C001", "承包", office.code, "13800000010"),  # 10: employee number of a contractor
        ("", "无号", office.code, "13800000011"),  # 11: empty employee number
        ("E012", "名" * 51, office.code, "13800000012"),  # 12: name too long
    ]
    resp = upload(client, admin_h, csv_bytes(rows))
    body = assert_error(resp, 422, "ROSTER_INVALID")
    reported = {r["row"]: r for r in body["details"]["rows"]}
    assert sorted(reported) == [3, 4, 5, 6, 7, 8, 9, 10, 11, 12]
    assert "工号" in reported[3]["errors"][0]
    assert "姓名" in reported[4]["errors"][0]
    assert "部门" in reported[5]["errors"][0] and "NOPE" in reported[5]["errors"][0]
    assert "手机号" in reported[6]["errors"][0]
    assert "第2行" in reported[7]["errors"][0]
    assert "第2行" in reported[8]["errors"][0]
    assert keeper.employee_no in reported[9]["errors"][0]
    assert reported[10]["employee_no"] == "C001"
    assert all(isinstance(r["errors"], list) and r["errors"] for r in reported.values())
    assert "13800000001" not in resp.get_data(as_text=True)  # the report names no phone numbers
    assert snapshot() == before


def test_one_row_with_several_problems(client, admin_h, depts):
    body = assert_error(upload(client, admin_h, csv_bytes([("!!", "", "NOPE", "1")])), 422, "ROSTER_INVALID")
    assert len(body["details"]["rows"][0]["errors"]) == 4


def test_phone_of_active_staff_without_employee_number_is_reported(client, admin_h, depts, make):
    hand_made = make.user(phone="13700000002")  # e.g. created by hand, no employee number
    hand_made.employee_no = None
    db.session.commit()
    before = snapshot()
    resp = upload(client, admin_h, csv_bytes([("E001", "张三", depts[0].code, "13700000002")]))
    body = assert_error(resp, 422, "ROSTER_INVALID")
    assert body["details"]["rows"][0]["row"] == 2
    assert snapshot() == before


def test_phone_of_staff_kept_by_disable_missing_false_is_reported(client, admin_h, depts, make):
    make.user(employee_no="E009", phone="13800000009", from_roster=True)
    rows = [("E001", "张三", depts[0].code, "13800000009")]
    assert_error(upload(client, admin_h, csv_bytes(rows), disable_missing="false"), 422, "ROSTER_INVALID")
    # With leavers disabled the phone is free: E009 leaves, E001 takes the number.
    resp = upload(client, admin_h, csv_bytes(rows))
    assert resp.get_json()["disabled"] == 1 and resp.get_json()["created"] == 1
    assert by_no("E001").phone_bidx == phone_index("13800000009")
    assert not by_no("E009").is_active


# --- leavers -----------------------------------------------------------------------------

def test_leavers_disabled_tokens_revoked_and_signal_in_transaction(client, admin_h, admin, depts, make, app):
    office = depts[0]
    stay = make.user(employee_no="E001", department=office, phone="13800000001", from_roster=True)
    leaver = make.user(employee_no="E002", department=office, phone="13800000002", from_roster=True)
    leaver_h = make.headers(leaver)
    assert me(client, leaver_h).status_code == 200  # works, and is now cached in Redis
    outside = db.engine.connect()
    calls = []

    def receiver(user, actor, reason):
        # Inside the import's transaction: the change is visible here, not yet committed.
        committed = outside.execute(text("SELECT is_active FROM app_user WHERE id = :id"),
                                    {"id": user.id}).scalar_one()
        outside.rollback()
        session = db.session.object_session(user)
        calls.append((user.id, user.is_active, committed, reason, getattr(actor, "user_id", None),
                      session.in_transaction()))
        # A listener's writes share the transaction: committed together with the import.
        session.execute(text("UPDATE app_user SET name = name || '（离职）' WHERE id = :id"), {"id": user.id})

    try:
        with user_disabled.connected_to(receiver):
            resp = upload(client, admin_h, csv_bytes([("E001", stay.name, office.code, "13800000001")]))
    finally:
        outside.close()
    assert resp.status_code == 200
    assert resp.get_json()["disabled"] == 1 and resp.get_json()["unchanged"] == 1
    assert calls == [(leaver.id, False, True, "roster", admin.id, True)]
    gone = by_no("E002")
    assert not gone.is_active and gone.disabled_at is not None and gone.name.endswith("（离职）")
    assert by_no("E001").is_active
    assert db.session.get(User, admin.id).is_active  # not on the roster, never from it: untouched
    resp = me(client, leaver_h)
    assert resp.status_code in (401, 403) and resp.get_json()["code"] in ("TOKEN_INVALID", "USER_DISABLED")
    revoked = db.session.execute(select(ApiToken).where(ApiToken.user_id == leaver.id)).scalar_one()
    assert revoked.revoked_at is not None and revoked.revoked_reason == "disabled"
    disabled_audit = audit_rows("user.disable")
    assert [(a.target_id, a.details) for a in disabled_audit] == [(str(leaver.id), {"reason": "roster"})]
    (imported,) = audit_rows("roster.import")
    assert imported.actor_id == admin.id and imported.details["disabled"] == 1
    assert_no_phone_in_audit()


def test_disable_missing_false_keeps_leavers(client, admin_h, depts, make):
    leaver = make.user(employee_no="E002", phone="13800000002", from_roster=True)
    headers = make.headers(leaver)
    calls = []
    with user_disabled.connected_to(lambda user, **kw: calls.append(user.id)):
        resp = upload(client, admin_h, csv_bytes([("E001", "张三", depts[0].code, "13800000001")]),
                      disable_missing="false")
    assert resp.get_json()["disabled"] == 0 and calls == []
    assert by_no("E002").is_active
    assert me(client, headers).status_code == 200


def test_person_back_in_file_is_reenabled(client, admin_h, depts, make):
    office = depts[0]
    rows = [("E001", "张三", office.code, "13800000001"), ("E002", "李四", office.code, "13800000002")]
    assert upload(client, admin_h, csv_bytes(rows)).status_code == 200
    assert upload(client, admin_h, csv_bytes(rows[:1])).get_json()["disabled"] == 1
    assert not by_no("E002").is_active
    resp = upload(client, admin_h, csv_bytes(rows))
    assert resp.get_json()["reenabled"] == 1 and resp.get_json()["unchanged"] == 1
    back = by_no("E002")
    assert back.is_active and back.disabled_at is None
    login = client.post(f"{API}/auth/dev-login", json={"employee_no": "E002"})
    assert login.status_code == 200
    assert [a.target_id for a in audit_rows("user.enable")] == [str(back.id)]


def test_leaver_back_with_phone_now_held_by_someone_else(client, admin_h, depts):
    office = depts[0]
    assert upload(client, admin_h, csv_bytes([("E001", "张三", office.code, "13800000001")])).status_code == 200
    # 张三 leaves; 李四 gets his number; then 张三 comes back with a new one.
    assert upload(client, admin_h, csv_bytes([("E002", "李四", office.code, "13800000001")])).status_code == 200
    rows = [("E001", "张三", office.code, "13800000003"), ("E002", "李四", office.code, "13800000001")]
    resp = upload(client, admin_h, csv_bytes(rows))
    assert resp.status_code == 200 and resp.get_json()["reenabled"] == 1
    assert user_phone(by_no("E001")) == "13800000003" and by_no("E001").is_active


def test_phones_swap_and_rotate_in_one_import(client, admin_h, depts):
    office = depts[0]
    rows = [("E001", "张三", office.code, "13800000001"), ("E002", "李四", office.code, "13800000002"),
            ("E003", "王五", office.code, "13800000003"), ("E004", "赵六", office.code, "13800000004"),
            ("E005", "钱七", office.code, "13800000005"), ("E006", "孙八", office.code, "13800000006")]
    assert upload(client, admin_h, csv_bytes(rows)).status_code == 200
    rows = [("E001", "张三", office.code, "13800000002"), ("E002", "李四", office.code, "13800000001"),  # swap
            ("E003", "王五", office.code, "13800000004"), ("E004", "赵六", office.code, "13800000005"),
            ("E005", "钱七", office.code, "13800000003"),  # three-way rotation
            ("E007", "新人", office.code, "13800000006")]  # newcomer takes the leaver's phone
    resp = upload(client, admin_h, csv_bytes(rows))
    assert resp.status_code == 200, resp.get_json()
    assert resp.get_json()["updated"] == 5 and resp.get_json()["created"] == 1
    assert resp.get_json()["disabled"] == 1
    for no, _, _, phone in rows:
        holder = db.session.execute(select(User).where(
            User.phone_bidx == phone_index(phone), User.is_active)).scalar_one()
        assert holder.employee_no == no and user_phone(holder) == phone


# --- dry run -----------------------------------------------------------------------------

def test_dry_run_reports_without_writing(client, admin_h, depts, make):
    office = depts[0]
    make.user(employee_no="E001", name="张三", department=office, phone="13800000001", from_roster=True)
    leaver = make.user(employee_no="E002", department=office, phone="13800000002", from_roster=True)
    headers = make.headers(leaver)
    assert me(client, headers).status_code == 200
    rows = [("E001", "张三丰", office.code, "13800000001"), ("E003", "王五", office.code, "13800000003")]
    before = snapshot()
    calls = []
    with user_disabled.connected_to(lambda user, **kw: calls.append(user.id)):
        dry = upload(client, admin_h, csv_bytes(rows), dry_run="true")
    assert dry.status_code == 200
    assert dry.get_json() == {"dry_run": True, "rows": 2, "created": 1, "updated": 1, "unchanged": 0,
                              "reenabled": 0, "disabled": 1, "leavers": ["E002"]}
    assert calls == []
    assert snapshot() == before
    assert me(client, headers).status_code == 200
    real = upload(client, admin_h, csv_bytes(rows))
    assert real.get_json() == {**dry.get_json(), "dry_run": False}


def test_dry_run_still_reports_bad_rows(client, admin_h, depts):
    resp = upload(client, admin_h, csv_bytes([("E001", "", depts[0].code, "13800000001")]), dry_run="true")
    assert assert_error(resp, 422, "ROSTER_INVALID")["details"]["rows"][0]["row"] == 2


# --- unreadable files and permissions ----------------------------------------------------

def _zip_without_workbook() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("hello.txt", "not a workbook")
    return buf.getvalue()


@pytest.mark.parametrize(("data", "filename"), [
    (bytes(range(256)) * 8, "roster.csv"),  # binary garbage
    (b"\x89PNG\r\n\x1a\n" + bytes(range(200)), "roster.png"),
    ("工号,姓名,部门,手机号\nE001,张三,D1,13800000001\n".encode(), "roster.xlsx"),  # .xlsx, not a zip
    (b"PK\x03\x04" + b"\x00garbage" * 50, "roster.xlsx"),  # broken zip
    (_zip_without_workbook(), "roster.xlsx"),  # a zip, not a workbook
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 500, "roster.xls"),  # old binary Excel
    ("工号,姓名,手机号\nE001,张三,13800000001\n".encode(), "roster.csv"),  # missing column 部门
    (b"name,phone\n", "roster.csv"),
    (b"", "roster.csv"),  # empty
    (b"\r\n\r\n", "roster.csv"),  # blank lines only
    ("工号,姓名,部门,手机号\n".encode(), "roster.csv"),  # header only: would disable everybody
    ('工号,姓名,部门,手机号\nE001,"张三\n'.encode(), "roster.csv"),  # unterminated quote
    ("工号,姓名,部门,手机号\n".encode("utf-16"), "roster.csv"),
])
def test_unreadable_files(client, admin_h, make, data, filename):
    make.user(employee_no="E009", from_roster=True)
    before = snapshot()
    resp = upload(client, admin_h, data, filename)
    body = assert_error(resp, 422, "ROSTER_FILE_UNREADABLE")
    assert body["details"]["reason"]
    assert snapshot() == before


def test_empty_xlsx_is_unreadable(client, admin_h):
    assert_error(upload(client, admin_h, xlsx_bytes([], header=())), 422, "ROSTER_FILE_UNREADABLE")


def test_missing_file_field(client, admin_h):
    resp = client.post(f"{API}/users/roster-import", headers=admin_h, data={"other": "x"},
                       content_type="multipart/form-data")
    assert_error(resp, 422, "VALIDATION_ERROR")


@pytest.mark.parametrize("roles", [("staff",), ("auditor",), ("canteen_manager",)])
def test_only_admins_import(client, make, depts, roles):
    company = make.company("canteen_operator") if "canteen_manager" in roles else None
    user = make.user(*roles, company=company)
    data = csv_bytes([("E001", "张三", depts[0].code, "13800000001")])
    assert_error(upload(client, make.headers(user), data), 403, "FORBIDDEN")
    assert_error(upload(client, {}, data), 401, "AUTH_REQUIRED")
    assert by_no("E001") is None


# --- command line ------------------------------------------------------------------------

def test_cli_import_roster(app, depts, make, tmp_path):
    office = depts[0]
    leaver = make.user(employee_no="E009", from_roster=True)
    path = tmp_path / "roster.csv"
    path.write_bytes(csv_bytes([("E001", "张三", office.code, "13800000001")], "gbk"))
    runner = app.test_cli_runner()

    result = runner.invoke(args=["import-roster", str(path), "--dry-run"])
    assert result.exit_code == 0, result.output
    assert by_no("E001") is None

    result = runner.invoke(args=["import-roster", str(path), "--keep-missing"])
    assert result.exit_code == 0, result.output
    assert "'created': 1" in result.output
    assert by_no("E001").roles[0].granted_by_id is None and by_no("E009").is_active

    result = runner.invoke(args=["import-roster", str(path)])
    assert result.exit_code == 0, result.output
    assert not db.session.get(User, leaver.id, populate_existing=True).is_active
    assert audit_rows("roster.import")[-1].details["disabled"] == 1

    path.write_bytes(csv_bytes([("E001", "", office.code, "13800000001")]))
    result = runner.invoke(args=["import-roster", str(path)])
    assert result.exit_code == 1
    assert "ROSTER_INVALID" in result.output and "第2行" in result.output

    path.write_bytes(b"\x00\x01garbage")
    result = runner.invoke(args=["import-roster", str(path)])
    assert result.exit_code == 1 and "ROSTER_FILE_UNREADABLE" in result.output


# --- size --------------------------------------------------------------------------------

def test_five_thousand_rows_without_n_plus_one(client, admin_h, make):
    departments = [make.department() for _ in range(20)]
    rows = [(f"E{i:05d}", f"员工{i}", departments[i % 20].code, f"138{i:08d}") for i in range(5000)]
    statements = []

    def count(*_args):
        statements.append(1)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        resp = upload(client, admin_h, csv_bytes(rows))
        assert resp.status_code == 200, resp.get_json()
        assert resp.get_json()["created"] == 5000
        created_statements = len(statements)

        # Second run: 1,000 renamed, 1,000 moved, 100 leave (one per employee), the rest unchanged.
        rows2 = [(no, name + "新" if i < 1000 else name, departments[(i + 1) % 20].code
                  if 1000 <= i < 2000 else dept, phone)
                 for i, (no, name, dept, phone) in enumerate(rows[:4900])]
        statements.clear()
        resp = upload(client, admin_h, csv_bytes(rows2))
        assert resp.status_code == 200, resp.get_json()
        assert resp.get_json() == {"dry_run": False, "rows": 4900, "created": 0, "updated": 2000,
                                   "unchanged": 2900, "reenabled": 0, "disabled": 100,
                                   "leavers": [no for no, *_ in rows[4900:]]}
        updated_statements = len(statements)
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    assert created_statements < 100, created_statements
    # No per-row statements for the 4,900 present; each of the 100 leavers costs a few
    # (lock, disable, revoke tokens, audit), as an administrator's disable does.
    assert updated_statements < 100 + 6 * 100, updated_statements
    assert db.session.execute(text("SELECT count(*) FROM app_user WHERE from_roster AND is_active")).scalar() == 4900


# --- several processes -------------------------------------------------------------------

def test_imports_from_several_processes_at_once_are_serialised(make, admin, depts):
    office = depts[0]
    leaver = make.user(employee_no="E999", from_roster=True)
    rows = [(f"E{i:03d}", f"员工{i}", office.code, f"138{i:08d}") for i in range(200)]
    data = csv_bytes(rows)
    outcomes = run_at_once([(make.token(admin), "POST", f"{API}/users/roster-import", {"file": (data, "r.csv")})
                            for _ in range(3)])
    assert [status for _, status, _ in outcomes] == [200, 200, 200], outcomes
    reports = sorted((body["created"], body["unchanged"], body["disabled"]) for _, _, body in outcomes)
    assert reports == [(0, 200, 0), (0, 200, 0), (200, 0, 1)]
    assert db.session.execute(text("SELECT count(*) FROM app_user WHERE from_roster AND is_active")).scalar() == 200
    assert len(audit_rows("user.disable")) == 1 and not by_no(leaver.employee_no).is_active


def test_person_created_elsewhere_during_import_gives_conflict(client, admin_h, depts, make):
    """Imports are serialised among themselves; a clash with another writer (here: someone
    added E001 while the import ran) is a 409 and the import is rolled back whole."""
    from sqlalchemy import create_engine

    make.user(employee_no="E009", phone="13800000009", from_roster=True)
    before = snapshot()
    engine = create_engine(db.engine.url)

    def meanwhile(user, **kw):
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO app_user (kind, name, employee_no) VALUES ('staff', '别人', 'E001')"))

    try:
        with user_disabled.connected_to(meanwhile):
            resp = upload(client, admin_h, csv_bytes([("E001", "张三", depts[0].code, "13800000001")]))
    finally:
        engine.dispose()
    assert_error(resp, 409, "CONFLICT")
    assert by_no("E009").is_active and by_no("E001").name == "别人"
    db.session.execute(text("DELETE FROM app_user WHERE employee_no = 'E001'"))
    db.session.commit()
    assert snapshot()[0] == before[0]


def test_too_large_and_too_many_rows(client, admin_h, depts, monkeypatch):
    from blueprints.identity import roster

    data = csv_bytes([(f"E{i:03d}", "张三", depts[0].code, f"138{i:08d}") for i in range(20)])
    monkeypatch.setattr(roster, "MAX_ROWS", 10)
    body = assert_error(upload(client, admin_h, data), 422, "ROSTER_FILE_UNREADABLE")
    assert "10" in body["details"]["reason"]
    monkeypatch.setattr(roster, "MAX_BYTES", 100)
    assert_error(upload(client, admin_h, data), 413, "PAYLOAD_TOO_LARGE")
    assert by_no("E000") is None

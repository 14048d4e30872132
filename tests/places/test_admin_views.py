"""The panel's 地点 and 工作日历 views: administrators edit under the services' rules (in
Chinese), every change audited; auditors read only; places listed as a tree."""

from __future__ import annotations

import html
import json
import re
from datetime import date

from sqlalchemy import func, select

from app.errors import AppError
from app.extensions import db
from models import AuditLog, CalendarDay, Place
from tests.places.helpers import tree
from tests.support.admin import PASSWORD, login

CREATE_TAB = 'title="创建新记录" class="nav-link">创建</a>'


def body(response) -> str:
    return response.get_data(as_text=True)


def filter_arg(page: str, group: str, operation: str = "等于") -> str:
    data = json.loads(html.unescape(re.search(r'id="filter-groups-data" class="d-none">(.*?)</div>', page).group(1)))
    [entry] = [item for item in data[group] if item["operation"] == operation]
    return f"flt0_{entry['arg']}"


def audit(action: str) -> list[AuditLog]:
    db.session.expire_all()
    return list(db.session.execute(select(AuditLog).where(AuditLog.action == action).order_by(AuditLog.id)).scalars())


def test_places_are_listed_as_a_tree(client, signed_in, admin_user):
    tree()
    signed_in(admin_user)
    page = body(client.get("/admin/place/"))
    names = ["行政中心主楼", "大厅", "1层", "3层", "301会议室", "综合楼", "1层", "职工食堂"]
    positions, start = [], 0
    for name in names:
        start = page.index(name, start)
        positions.append(start)
    assert positions == sorted(positions)
    assert "\u2003\u2003\u2003\u2003└ 301会议室" in page  # indented by depth
    # A column sort replaces the tree order.
    by_name = body(client.get("/admin/place/?sort=0"))
    assert by_name.index("1层") < by_name.index("行政中心主楼")


def test_place_filters(client, signed_in, admin_user):
    places = tree()
    signed_in(admin_user)
    page = body(client.get("/admin/place/"))
    areas = body(client.get("/admin/place/", query_string={filter_arg(page, "类型"): "area"}))
    assert "职工食堂" in areas and "301会议室" not in areas and "列表 (2)" in areas
    children = body(client.get("/admin/place/", query_string={filter_arg(page, "上级地点 ID"): str(places["f3"].id)}))
    assert "301会议室" in children and "列表 (1)" in children
    by_parent = body(client.get("/admin/place/", query_string={filter_arg(page, "上级地点", "包含"): "综合"}))
    assert "列表 (1)" in by_parent and "1层" in by_parent


def test_admin_creates_and_edits_places_under_the_rules(client, signed_in, admin_user):
    places = tree()
    signed_in(admin_user)
    resp = client.post("/admin/place/new/", data={"kind": "room", "name": " 305会议室 ", "code": "ZL-305",
                                                  "parent": str(places["f3"].id), "sort_order": "5", "is_active": "y"})
    assert resp.status_code == 302, body(resp)
    room = db.session.execute(select(Place).where(Place.code == "ZL-305")).scalar_one()
    assert room.name == "305会议室" and room.path == "行政中心主楼 / 3层 / 305会议室"
    [created] = audit("place.create")
    assert (created.actor_id, created.target_id, created.details["via"]) == (admin_user.id, str(room.id), "admin")
    assert created.details["values"]["parent"] == places["f3"].id

    # A room under a room, a floor with no building: refused with the service's message.
    resp = client.post("/admin/place/new/", data={"kind": "floor", "name": "9层", "sort_order": "0"})
    assert resp.status_code == 200 and AppError("PLACE_PARENT_INVALID").message in body(resp)
    resp = client.post(f"/admin/place/edit/?id={places['f3'].id}",
                       data={"kind": "room", "name": "3层", "parent": str(places["main"].id), "sort_order": "3",
                             "is_active": "y"})
    assert AppError("PLACE_HAS_CHILDREN").message in body(resp)
    db.session.expire_all()
    assert db.session.get(Place, places["f3"].id).kind == "floor"
    # Duplicate sibling names: the constraint refuses, the panel explains.
    resp = client.post("/admin/place/new/", data={"kind": "floor", "name": "3层", "parent": str(places["main"].id),
                                                  "sort_order": "0"})
    assert "与已有记录重复" in body(resp)
    assert db.session.execute(select(func.count()).select_from(Place).where(Place.name == "3层")).scalar_one() == 1

    resp = client.post(f"/admin/place/edit/?id={room.id}", data={
        "kind": "room", "name": "305会议室", "code": "ZL-305", "parent": str(places["f3"].id), "sort_order": "5"})
    assert resp.status_code == 302
    db.session.expire_all()
    assert db.session.get(Place, room.id).is_active is False
    [updated] = audit("place.update")
    assert updated.details == {"via": "admin", "fields": ["is_active"], "values": {"is_active": False}}


def test_parent_choices_are_buildings_and_floors(client, signed_in, admin_user):
    tree()
    signed_in(admin_user)
    form = body(client.get("/admin/place/new/"))
    options = re.findall(r"<option[^>]*>([^<]+)</option>", form)
    assert "行政中心主楼 / 3层" in options and "综合楼" in options
    assert not any("301会议室" in option or "大厅" in option for option in options)


def test_auditor_reads_but_cannot_write_or_make_codes(client, signed_in, auditor):
    places = tree()
    signed_in(auditor)
    listing = body(client.get("/admin/place/"))
    assert "301会议室" in listing and CREATE_TAB not in listing and "/admin/place/wxa-code/" not in listing
    assert client.get(f"/admin/place/details/?id={places['r301'].id}").status_code == 200
    for method, url, data in [
        ("post", "/admin/place/new/", {"kind": "building", "name": "新楼", "sort_order": "0"}),
        ("post", f"/admin/place/edit/?id={places['main'].id}", {"kind": "building", "name": "改", "sort_order": "0"}),
        ("post", "/admin/place/delete/", {"id": str(places["r301"].id)}),
        ("get", f"/admin/place/wxa-code/?id={places['main'].id}", None),
        ("post", "/admin/calendar/new/", {"day": "2026-10-10", "kind": "workday", "name": "调休"}),
    ]:
        resp = getattr(client, method)(url, data=data)
        assert resp.status_code == 403 and "只读" in body(resp), url
    db.session.expire_all()
    assert db.session.get(Place, places["main"].id).name == "行政中心主楼"
    assert client.get("/admin/calendar/").status_code == 200


def test_staff_without_panel_roles_are_refused(client, make):
    staff = make.user("staff", password=PASSWORD)
    login(client, staff)
    for url in ("/admin/place/", "/admin/calendar/"):
        assert client.get(url).status_code in (302, 403)


def test_wxa_code_from_the_panel_without_wechat(client, signed_in, admin_user):
    places = tree()
    signed_in(admin_user)
    listing = body(client.get("/admin/place/"))
    assert f"/admin/place/wxa-code/?id={places['main'].id}" in listing
    resp = client.get(f"/admin/place/wxa-code/?id={places['main'].id}")
    assert resp.status_code == 503 and AppError("WX_NOT_CONFIGURED").message in body(resp)
    assert client.get("/admin/place/wxa-code/?id=424242").status_code == 404
    assert client.get("/admin/place/wxa-code/?id=abc").status_code == 404


def test_calendar_view(client, signed_in, admin_user):
    db.session.add_all([CalendarDay(day=date(2026, 10, 1), kind="holiday", name="国庆节"),
                        CalendarDay(day=date(2027, 1, 1), kind="holiday", name="元旦")])
    db.session.commit()
    signed_in(admin_user)
    page = body(client.get("/admin/calendar/"))
    assert "2026-10-01" in page and "星期四" in page and "节假日" in page
    only_2027 = body(client.get("/admin/calendar/", query_string={filter_arg(page, "年份"): "2027"}))
    assert "2027-01-01" in only_2027 and "2026-10-01" not in only_2027
    assert client.get("/admin/calendar/", query_string={filter_arg(page, "年份"): "abc"}).status_code == 200

    resp = client.post("/admin/calendar/new/", data={"day": "2026-10-09", "kind": "workday", "name": "调休"})
    assert AppError("CALENDAR_WORKDAY_NOT_WEEKEND").message in body(resp)
    resp = client.post("/admin/calendar/new/", data={"day": "2026-10-10", "kind": "workday", "name": "国庆节调休上班"})
    assert resp.status_code == 302
    resp = client.post("/admin/calendar/new/", data={"day": "2026-10-10", "kind": "holiday", "name": "重复"})
    assert "与已有记录重复" in body(resp)
    [created] = audit("calendar_day.create")
    assert created.actor_id == admin_user.id
    assert created.details["values"] == {"day": "2026-10-10", "kind": "workday", "name": "国庆节调休上班"}

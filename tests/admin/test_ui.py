"""The panel speaks Chinese, loads nothing from outside, and shows administrators every view
(without ever showing secrets)."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from flask_babel import get_locale

from tests.support.admin import PASSWORD

ASSET_RE = re.compile(r'(?:src|href)\s*=\s*["\']([^"\']+)["\']', re.IGNORECASE)
CSS_URL_RE = re.compile(r'@import\s+(?:url\()?\s*["\']?([^"\')\s;]+)|url\(\s*["\']?([^"\')]+)', re.IGNORECASE)


CREATE_TAB = 'title="创建新记录" class="nav-link">创建</a>'  # Flask-Admin's "Create" tab, in Chinese


def body(response) -> str:
    return response.get_data(as_text=True)


def external(url: str) -> bool:
    """An absolute http(s) or protocol-relative URL to another host (data: and relative
    URLs are local)."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") and not url.strip().startswith("//"):
        return False
    return parts.hostname not in ("localhost", "127.0.0.1")


def test_babel_locale_is_simplified_chinese(app):
    with app.test_request_context("/admin/"):
        assert str(get_locale()) == "zh_Hans_CN"


def test_flask_admin_strings_are_chinese(client, signed_in, admin_user, make):
    make.department("办公室")
    signed_in(admin_user)
    listing = body(client.get("/admin/department/"))
    # Flask-Admin's own strings, from its zh_Hans_CN catalog: List, Create, Add Filter, Edit Record...
    for text in ("列表 (1)", CREATE_TAB, "添加筛选器", "搜索", "编辑记录", "删除记录", "查看记录"):
        assert text in listing, text
    for english in (">List", ">Create<", "Add Filter", "Edit Record"):
        assert english not in listing, english
    # The panel's own labels.
    for text in ("编号", "名称", "上级部门", "机关后勤服务平台 · 管理后台", "退出登录", "修改密码"):
        assert text in listing, text
    create = body(client.get("/admin/department/new/"))
    for text in ("保存", "保存并添加另一个", "保存并继续编辑", "取消"):
        assert text in create, text
    assert "Save and Add Another" not in create
    empty = body(client.get("/admin/company/"))
    assert "表中没有任何记录" in empty
    # A validation failure shows Chinese messages (Flask-Admin's and WTForms' catalogs and ours).
    failed = body(client.post("/admin/department/new/", data={"code": "", "name": ""}))
    assert "创建记录失败" in failed
    assert "该字段是必填字段" in failed


def test_no_asset_comes_from_outside(client, signed_in, admin_user, make):
    make.department("办公室")
    pages = [body(client.get("/admin/login"))]
    signed_in(admin_user)
    for url in ("/admin/", "/admin/department/", "/admin/department/new/", f"/admin/user/details/?id={admin_user.id}",
                f"/admin/user/roles/?id={admin_user.id}", "/admin/audit-log/", "/admin/password"):
        response = client.get(url)
        assert response.status_code == 200, url
        pages.append(body(response))

    urls = {url for page in pages for url in ASSET_RE.findall(page)}
    assert not [url for url in urls if external(url)]
    assets = {url for url in urls if url.startswith("/admin/static/")}
    assert any("bootstrap4/swatch/default/bootstrap.min.css" in url for url in assets)
    assert any("jquery.min.js" in url for url in assets)
    css_refs = []
    for url in assets:  # every asset is served locally, and no stylesheet pulls in web fonts
        response = client.get(url)
        assert response.status_code == 200, url
        if urlsplit(url).path.endswith(".css"):
            css_refs += [a or b for a, b in CSS_URL_RE.findall(response.get_data(as_text=True))]
        response.close()
    assert any("fontawesome-webfont" in ref for ref in css_refs)  # fonts come with the package
    assert not [ref for ref in css_refs if external(ref)]


def test_administrator_sees_every_admin_view(client, signed_in, admin_user):
    signed_in(admin_user)
    home = body(client.get("/admin/"))
    for url, label in (("/admin/department/", "部门"), ("/admin/company/", "服务单位"), ("/admin/user/", "人员与角色"),
                       ("/admin/audit-log/", "审计日志")):
        assert f'href="{url}"' in home and label in home
        response = client.get(url)
        assert response.status_code == 200, url
        assert (CREATE_TAB in body(response)) == (url in ("/admin/department/", "/admin/company/"))
    assert 'href="/api/docs"' in home  # the way back to the API documentation
    # The contractor consoles are for contractor managers only.
    assert 'href="/admin/company-staff/"' not in home
    assert client.get("/admin/company-staff/").status_code == 403


def test_users_never_show_secrets_and_phones_are_masked(client, signed_in, admin_user, make, canteen):
    cook = make.user("canteen_staff", company=canteen, name="吴师傅", phone="13912345678", password=PASSWORD)
    signed_in(admin_user)
    pages = [body(client.get(url)) for url in ("/admin/user/", f"/admin/user/details/?id={cook.id}",
                                               f"/admin/user/edit/?id={cook.id}")]
    assert "139****5678" in pages[0] and "139****5678" in pages[1]
    assert "吴师傅" in pages[0]
    for page in pages:
        assert "13912345678" not in page
        assert cook.phone_enc not in page and cook.phone_bidx not in page
        assert "$argon2" not in page
        for column in ("phone_enc", "phone_bidx", "password_hash", "auth_epoch", "session_key"):
            assert column not in page
    # The edit form offers only harmless fields; roles and disabling have their own pages.
    fields = re.findall(r'<(?:input|select|textarea)[^>]*name="(\w+)"', pages[2])
    assert [name for name in fields if not name.startswith("_")] == ["name", "employee_no", "department"]


def test_panel_pages_are_not_cached_or_framed_but_assets_are_cacheable(client, signed_in, admin_user):
    for response in (client.get("/admin/login"), signed_in(admin_user).get("/admin/user/")):
        assert response.headers["Cache-Control"] == "no-store"
        assert response.headers["X-Frame-Options"] == "DENY"
    asset = client.get("/admin/static/vendor/jquery.min.js")
    assert asset.status_code == 200 and "no-store" not in asset.headers.get("Cache-Control", "")
    asset.close()

"""Builds the panel for one application: Flask-Babel (Chinese), Flask-Admin at /admin with
the local Bootstrap 4 default theme, the sign-in pages and the views."""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, Flask, request
from flask_admin import Admin
from flask_admin.theme import Bootstrap4Theme
from flask_babel import Babel

from admin.security import forget_request_cache
from admin.views.attachments import add_views as add_attachment_views
from admin.views.audit import AuditLogView
from admin.views.base import PanelMenuLink
from admin.views.canteen_booking import add_views as add_canteen_booking_views
from admin.views.canteen_menus import add_views as add_canteen_menu_views
from admin.views.canteen_waste import add_views as add_canteen_waste_views
from admin.views.contractor import CompanyStaffView, InviteCodeView
from admin.views.identity import CompanyView, DepartmentView, UserView
from admin.views.index import PanelIndexView
from admin.views.notifications import add_views as add_notification_views
from admin.views.parking import add_views as add_parking_views
from admin.views.passes import add_views as add_scan_views
from admin.views.places import CalendarDayView, PlaceView
from admin.views.points import add_views as add_points_views
from admin.views.ratings import add_views as add_rating_views
from admin.views.rooms import add_views as add_room_views
from models import AuditLog, CalendarDay, Company, Department, InviteCode, Place, User

LOCALE = "zh_Hans_CN"
PANEL_NAME = "机关后勤服务平台 · 管理后台"
TEMPLATES = Path(__file__).parent / "templates"
# Fills the few gaps of Flask-Admin's zh_Hans_CN catalog; merged with it per request.
TRANSLATIONS = Path(__file__).parent / "translations"


def _locale() -> str:
    return LOCALE


def _panel_headers(response):
    """Panel pages hold personal data and one-time codes: never cached (a shared office
    computer's back button), never framed."""
    if request.path.startswith("/admin") and not request.path.startswith("/admin/static/"):
        response.headers.setdefault("Cache-Control", "no-store")
        response.headers.setdefault("X-Frame-Options", "DENY")
    return response


def setup_admin(app: Flask) -> Admin:
    # Flask-Admin translates through a flask_babel Domain over its own catalogs
    # (flask_admin/translations/zh_Hans_CN/LC_MESSAGES/admin.mo); the Domain asks Flask-Babel
    # for the locale, so Babel must be initialised on the app or every page fails.
    if "babel" not in app.extensions:
        Babel(app, locale_selector=_locale)

    # Our templates (admin_panel/...), found by the app's loader through a bare blueprint.
    app.register_blueprint(Blueprint("admin_panel", __name__, template_folder=str(TEMPLATES)))
    app.before_request(forget_request_cache)
    app.after_request(_panel_headers)

    admin = Admin(
        app,
        name=PANEL_NAME,
        index_view=PanelIndexView(),
        translations_path=str(TRANSLATIONS),
        # Bootstrap 4 with the default swatch: every asset is served from Flask-Admin's own
        # static folder; most other swatches import Google Fonts.
        theme=Bootstrap4Theme(swatch="default", base_template="admin_panel/base.html"),
    )
    admin.add_view(DepartmentView(Department, name="部门", category="基础数据", endpoint="department"))
    admin.add_view(CompanyView(Company, name="服务单位", category="基础数据", endpoint="company"))
    admin.add_view(PlaceView(Place, name="地点", category="基础数据", endpoint="place"))
    admin.add_view(CalendarDayView(CalendarDay, name="工作日历", category="基础数据", endpoint="calendar_day",
                                   url="calendar"))
    admin.add_view(UserView(User, name="人员与角色", endpoint="user"))
    admin.add_view(AuditLogView(AuditLog, name="审计日志", endpoint="auditlog", url="audit-log"))
    admin.add_view(CompanyStaffView(User, name="本单位人员", category="本单位", endpoint="company_staff",
                                    url="company-staff"))
    admin.add_view(InviteCodeView(InviteCode, name="邀请码", category="本单位", endpoint="invite", url="invites"))
    add_notification_views(admin)
    add_scan_views(admin)
    add_canteen_menu_views(admin)
    add_canteen_booking_views(admin)
    add_canteen_waste_views(admin)
    add_room_views(admin)
    add_parking_views(admin)
    add_rating_views(admin)
    add_points_views(admin)
    add_attachment_views(admin)
    admin.add_link(PanelMenuLink(name="接口文档", url="/api/docs", target="_blank"))
    return admin

"""扫码核验 in the panel: the counter's (or the gate's) handheld scanner types a pass into a
focused field, like a keyboard, and Enter submits it. The same `qrpass.scan` as
POST /api/v1/passes/verify: who may scan what is each purpose's rule, and a pass counts once."""

from __future__ import annotations

from flask import flash, request
from flask_admin import BaseView, expose
from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.validators import DataRequired, Length

from admin.views.base import PanelViewMixin
from app import qrpass
from app.errors import AppError
from app.extensions import db

# Roles whose people scan passes at a counter or a gate (the purpose decides the rest).
SCANNING_ROLES = ("canteen_manager", "canteen_staff", "guard", "property_dispatcher", "admin")


class ScanForm(FlaskForm):
    token = StringField("二维码内容", validators=[DataRequired("请扫描二维码"), Length(max=200)],
                        render_kw={"autofocus": True, "autocomplete": "off"},
                        description="将光标放在此处，用扫码枪扫描用户出示的二维码（扫码后自动提交）")


class ScanView(PanelViewMixin, BaseView):
    read_roles = write_roles = SCANNING_ROLES
    write_endpoints = frozenset({"index"})

    @expose("/", methods=("GET", "POST"))
    def index(self):
        form = ScanForm()
        status = 200
        if form.validate_on_submit():
            try:
                result = qrpass.scan(self.principal, form.token.data.strip())
                db.session.commit()
            except AppError as exc:
                db.session.rollback()
                flash(f"核验未通过：{exc.message}", "error")
                status = exc.status
            else:
                summary = "，".join(f"{v}" for v in result["summary"].values() if v not in (None, ""))
                flash(f"{result['transition_label']}成功：{result['holder']['name'] or ''}"
                      f"（{result['state_label']}）{summary}", "success")
            form.token.data = ""  # ready for the next scan
        elif request.method == "POST":
            status = 400
        return self.render("admin_panel/form.html", title="扫码核验", form=form, submit_label="核验",
                           intro="取餐、访客入场离场、兑换领取等二维码都在这里核验；同一二维码只能使用一次。"), status


def add_views(admin) -> None:
    admin.add_view(ScanView(name="扫码核验", endpoint="scan", url="scan"))

"""Forms of the panel. Every form carries a CSRF token: the panel's own pages use
Flask-WTF forms; the ModelViews use `PanelSecureForm` (Flask-Admin's SecureForm)."""

from __future__ import annotations

from flask import current_app
from flask_admin.form import SecureForm
from flask_wtf import FlaskForm
from wtforms import PasswordField, SelectField, SelectMultipleField, StringField, TextAreaField
from wtforms.validators import DataRequired, EqualTo, Length, Optional
from wtforms.widgets import CheckboxInput, ListWidget


class PanelSecureForm(SecureForm):
    """Flask-Admin's SecureForm (session CSRF token on every create, edit, delete and action
    form). CSRF follows WTF_CSRF_ENABLED like the Flask-WTF forms, so one setting governs
    the whole panel: on unless a test configuration turns it off."""

    class Meta(SecureForm.Meta):
        @property
        def csrf(self) -> bool:  # type: ignore[override]
            return bool(current_app.config.get("WTF_CSRF_ENABLED", True))


class LoginForm(FlaskForm):
    employee_no = StringField("工号", validators=[DataRequired("请输入工号"), Length(max=32)])
    password = PasswordField("密码", validators=[DataRequired("请输入密码"), Length(max=200)])


class LogoutForm(FlaskForm):
    """Only the CSRF token: signing out is a POST."""


class PasswordForm(FlaskForm):
    current = PasswordField("当前密码", validators=[DataRequired("请输入当前密码"), Length(max=200)])
    new = PasswordField("新密码", validators=[DataRequired("请输入新密码"), Length(max=200)],
                        description="至少 10 位，包含大写字母、小写字母、数字、符号中的至少三类")
    confirm = PasswordField("确认新密码", validators=[DataRequired("请再次输入新密码"),
                                                  EqualTo("new", "两次输入的新密码不一致")])


class DisableForm(FlaskForm):
    reason = TextAreaField("停用原因", validators=[DataRequired("请填写停用原因"), Length(max=200)])


class ConfirmForm(FlaskForm):
    """A bare confirmation (e.g. re-enabling a user)."""


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class RolesForm(FlaskForm):
    grants = MultiCheckboxField("角色", choices=[], validate_choice=True)


class InviteForm(FlaskForm):
    target = SelectField("单位与角色", choices=[], validators=[DataRequired("请选择角色")])
    note = StringField("备注", validators=[Optional(), Length(max=100)],
                       description="例如新员工姓名，便于日后核对（可不填）")

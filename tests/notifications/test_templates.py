"""Templates are configuration (defaults, NOTIFICATION_TEMPLATES, a JSON file), checked when
the app starts; values are fitted to WeChat's limits for each field type."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

import pytest

from app.notify import DEFAULT_TEMPLATES, TemplateError, _prepare, fit_value, load_templates
from tests.conftest import make_test_app


@pytest.mark.parametrize(("key", "value", "expected"), [
    ("thing1", "短事由", "短事由"),
    ("thing1", "一二三四五六七八九十一二三四五六七八九十", "一二三四五六七八九十一二三四五六七八九十"),  # 20: fits
    ("thing2", "一二三四五六七八九十一二三四五六七八九十多", "一二三四五六七八九十一二三四五六七八九…"),
    ("thing3", "第一行\n第二行\t 第三行  ", "第一行 第二行 第三行"),  # one line
    ("thing4", "   ", "无"),  # WeChat refuses an empty thing
    ("short_thing1", "六个字的词语", "六个字的…"),
    ("phrase3", "审批已经通过了", "审批已经通"),
    ("character_string1", "A" * 40, "A" * 32),
    ("number2", "1" * 40, "1" * 32),
    ("letter1", "x" * 33, "x" * 32),
    ("symbol1", "!@#$%^", "!@#$%"),
    ("phone_number1", "+86-0766-66888866-1234", "+86-0766-66888866"),
    ("car_number1", "粤A8Z888挂X", "粤A8Z888挂"),
    ("name1", "欧阳一二三四五六七八九", "欧阳一二三四五六七八"),  # 10 Chinese characters
    ("name2", "Alexander Hamilton Junior", "Alexander Hamilton J"),  # 20 letters
    ("time4", "2026-11-24 09:30~2026-11-24 11:30", "2026-11-24 09:30~2026-11-24 11:30"),  # a format: untouched
    ("amount1", "￥12345.50", "￥12345.50"),
])
def test_values_fit_wechat_field_types(key, value, expected):
    assert fit_value(key, value) == expected


def test_file_overrides_config_overrides_defaults(tmp_path):
    path = tmp_path / "templates.json"
    path.write_text(json.dumps({
        "generic_notice": {"template_id": "FROM-FILE"},
        "visit_arrived": {"template_id": "TPL-VISIT", "title": "访客{name}已到达", "fields": {"name1": "{name}"}},
    }, ensure_ascii=False), encoding="utf-8")
    loaded = load_templates({"NOTIFICATION_TEMPLATES_FILE": str(path),
                             "NOTIFICATION_TEMPLATES": {"generic_notice": {"template_id": "FROM-CONFIG",
                                                                           "long_term": True}}})
    generic = loaded["generic_notice"]
    assert generic.template_id == "FROM-FILE" and generic.long_term is True  # both merged over the default
    assert generic.fields == DEFAULT_TEMPLATES["generic_notice"]["fields"]
    assert loaded["visit_arrived"].wechat and loaded["visit_arrived"].page is None
    assert not loaded["welcome"].wechat  # no template id: in-app only
    assert not load_templates({})["order_status_changed"].wechat  # defaults carry no ids


@pytest.mark.parametrize(("overrides", "message"), [
    ({"x": {"fields": {"thing1": "{a}"}}}, "title"),
    ({"x": {"title": "t", "template_id": "T"}}, "needs fields"),
    ({"x": {"title": "t", "fields": ["thing1"]}}, "fields must map"),
    ({"x": {"title": "t", "long_term": "yes"}}, "long_term"),
    ({"x": {"title": "t", "colour": "red"}}, "unknown keys"),
    ({"x": "not an object"}, "must be an object"),
])
def test_bad_configuration_is_refused(overrides, message):
    with pytest.raises(TemplateError, match=message):
        load_templates({"NOTIFICATION_TEMPLATES": overrides})


def test_unreadable_file_and_bad_configuration_stop_the_app_at_start(server_urls, tmp_path):
    with pytest.raises(TemplateError, match="NOTIFICATION_TEMPLATES_FILE"):
        make_test_app(server_urls, NOTIFICATION_TEMPLATES_FILE=str(tmp_path / "missing.json"))
    bad = tmp_path / "bad.json"
    bad.write_text("{not json", encoding="utf-8")
    with pytest.raises(TemplateError, match="bad.json"):
        make_test_app(server_urls, NOTIFICATION_TEMPLATES_FILE=str(bad))
    with pytest.raises(TemplateError, match="title"):
        make_test_app(server_urls, NOTIFICATION_TEMPLATES={"x": {"title": ""}})
    with pytest.raises(TemplateError, match="NOTIFY_MINIPROGRAM_STATE"):
        make_test_app(server_urls, NOTIFY_MINIPROGRAM_STATE="production")


def test_times_and_dates_render_in_shanghai(nx, wx_user):
    from app.notify import notify

    user = wx_user()
    start = datetime(2026, 2, 16, 16, 0, tzinfo=UTC)
    notice = notify(user.id, "duty_reminder", {"subject": "春节值班", "start": start})
    assert notice.outbox.data == {"thing1": "春节值班", "time2": "2026-02-17 00:00"}
    assert notice.message.body == "春节值班，2026-02-17 00:00开始"
    custom = notify(user.id, "generic_notice", {"title": "{when:%m月%d日}", "content": "c"})
    assert custom.message.title == "{when:%m月%d日}"  # context values are not templates themselves
    dated = notify(user.id, "generic_notice", {"title": "放假安排", "content": date(2026, 10, 1)})
    assert dated.message.body == "2026-10-01"
    # A format spec in a template formats the local time as asked.
    assert "{start:%m月%d日 %H:%M}".format_map(_prepare({"start": start})) == "02月17日 00:00"

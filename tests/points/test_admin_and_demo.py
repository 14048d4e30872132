"""The panel's 积分 views (rules edited with CSRF and validation, read-only ledger and
accounts), the demo step, and the seeded rules and trigger of migration 0007_points."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, func, select, text

from app import devservers, migrate
from app.config import normalise_db_url
from app.demo import DEMO_STEPS, STAFF, seed_identity
from app.extensions import db
from blueprints.points import service
from blueprints.points.demo import seed_points
from models import AuditLog, User
from models.points import PointsRule, PointsTransaction
from tests import conftest as root_conftest
from tests.admin.conftest import csrf_token
from tests.conftest import RUN
from tests.points.conftest import assert_ledger_sound
from tests.support.admin import PASSWORD, login


def _page(client, url) -> str:
    resp = client.get(url)
    assert resp.status_code == 200, (url, resp.status_code)
    return resp.get_data(as_text=True)


def _rule(code: str) -> PointsRule:
    db.session.expire_all()
    return db.session.execute(select(PointsRule).where(PointsRule.code == code)).scalar_one()


def _ledger(make):
    user, admin = make.user(name="积分甲"), make.user("admin", name="管理员甲", password=PASSWORD)
    earn = service.award(user.id, "rating", "rating:panel")
    service.award(user.id, "suggestion_adopted", "suggestion:panel")
    service.spend(user.id, 4, "redemption:panel")
    service.reverse(earn.id, reason="撤回")
    db.session.commit()
    return user, admin


def test_views_render_for_administrators_and_auditors(client, rules, make):
    user, admin = _ledger(make)
    for reader in (admin, make.user("auditor", password=PASSWORD)):
        assert login(client, reader).status_code == 302
        rules_page = _page(client, "/admin/points-rules/")
        assert "光盘打卡" in rules_page and "金点子被采纳" in rules_page and "每周（周一至周日）" in rules_page
        ledger = _page(client, "/admin/points-transactions/")
        assert "积分甲" in ledger and "redemption:panel" in ledger and "+20" in ledger and "撤销" in ledger
        assert "光盘打卡" in ledger  # no such row: the rule filter's options, read per request
        for url in (f"/admin/points-transactions/?flt0_1={user.id}",  # filters: user id, kind, user, rule, date
                    "/admin/points-transactions/?flt1_2=spend",
                    "/admin/points-transactions/?flt2_0=积分",
                    "/admin/points-transactions/?flt3_3=rating",
                    "/admin/points-transactions/?flt4_5=2020-01-01+00:00:00",
                    f"/admin/points-accounts/?flt0_1={user.id}"):
            _page(client, url)
        row = db.session.execute(select(PointsTransaction).where(
            PointsTransaction.reference == "redemption:panel")).scalar_one()
        details = _page(client, f"/admin/points-transactions/details/?id={row.id}")
        assert "redemption:panel" in details and "-4" in details
        accounts = _page(client, "/admin/points-accounts/")
        assert "积分甲" in accounts and "16" in accounts
        assert "积分甲" in _page(client, f"/admin/points-accounts/details/?id={user.id}")
        # No creating or deleting rules, and the ledger and accounts are read-only for everyone.
        assert client.get("/admin/points-rules/new/").status_code in (302, 403)
        assert client.post("/admin/points-rules/delete/", data={"id": _rule("rating").id}).status_code in (302, 403)
        assert client.get("/admin/points-transactions/new/").status_code == 403
        assert client.post(f"/admin/points-transactions/edit/?id={row.id}", data={"amount": "1"}).status_code == 403
        assert client.post("/admin/points-transactions/delete/", data={"id": row.id}).status_code == 403
        assert client.post(f"/admin/points-accounts/edit/?id={user.id}", data={"balance": "999"}).status_code == 403
        client.post("/admin/logout")
    db.session.expire_all()
    assert service.balance(user.id) == 16 and db.session.query(PointsRule).count() == 4
    assert_ledger_sound()


def test_listing_filters_by_user_kind_and_rule(client, rules, make):
    user, admin = _ledger(make)
    other = make.user(name="积分乙")
    service.award(other.id, "clean_plate", "meal:panel")
    db.session.commit()
    login(client, admin)
    page = client.get("/admin/points-transactions/").get_data(as_text=True)
    assert "meal:panel" in page and "rating:panel" in page
    # Find the filter argument names Flask-Admin gave each filter from the page's filter data.
    by_kind = _filtered(client, "类型", "spend")
    assert "redemption:panel" in by_kind and "meal:panel" not in by_kind and "rating:panel" not in by_kind
    by_rule = _filtered(client, "积分规则", "clean_plate")
    assert "meal:panel" in by_rule and "rating:panel" not in by_rule
    by_user = _filtered(client, "用户", "积分乙")
    assert "meal:panel" in by_user and "redemption:panel" not in by_user


def _filtered(client, label: str, value: str) -> str:
    from admin.views.points import TransactionView

    view = next(v for v in client.application.extensions["admin"][0]._views if isinstance(v, TransactionView))
    index = next(i for i, flt in enumerate(view._filters) if str(flt.name) == label)
    resp = client.get(f"/admin/points-transactions/?flt0_{index}={value}")
    assert resp.status_code == 200
    return resp.get_data(as_text=True)


def test_contractors_cannot_open_the_views(client, rules, make):
    manager = make.user("canteen_manager", company=make.company("canteen_operator"), password=PASSWORD)
    assert login(client, manager).status_code == 302
    for url in ("/admin/points-rules/", "/admin/points-transactions/", "/admin/points-accounts/"):
        assert client.get(url).status_code == 403, url


def test_auditor_cannot_edit_a_rule(client, rules, make):
    auditor = make.user("auditor", password=PASSWORD)
    login(client, auditor)
    rule = _rule("clean_plate")
    assert client.get(f"/admin/points-rules/edit/?id={rule.id}").status_code == 403
    resp = client.post(f"/admin/points-rules/edit/?id={rule.id}",
                       data={"name": "改", "points": "9", "period": "day", "cap": "9", "active": "y"})
    assert resp.status_code == 403 and _rule("clean_plate").points == 2


# --- editing a rule with CSRF ----------------------------------------------------------------

@pytest.fixture(scope="module")
def csrf_app(server_urls):
    from app import create_app

    application = create_app(root_conftest.app_config(server_urls, WTF_CSRF_ENABLED=True))
    application.test_client_class = root_conftest.IsolatedClient
    return application


@pytest.fixture
def csrf_client(csrf_app, app):
    return csrf_app.test_client()


def _sign_in(client, user) -> None:
    token = csrf_token(client.get("/admin/login").get_data(as_text=True))
    resp = client.post("/admin/login", data={"employee_no": user.employee_no, "password": PASSWORD,
                                             "csrf_token": token})
    assert resp.status_code == 302


def test_editing_a_rule_needs_csrf_validates_and_is_audited(csrf_client, rules, make):
    admin = make.user("admin", password=PASSWORD)
    _sign_in(csrf_client, admin)
    rule = _rule("clean_plate")
    url = f"/admin/points-rules/edit/?id={rule.id}"
    form = {"name": "光盘行动打卡", "points": "3", "period": "day", "cap": "6", "active": "y",
            "description": "午餐、晚餐各一次"}

    refused = csrf_client.post(url, data=form)  # no token
    assert refused.status_code == 200 and _rule("clean_plate").points == 2

    def post(data):
        token = csrf_token(csrf_client.get(url).get_data(as_text=True))
        return csrf_client.post(url, data={**data, "csrf_token": token})

    too_small_cap = post({**form, "cap": "2"})
    assert too_small_cap.status_code == 200 and "每周期上限不能小于每次积分" in too_small_cap.get_data(as_text=True)
    zero = post({**form, "points": "0"})
    assert zero.status_code == 200 and "每次积分须为 1 至 10000" in zero.get_data(as_text=True)
    assert _rule("clean_plate").points == 2

    saved = post(form)
    assert saved.status_code == 302
    rule = _rule("clean_plate")
    assert (rule.name, rule.points, rule.cap, rule.code, rule.description) == (
        "光盘行动打卡", 3, 6, "clean_plate", "午餐、晚餐各一次")
    entry = db.session.execute(select(AuditLog).where(AuditLog.action == "points_rule.update")).scalar_one()
    assert entry.actor_id == admin.id and entry.details["values"]["points"] == 3

    no_cap = post({**form, "cap": "", "active": ""})  # empty cap: no cap; unchecked: inactive
    assert no_cap.status_code == 302
    rule = _rule("clean_plate")
    assert rule.cap is None and rule.active is False
    assert "clean_plate" not in {r.code for r in service.active_rules()}


# --- demo -----------------------------------------------------------------------------------

def test_demo_step_shows_every_kind_once(app, rules):
    assert "blueprints.points.demo:seed_points" in DEMO_STEPS
    seed_identity()
    seed_points()
    db.session.commit()
    count = db.session.execute(select(func.count()).select_from(PointsTransaction)).scalar_one()
    seed_points()  # idempotent
    db.session.commit()
    assert db.session.execute(select(func.count()).select_from(PointsTransaction)).scalar_one() == count
    kinds = set(db.session.execute(select(PointsTransaction.kind)).scalars())
    assert kinds == {"earn", "spend", "expire", "adjust", "reverse"}
    numbers = [no for no, *_ in STAFF[:4]]
    users = db.session.execute(select(User).where(User.employee_no.in_(numbers))).scalars().all()
    assert len(users) == 4 and all(service.balance(u.id) > 0 for u in users)
    assert_ledger_sound()


# --- the migration --------------------------------------------------------------------------

@pytest.fixture
def fresh_db(server_urls):
    name = f"jiguan_points_{RUN}"
    url = devservers.ensure_database(server_urls["db_server"], name, recreate=True)
    yield url
    devservers.drop_database(server_urls["db_server"], name)


def test_migration_seeds_the_rules_and_installs_the_trigger(fresh_db):
    migrate.upgrade(fresh_db)
    engine = create_engine(normalise_db_url(fresh_db))
    try:
        with engine.connect() as conn:
            seeded = [dict(r._mapping) for r in conn.execute(text(
                "SELECT code, name, points, period, cap, description FROM points_rule ORDER BY id"))]
            assert seeded == service.DEFAULT_RULES
            assert conn.execute(text("SELECT bool_and(active) FROM points_rule")).scalar() is True
            triggers = conn.execute(text("SELECT tgname FROM pg_trigger WHERE tgrelid = 'points_transaction'::regclass "
                                         "AND NOT tgisinternal")).scalars().all()
            assert triggers == ["points_transaction_append_only"]
    finally:
        engine.dispose()
    migrate.downgrade(fresh_db, "0004_notify")
    engine = create_engine(normalise_db_url(fresh_db))
    try:
        with engine.connect() as conn:
            assert conn.execute(text("SELECT to_regclass('points_transaction'), to_regprocedure("
                                     "'points_transaction_append_only()')")).one() == (None, None)
    finally:
        engine.dispose()

"""The points API (my balance, my ledger, the rules; administrators' adjustments and a user's
ledger) and the `flask points-check` command."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update

from app.extensions import db
from app.timeutil import local, utcnow
from blueprints.points import service
from models import AuditLog
from models.points import PointsAccount, PointsRule
from tests.points.conftest import account, assert_ledger_sound, rows_of

API = "/api/v1/points"


def _history(user, admin):
    """earn (rating), earn (suggestion), spend, reverse of the rating, adjust; a colleague's earn."""
    rating = service.award(user.id, "rating", "rating:1")
    service.award(user.id, "suggestion_adopted", "suggestion:1")
    service.spend(user.id, 5, "redemption:1", note="兑换：雨伞")
    service.reverse(rating.id, reason="评价已删除")
    service.adjust(user.id, 3, actor=admin, reason="活动补录", reference="adjust:seed")
    db.session.commit()


def test_my_points_and_ledger(client, rules, make):
    user, admin, colleague = make.user(), make.user("admin"), make.user()
    _history(user, admin)
    service.award(colleague.id, "clean_plate", "meal:1")
    db.session.commit()
    headers = make.headers(user)

    me = client.get(f"{API}/me", headers=headers)
    assert me.status_code == 200
    body = me.get_json()
    assert (body["balance"], body["earned_total"], body["spent_total"]) == (18, 23, 5)
    assert body["expiring_soon"] == [] and body["expiring_points"] == 0
    assert "24 个月" in body["expiry_policy"]

    page = client.get(f"{API}/transactions?per_page=3", headers=headers).get_json()
    assert page["total"] == 5 and page["page"] == 1 and len(page["items"]) == 3
    newest = page["items"][0]
    assert (newest["kind"], newest["kind_label"], newest["amount"], newest["balance_after"]) == (
        "adjust", "调整", 3, 18)
    assert newest["title"] == "管理员调整：活动补录" and newest["created_at"].endswith("+08:00")
    assert newest["expires_at"].endswith("+08:00")
    assert "reference" not in newest and "actor_id" not in newest
    reversal = page["items"][1]
    assert (reversal["kind_label"], reversal["title"], reversal["rule_name"], reversal["amount"]) == (
        "撤销", "撤销：服务评价", "服务评价", -1)
    rest = client.get(f"{API}/transactions?per_page=3&page=2", headers=headers).get_json()["items"]
    assert [(i["kind"], i["title"], i["reversed"]) for i in rest] == [
        ("earn", "金点子被采纳", False), ("earn", "服务评价", True)]
    assert [i["kind_label"] for i in page["items"] + rest] == ["调整", "撤销", "使用", "获得", "获得"]
    spends = client.get(f"{API}/transactions?kind=spend", headers=headers).get_json()
    assert [(i["title"], i["amount"]) for i in spends["items"]] == [("兑换：雨伞", -5)]
    bad = client.get(f"{API}/transactions?kind=gift", headers=headers)
    assert bad.status_code == 422 and bad.get_json()["code"] == "VALIDATION_ERROR"

    # A colleague sees only their own; someone without points sees zeros.
    theirs = client.get(f"{API}/transactions", headers=make.headers(colleague)).get_json()
    assert [i["title"] for i in theirs["items"]] == ["光盘打卡"]
    empty = client.get(f"{API}/me", headers=make.headers(make.user())).get_json()
    assert (empty["balance"], empty["earned_total"], empty["spent_total"]) == (0, 0, 0)
    assert client.get(f"{API}/me").status_code == 401


def test_points_expiring_within_30_days(client, rules, make):
    user = make.user()
    # Earned 25 months ago: expires at the start of this month (not swept yet) — listed.
    earned = local(utcnow()).replace(day=15) - timedelta(days=25 * 30.5)
    row = service.award(user.id, "waste_free_week", "w:old", now=earned)
    service.award(user.id, "rating", "r:new")
    db.session.commit()
    this_month = local(utcnow()).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    assert row.expires_at == this_month
    body = client.get(f"{API}/me", headers=make.headers(user)).get_json()
    assert body["balance"] == 6 and body["expiring_points"] == 5
    assert body["expiring_soon"] == [{"points": 5, "expires_at": this_month.isoformat(),
                                      "last_day": (this_month - timedelta(days=1)).date().isoformat()}]


def test_rules_list_the_active_rules_in_chinese(client, rules, make):
    db.session.execute(update(PointsRule).where(PointsRule.code == "rating").values(active=False))
    db.session.commit()
    rules_ = client.get(f"{API}/rules", headers=make.headers(make.user())).get_json()
    by_code = {r["code"]: r for r in rules_}
    assert set(by_code) == {"clean_plate", "suggestion_adopted", "waste_free_week"}
    assert by_code["clean_plate"]["cap_text"] == "每次 2 分，每天最多 4 分"
    assert by_code["suggestion_adopted"]["cap_text"] == "每次 20 分，每月最多 60 分"
    assert by_code["waste_free_week"]["period_label"] == "每周（周一至周日）"
    assert by_code["clean_plate"]["name"] == "光盘打卡" and by_code["clean_plate"]["description"]


def test_admin_adjustment_is_idempotent_and_audited(client, rules, make):
    admin, user = make.user("admin"), make.user()
    headers = {**make.headers(admin), "Idempotency-Key": "adj-0001"}
    body = {"user_id": user.id, "amount": 15, "reason": "志愿服务奖励"}
    first = client.post(f"{API}/adjustments", headers=headers, json=body)
    assert first.status_code == 201, first.get_json()
    created = first.get_json()
    assert (created["kind"], created["amount"], created["user_id"], created["actor_id"], created["note"]) == (
        "adjust", 15, user.id, admin.id, "志愿服务奖励")
    assert created["reference"] == f"adjust:{admin.id}:adj-0001" and created["actor_name"] == admin.name
    again = client.post(f"{API}/adjustments", headers=headers, json=body)
    assert again.status_code == 201 and again.headers["Idempotent-Replayed"] == "true"
    assert again.get_json() == created
    assert service.balance(user.id) == 15 and len(rows_of(user.id)) == 1
    reused = client.post(f"{API}/adjustments", headers=headers, json={**body, "amount": 16})
    assert reused.status_code == 422 and reused.get_json()["code"] == "IDEMPOTENCY_KEY_REUSED"
    no_key = client.post(f"{API}/adjustments", headers=make.headers(admin), json=body)
    assert no_key.status_code == 428 and no_key.get_json()["code"] == "IDEMPOTENCY_KEY_REQUIRED"

    minus = client.post(f"{API}/adjustments", headers={**make.headers(admin), "Idempotency-Key": "adj-0002"},
                        json={"user_id": user.id, "amount": -20, "reason": "扣除重复发放"})
    assert minus.status_code == 409 and minus.get_json()["code"] == "POINTS_INSUFFICIENT"
    assert minus.get_json()["details"] == {"balance": 15, "required": 20}
    # A failed request keeps no key: the corrected retry with the same key works.
    retry = client.post(f"{API}/adjustments", headers={**make.headers(admin), "Idempotency-Key": "adj-0002"},
                        json={"user_id": user.id, "amount": -5, "reason": "扣除重复发放"})
    assert retry.status_code == 201 and retry.get_json()["balance_after"] == 10

    for bad in ({"user_id": user.id, "amount": 0, "reason": "零分"},
                {"user_id": user.id, "amount": 1.5, "reason": "小数"},
                {"user_id": user.id, "amount": 5, "reason": " "}, {"user_id": user.id, "amount": 5}):
        resp = client.post(f"{API}/adjustments", headers={**make.headers(admin), "Idempotency-Key": "adj-bad"},
                           json=bad)
        assert resp.status_code == 422 and resp.get_json()["code"] == "VALIDATION_ERROR", bad
    unknown = client.post(f"{API}/adjustments", headers={**make.headers(admin), "Idempotency-Key": "adj-0003"},
                          json={"user_id": 2_000_000_000, "amount": 5, "reason": "无此人"})
    assert unknown.status_code == 404 and unknown.get_json()["code"] == "NOT_FOUND"

    db.session.expire_all()
    entries = db.session.execute(select(AuditLog).where(AuditLog.action == "points.adjust")
                                 .order_by(AuditLog.id)).scalars().all()
    assert [(e.actor_id, e.details["amount"]) for e in entries] == [(admin.id, 15), (admin.id, -5)]
    assert_ledger_sound()


def test_only_administrators_adjust(client, rules, make):
    user = make.user()
    for caller in (make.user(), make.user("auditor"), make.user("canteen_manager",
                                                                 company=make.company("canteen_operator"))):
        resp = client.post(f"{API}/adjustments", headers={**make.headers(caller), "Idempotency-Key": "k1"},
                           json={"user_id": user.id, "amount": 100, "reason": "给自己加分"})
        assert resp.status_code == 403 and resp.get_json()["code"] == "FORBIDDEN"
    assert account(user.id) is None


def test_a_users_points_for_administrators_and_auditors(client, rules, make):
    user, admin = make.user(name="积分人"), make.user("admin")
    _history(user, admin)
    for reader in (admin, make.user("auditor")):
        resp = client.get(f"{API}/users/{user.id}?per_page=2", headers=make.headers(reader))
        assert resp.status_code == 200
        body = resp.get_json()
        assert (body["user_id"], body["user_name"], body["balance"]) == (user.id, "积分人", 18)
        assert body["transactions"]["total"] == 5 and len(body["transactions"]["items"]) == 2
        assert body["transactions"]["items"][0]["reference"] == "adjust:seed"
        assert body["transactions"]["items"][0]["actor_name"] == admin.name
    empty = client.get(f"{API}/users/{make.user().id}", headers=make.headers(admin)).get_json()
    assert empty["balance"] == 0 and empty["transactions"]["items"] == []
    for missing in (2_000_000_000, 99_999_999_999):
        resp = client.get(f"{API}/users/{missing}", headers=make.headers(admin))
        assert resp.status_code == 404 and resp.get_json()["code"] == "NOT_FOUND"
    staff = client.get(f"{API}/users/{user.id}", headers=make.headers(user))  # even about oneself
    assert staff.status_code == 403


def test_openapi_documents_the_points_routes(client):
    spec = client.get("/api/openapi.json").get_json()
    paths = spec["paths"]
    for path in ("/api/v1/points/me", "/api/v1/points/transactions", "/api/v1/points/rules",
                 "/api/v1/points/adjustments", "/api/v1/points/users/{user_id}"):
        assert path in paths, path
    post = paths["/api/v1/points/adjustments"]["post"]
    assert {"201", "401", "403", "404", "409", "422"} <= set(post["responses"])
    assert any(p["name"] == "Idempotency-Key" and p["required"] for p in post["parameters"])


# --- the command ---------------------------------------------------------------------------

def test_points_check_command(app, rules, make):
    runner = app.test_cli_runner()
    empty = runner.invoke(args=["points-check"])
    assert empty.exit_code == 0 and "points ledger OK: 0 accounts" in empty.output
    user, admin = make.user(), make.user("admin")
    _history(user, admin)
    ok = runner.invoke(args=["points-check"])
    assert ok.exit_code == 0, ok.output
    assert "1 accounts, 5 transactions, 18 points held" in ok.output
    db.session.execute(update(PointsAccount).where(PointsAccount.user_id == user.id).values(balance=40))
    db.session.commit()
    bad = runner.invoke(args=["points-check"])
    assert bad.exit_code == 1
    assert f"user {user.id}: balance_mismatch" in bad.output and "expected 18, found 40" in bad.output
    assert "1 problem(s)" in bad.output

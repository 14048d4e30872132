"""The panel's 服务评价 views (read-only ratings, follow-ups worked by administrators), the
contractor managers' 收到的评价, and the demo step."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from app.demo import DEMO_STEPS, STAFF, seed_identity
from app.extensions import db
from blueprints.ratings.demo import seed_ratings
from models import User
from models.notifications import InAppMessage
from models.ratings import Rating, RatingFollowup
from tests.ratings.conftest import followup_of, rate
from tests.support.admin import PASSWORD, login


def _ratings(client, make, orders, company):
    named = make.user(name="实名评价人", department=make.department(name="财务处"))
    hidden = make.user(name="匿名评价人", department=make.department(name="人事处"))
    shown = rate(client, make.headers(named), orders.order(named, company), stars=4, comment="挺好的服务").get_json()
    secret = rate(client, make.headers(hidden), orders.order(hidden, company), stars=1, comment="很不满意",
                  anonymous=True).get_json()
    return shown, secret


def test_admin_and_auditor_read_ratings_with_anonymity_kept(client, make, orders):
    company = make.company("canteen_operator", name="金穗餐饮")
    shown, secret = _ratings(client, make, orders, company)
    for reader in (make.user("admin", password=PASSWORD), make.user("auditor", password=PASSWORD)):
        assert login(client, reader).status_code == 302
        page = client.get("/admin/ratings/")
        html = page.get_data(as_text=True)
        assert page.status_code == 200
        assert "实名评价人（财务处）" in html and "匿名" in html and "金穗餐饮" in html and "测试服务" in html
        assert "很不满意" in html and "挺好的服务" in html and "★☆☆☆☆" in html
        assert "匿名评价人" not in html and "人事处" not in html
        details = client.get(f"/admin/ratings/details/?id={secret['id']}").get_data(as_text=True)
        assert "很不满意" in details and "匿名评价人" not in details and "人事处" not in details
        # Filters: stars equal 1 (filter 1), and a search in the comments.
        only_low = client.get("/admin/ratings/?flt0_1=1").get_data(as_text=True)
        assert "很不满意" in only_low and "挺好的服务" not in only_low
        searched = client.get("/admin/ratings/?search=挺好").get_data(as_text=True)
        assert "挺好的服务" in searched and "很不满意" not in searched
        followups = client.get("/admin/rating-followups/")
        text = followups.get_data(as_text=True)
        assert followups.status_code == 200 and "待处理" in text and "很不满意" in text
        assert "匿名评价人" not in text
        # Read-only: no create, edit or delete.
        assert client.get("/admin/ratings/new/").status_code == 403
        assert client.post(f"/admin/ratings/edit/?id={shown['id']}", data={"stars": 1}).status_code == 403
        assert client.post("/admin/ratings/delete/", data={"id": shown["id"]}).status_code == 403
        client.post("/admin/logout")
    db.session.expire_all()
    assert db.session.get(Rating, shown["id"]).stars == 4


def test_admin_works_a_followup_in_the_panel_auditor_cannot(client, make, orders):
    company = make.company("canteen_operator")
    _shown, secret = _ratings(client, make, orders, company)
    followup = followup_of(secret["id"])
    auditor = make.user("auditor", password=PASSWORD)
    assert login(client, auditor).status_code == 302
    assert "fa-check" not in client.get("/admin/rating-followups/").get_data(as_text=True)
    assert client.get(f"/admin/rating-followups/start/?id={followup.id}").status_code == 403
    assert client.post(f"/admin/rating-followups/close/?id={followup.id}",
                       data={"action_taken": "x", "reply": "y"}).status_code == 403
    client.post("/admin/logout")
    assert followup_of(secret["id"]).status == "open"

    admin = make.user("admin", password=PASSWORD)
    assert login(client, admin).status_code == 302
    assert "fa-check" in client.get("/admin/rating-followups/").get_data(as_text=True)
    start = client.post(f"/admin/rating-followups/start/?id={followup.id}", data={"note": "已电话回访"})
    assert start.status_code == 302 and followup_of(secret["id"]).status == "in_progress"
    form = client.get(f"/admin/rating-followups/close/?id={followup.id}")
    assert form.status_code == 200 and "整改措施" in form.get_data(as_text=True)
    missing = client.post(f"/admin/rating-followups/close/?id={followup.id}", data={"action_taken": "整改"})
    assert missing.status_code == 400 and followup_of(secret["id"]).status == "in_progress"
    done = client.post(f"/admin/rating-followups/close/?id={followup.id}",
                       data={"action_taken": "更换窗口人员", "reply": "已整改，谢谢您的意见"})
    assert done.status_code == 302
    closed = followup_of(secret["id"])
    assert closed.status == "closed" and closed.reply == "已整改，谢谢您的意见" and closed.handler_id == admin.id
    messages = db.session.execute(select(InAppMessage).where(InAppMessage.user_id == closed.user_id)).scalars().all()
    assert [m.template for m in messages] == ["rating_followup_reply"] and "已整改" in messages[0].body
    again = client.post(f"/admin/rating-followups/close/?id={followup.id}", data={"action_taken": "a", "reply": "b"})
    assert again.status_code == 409 and "已办结" in again.get_data(as_text=True)
    assert client.get("/admin/rating-followups/close/?id=999999").status_code == 404


def test_contractor_managers_see_only_their_received_ratings(client, make, orders):
    company, other = make.company("canteen_operator", name="金穗餐饮"), make.company("canteen_operator")
    shown, secret = _ratings(client, make, orders, company)
    stranger = make.user(name="别家评价人")
    elsewhere = rate(client, make.headers(stranger), orders.order(stranger, other), stars=3,
                     comment="别家的评价").get_json()
    manager = make.user("canteen_manager", company=company, password=PASSWORD)
    assert login(client, manager).status_code == 302
    assert client.get("/admin/ratings/").status_code == 403
    assert client.get("/admin/rating-followups/").status_code == 403
    assert client.get(f"/admin/rating-followups/close/?id={followup_of(secret['id']).id}").status_code == 403
    page = client.get("/admin/received-ratings/")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "挺好的服务" in html and "很不满意" in html and "别家的评价" not in html
    for name in ("实名评价人", "匿名评价人", "财务处", "人事处", "匿名"):
        assert name not in html
    assert client.get(f"/admin/received-ratings/details/?id={elsewhere['id']}").status_code in (302, 404)
    details = client.get(f"/admin/received-ratings/details/?id={shown['id']}").get_data(as_text=True)
    assert "挺好的服务" in details and "实名评价人" not in details
    client.post("/admin/logout")
    admin = make.user("admin", password=PASSWORD)
    assert login(client, admin).status_code == 302
    assert client.get("/admin/received-ratings/").status_code == 403  # administrators use 评价记录


def test_demo_step_rates_finished_orders_of_demo_staff_once(app, make, orders):
    assert "blueprints.ratings.demo:seed_ratings" in DEMO_STEPS
    seed_identity()
    db.session.commit()
    seed_ratings()  # no finished orders yet: nothing
    db.session.commit()
    assert db.session.query(Rating).count() == 0
    staff = db.session.execute(select(User).where(User.employee_no == STAFF[0][0])).scalar_one()
    company = make.company("security")
    finished = [orders.order(staff, company, finished_ago=timedelta(days=30)) for _ in range(4)]
    orders.order(staff, company, state="booked")  # not finished: never rated
    outsider = make.user()
    orders.order(outsider, company)  # not demo staff: never rated
    seed_ratings()
    db.session.commit()
    seed_ratings()  # idempotent
    db.session.commit()
    db.session.expire_all()
    ratings = db.session.execute(select(Rating).order_by(Rating.id)).scalars().all()
    assert sorted(r.order_id for r in ratings) == sorted(o.id for o in finished)
    assert [r.stars for r in ratings] == [5, 4, 2, 5] and all(r.user_id == staff.id for r in ratings)
    [followup] = db.session.execute(select(RatingFollowup)).scalars().all()
    assert followup.status == "closed" and followup.reply  # the whole path is visible in the demo
    messages = db.session.execute(select(InAppMessage).where(InAppMessage.template == "rating_followup_reply"))
    assert len(messages.all()) == 1

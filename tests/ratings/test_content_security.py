"""Comments others read pass WeChat content security (msg_sec_check v2, scene 2 "comment")
before they are stored: risky → 422 CONTENT_RISKY and nothing stored; "review" → stored and
flagged for administrators. WeChat is mocked with `responses` on a WeChat-configured app."""

from __future__ import annotations

import json

import pytest
import responses

from app.extensions import db
from models import WechatIdentity
from models.ratings import Rating, RatingFollowup
from tests.ratings.conftest import API, fresh_rating, rate
from tests.support.wechat import APPID, FakeWeChat, assert_error, wechat_app_fixtures

wx_app, wx, api, make = wechat_app_fixtures("module")

CHECK = "wxa/msg_sec_check"


@pytest.fixture
def fake():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        fake = FakeWeChat(rsps)
        fake.token()
        yield fake


def verdict(fake: FakeWeChat, suggest: str, label: int = 100) -> None:
    fake.rsps.post(fake.url(CHECK), json={"errcode": 0, "errmsg": "ok", "trace_id": "t-1",
                                          "result": {"suggest": suggest, "label": label}})


@pytest.fixture
def wx_rater(make):
    user = make.user(name="微信评价人")
    db.session.add(WechatIdentity(appid=APPID, openid="o-rater", user_id=user.id))
    db.session.commit()
    return user


def test_risky_comment_is_refused_and_nothing_is_stored(api, make, orders, company, wx_rater, fake):
    fake.rsps.post(fake.url(CHECK), json={"errcode": 0, "result": {"suggest": "risky", "label": 20001}})
    order = orders.order(wx_rater, company)
    resp = rate(api, make.headers(wx_rater), order, stars=1, comment="违规内容")
    assert_error(resp, 422, "CONTENT_RISKY")
    [call] = fake.calls(CHECK)
    sent = json.loads(call.request.body)
    assert sent["content"] == "违规内容" and sent["version"] == 2 and sent["scene"] == 2
    assert sent["openid"] == "o-rater"
    db.session.expire_all()
    assert db.session.query(Rating).count() == 0 and db.session.query(RatingFollowup).count() == 0


def test_review_is_stored_and_flagged(api, make, orders, company, wx_rater, fake):
    verdict(fake, "review", 21000)
    resp = rate(api, make.headers(wx_rater), orders.order(wx_rater, company), stars=3, comment="有点意见")
    assert resp.status_code == 201, resp.get_json()
    rating_id = resp.get_json()["id"]
    assert fresh_rating(rating_id).content_check == "review"
    admin = make.headers(make.user("admin"))
    flagged = api.get(f"{API}/ratings?flagged=true", headers=admin).get_json()
    assert [i["id"] for i in flagged["items"]] == [rating_id] and flagged["items"][0]["flagged"] is True
    assert api.get(f"{API}/ratings?flagged=false", headers=admin).get_json()["total"] == 0


def test_passing_comment_and_no_comment(api, make, orders, company, wx_rater, fake):
    verdict(fake, "pass")
    headers = make.headers(wx_rater)
    passed = rate(api, headers, orders.order(wx_rater, company), stars=5, comment="很好").get_json()
    assert fresh_rating(passed["id"]).content_check == "pass"
    silent = rate(api, headers, orders.order(wx_rater, company), stars=5).get_json()
    assert fresh_rating(silent["id"]).content_check is None
    assert len(fake.calls(CHECK)) == 1  # no comment, nothing to check


def test_an_edited_comment_is_checked_again(api, make, orders, company, wx_rater, fake):
    verdict(fake, "pass")
    headers = make.headers(wx_rater)
    rating_id = rate(api, headers, orders.order(wx_rater, company), stars=4, comment="不错").get_json()["id"]
    # Only the stars change: the stored comment is not sent again.
    assert api.patch(f"{API}/ratings/{rating_id}", json={"stars": 5}, headers=headers).status_code == 200
    assert len(fake.calls(CHECK)) == 1
    fake.rsps.replace(responses.POST, fake.url(CHECK),
                      json={"errcode": 0, "result": {"suggest": "risky", "label": 20001}})
    assert_error(api.patch(f"{API}/ratings/{rating_id}", json={"stars": 1, "comment": "违规内容"}, headers=headers),
                 422, "CONTENT_RISKY")
    rating = fresh_rating(rating_id)
    assert (rating.stars, rating.comment, rating.content_check, rating.edit_count) == (5, "不错", "pass", 1)
    assert db.session.query(RatingFollowup).count() == 0


def test_without_a_wechat_identity_the_comment_cannot_be_checked(api, make, orders, company, fake):
    verdict(fake, "pass")
    user = make.user()
    assert_error(rate(api, make.headers(user), orders.order(user, company), stars=2, comment="意见"), 503,
                 "CONTENT_CHECK_UNAVAILABLE")
    db.session.expire_all()
    assert db.session.query(Rating).count() == 0

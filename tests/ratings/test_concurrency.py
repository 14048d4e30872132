"""Once per order, however many processes submit at the same moment: the database's UNIQUE
(service_type, order_id) with INSERT ... ON CONFLICT DO NOTHING lets exactly one in."""

from __future__ import annotations

from sqlalchemy import func, select

from app.extensions import db
from models.ratings import Rating, RatingFollowup
from tests.ratings._workers import submit
from tests.support.procs import run_at_once


def test_simultaneous_submits_from_processes_make_one_rating(make, orders, company, rater):
    order = orders.order(rater, company)
    token = make.token(rater)
    bodies = [{"service_type": "sample", "order_id": order.id, "stars": stars, "comment": f"第{n}次提交"}
              for n, stars in enumerate((1, 2, 1, 2), start=1)]
    outcomes = run_at_once(submit, [(token, body) for body in bodies])
    statuses = sorted(status for status, _ in outcomes)
    assert statuses == [201, 409, 409, 409], outcomes
    [created] = [body for status, body in outcomes if status == 201]
    for status, body in outcomes:
        if status == 409:
            assert body["code"] == "RATING_EXISTS" and body["details"]["rating_id"] == created["id"]
    db.session.expire_all()
    assert db.session.execute(select(func.count()).select_from(Rating)).scalar_one() == 1
    # The winner's low rating opened exactly one follow-up.
    followups = db.session.execute(select(RatingFollowup)).scalars().all()
    assert [f.rating_id for f in followups] == [created["id"]]


def test_a_submit_that_passed_the_early_check_still_gets_rating_exists(client, make, orders, company, rater,
                                                                       monkeypatch):
    """What the loser of a race sees when both passed the early "already rated?" read: the
    insert itself reports the conflict (409, never a 500, no second follow-up)."""
    from blueprints.ratings import service

    order = orders.order(rater, company)
    headers = make.headers(rater)
    body = {"service_type": "sample", "order_id": order.id, "stars": 1, "comment": "差"}
    first = client.post("/api/v1/ratings", json=body, headers=headers).get_json()
    bypassed: list = []

    def no_early_check(*args):
        bypassed.append(args)
        return None

    monkeypatch.setattr(service, "_existing_rating_id", no_early_check)
    resp = client.post("/api/v1/ratings", json=body, headers=headers)
    assert resp.status_code == 409 and resp.get_json()["code"] == "RATING_EXISTS", resp.get_json()
    assert bypassed  # the early check was indeed bypassed
    db.session.expire_all()
    assert db.session.execute(select(func.count()).select_from(Rating)).scalar_one() == 1
    assert [f.rating_id for f in db.session.execute(select(RatingFollowup)).scalars()] == [first["id"]]
